"""The session's engines: each started on first use, shared by every fixture that asks, stopped once at the end.

Other conftests import the engine fixtures (``from tests.engines.conftest import rootless_podman``); pytest
then holds one fixture definition per conftest, each with its own session cache. The engines live here
instead, so every definition gets the same engine. ``stop_all`` runs from the session-scoped autouse
fixture in tests/conftest.py (after every test's teardown) and from ``atexit`` (an interrupted session).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.env import engine_api, image
from tests.env.services import Engine, EngineService, EngineStartError, kill_processes_using, unmount_under

REPO = Path(__file__).resolve().parents[2]
IMAGE_CACHE = REPO / ".test-env" / "images"


class EngineSetupError(Exception):
    pass


class EngineRegistry:
    def __init__(self) -> None:
        self._base: Path | None = None
        self._rootfs: bytes | None = None
        self._services: dict[str, EngineService] = {}
        self._errors: dict[str, str] = {}
        self.timings: list[tuple[str, float, float]] = []  # (engine, startup seconds, image import seconds)
        atexit.register(self.stop_all)

    def base_dir(self) -> Path:
        """The session dir, traversable by every user (0711): engines and the test user's dirs live in it."""
        if self._base is None:
            # Short and fixed under /tmp: Podman limits the runroot to 50 characters, sockets to 107.
            self._base = Path(tempfile.mkdtemp(prefix="pipex-test-", dir="/tmp"))
            self._base.chmod(0o711)
        return self._base

    def rootfs(self) -> bytes:
        if self._rootfs is None:
            self._rootfs = image.rootfs_tarball(IMAGE_CACHE).read_bytes()
        return self._rootfs

    def engine(self, name: str, make: Callable[[Path], EngineService]) -> Engine:
        """The running engine ``name``, started with ``make(base_dir)`` the first time; a failure is remembered."""
        if name in self._errors:
            raise EngineSetupError(self._errors[name])
        service = self._services.get(name)
        if service is None:
            service = make(self.base_dir())
            self._services[name] = service
            try:
                service.start()
                service.load_images(self.rootfs())
            except (EngineStartError, OSError, engine_api.EngineAPIError) as exc:
                self._errors[name] = f"{name} could not be set up: {exc}"
                service.stop()
                raise EngineSetupError(self._errors[name]) from exc
            self.timings.append((name, service.startup_seconds, service.images_seconds))
        return service.engine

    def stop_all(self) -> None:
        """Stop every engine (all of them, even when one fails to stop), then remove the session dir."""
        services, self._services = list(self._services.values()), {}
        failures: list[Exception] = []
        for service in services:
            try:
                service.stop()
            except Exception as exc:  # the others must still be stopped
                failures.append(exc)
        if self._base is not None:
            kill_processes_using(self._base)  # what tests started as the test user, e.g. a pause process
            unmount_under(self._base)
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
        if failures:
            raise failures[0]


REGISTRY = EngineRegistry()
