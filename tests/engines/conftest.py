"""Real engines for the tests: each fixture gives a private engine, started once per session.

Fixtures (session-scoped unless said otherwise; other conftests may import them by name):

- ``rootless_podman``, ``rootful_podman``, ``docker_engine`` -> ``Engine`` (tests/env/services.py): a private
  ``podman system service`` (as the user ``pipex-test`` when the tests run as root, else as the current user;
  its socket is ``$XDG_RUNTIME_DIR/podman/podman.sock`` with ``Engine.runtime_dir``), a private rootful
  ``podman system service``, a private ``dockerd``. Each has its own socket, storage and dirs. At the end of
  the session (tests/conftest.py) every container is removed, the services are stopped and the dirs deleted,
  even on failure; an engine that failed to start fails every test that asks for it, with its log's tail.
- ``any_engine``: parametrised over the three (ids and markers = the names above), for contract tests.
- ``test_user`` -> ``TestUser``; ``user_python`` -> ``UserPython`` (a Python the test user can run, and a
  readable copy of the ``pipex`` package for PYTHONPATH); ``run_pipex_as_test_user(args, env=…, cwd=…)``
  runs ``python -m pipex`` as that user; ``user_tmp_path`` (per test): an empty dir the test user owns.
  Plain commands as the test user: ``tests.env.users.run_as_test_user(argv, env=…)``.

An engine is skipped only when it cannot exist here (no ``podman``/``dockerd`` binary; not root for the
rootful ones); with ``CI=true`` that is a failure instead. Tests that use these fixtures get the ``engine``
marker and the engine's own (tests/conftest.py), so ``pytest -m "not engine"`` runs without engines.

Images in every engine (no registry: all are one busybox-static tarball imported FROM scratch, built once
and cached in ``.test-env/images``; see tests/env/image.py):

- ``alpine:3.20`` (= ``docker.io/library/alpine:3.20``, ``services.ALPINE``): USER root, CMD ``/bin/sh``,
  busybox applets, users root (0), app (1000), nobody (65534); ``/output`` and ``/tmp`` world-writable;
- ``debian:bookworm-slim`` (``services.DEBIAN``): the same image under a second name;
- ``pipex-test/nonroot:latest`` (= ``docker.io/pipex-test/nonroot:latest``, ``services.NONROOT``): the same
  with USER 1000 (``services.NONROOT_UID``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.env import services, users
from tests.env.registry import REGISTRY, REPO, EngineSetupError
from tests.env.services import Engine, EngineService

ENGINE_NAMES = ("rootless_podman", "rootful_podman", "docker_engine")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: every engine must run)", pytrace=False)
    pytest.skip(reason)


def _engine(name: str, make: Callable[[Path], EngineService]) -> Engine:
    try:
        return REGISTRY.engine(name, make)
    except EngineSetupError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def session_dir() -> Path:
    """The session's dir, traversable by every user (0711); removed at the end of the session."""
    return REGISTRY.base_dir()


@pytest.fixture(scope="session")
def test_rootfs() -> bytes:
    """The test images' rootfs tarball (tests/env/image.py)."""
    return REGISTRY.rootfs()


@pytest.fixture(scope="session")
def test_user() -> users.TestUser:
    try:
        return users.get_test_user()
    except users.TestUserError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def rootless_podman(test_user: users.TestUser) -> Engine:
    if shutil.which("podman") is None:
        _unavailable("rootless Podman: no `podman` on PATH")
    return _engine("rootless_podman", lambda base: services.rootless_podman(base, test_user))


@pytest.fixture(scope="session")
def rootful_podman() -> Engine:
    if shutil.which("podman") is None:
        _unavailable("rootful Podman: no `podman` on PATH")
    if not users.is_root():
        _unavailable("rootful Podman needs root (run the tests with sudo)")
    return _engine("rootful_podman", services.rootful_podman)


@pytest.fixture(scope="session")
def docker_engine() -> Engine:
    if shutil.which("dockerd") is None:
        _unavailable("Docker: no `dockerd` on PATH")
    if not users.is_root():
        _unavailable("Docker: starting a private dockerd needs root (run the tests with sudo)")
    return _engine("docker_engine", services.docker_engine)


@pytest.fixture(
    scope="session",
    params=[pytest.param(name, id=name, marks=getattr(pytest.mark, name)) for name in ENGINE_NAMES],
)
def any_engine(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue(request.param)
    return engine


@dataclass(frozen=True)
class UserPython:
    """How to run pipex as the test user: ``python`` with ``env()`` (PYTHONPATH = a copy of ``pipex``)."""

    python: Path
    pythonpath: Path

    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": str(self.pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="session")
def user_python(session_dir: Path, test_user: users.TestUser) -> UserPython:
    try:
        python = users.user_python()
    except users.TestUserError as exc:
        pytest.fail(str(exc), pytrace=False)
    # A copy, because the clone may not be readable by the test user (e.g. under /root).
    src = session_dir / "src"
    shutil.copytree(REPO / "pipex", src / "pipex", ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    subprocess.run(["chmod", "-R", "a+rX", str(src)], check=True)
    return UserPython(python=python, pythonpath=src)


RunPipex = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_pipex_as_test_user(user_python: UserPython) -> RunPipex:
    """``run(args, *, env=None, cwd=None, input=None, timeout=300)``: ``python -m pipex *args`` as the test user.

    ``env`` is added to a clean environment (users.base_env: PATH, HOME, NO_COLOR=1, COLUMNS=120…); pass
    ``engine.env()`` to point pipex at an engine. The output is captured as text.
    """

    def run(
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        input: str | None = None,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(user_python.python), "-m", "pipex", *args]
        return users.run_as_test_user(
            argv, env={**user_python.env(), **(env or {})}, cwd=cwd, input=input, timeout=timeout
        )

    return run


_user_dirs = itertools.count()


@pytest.fixture
def user_tmp_path(session_dir: Path, test_user: users.TestUser) -> Path:
    """A fresh empty dir owned by the test user (pytest's ``tmp_path`` is not reachable by it)."""
    return users.make_user_dir(session_dir / "user" / f"t{next(_user_dirs)}", test_user)
