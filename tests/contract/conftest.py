"""One contract suite for every runtime: ``target`` is parametrised over rootless Podman (libpod), rootful Podman
(libpod), dockerd (Docker API), rootful Podman's Docker-compatible API, and ``FakeRuntime``.

The engines are H4's session fixtures from tests/engines/conftest.py (imported, not duplicated). Tests describe
each container's expected behaviour with ``target.expect(cmd, Behaviour(...))``: the fake plays it, real engines
run the command itself, so the same assertion holds for both. Tests that cannot apply to the fake (kernel
facts: interfaces, read-only mounts, memory of a real stream) take ``real_target`` instead.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from pipex.runtime.base import Runtime
from pipex.runtime.fake import Behaviour, FakeRuntime
from tests.engines.conftest import (  # noqa: F401 - fixtures re-exported for this directory
    docker_engine,
    rootful_podman,
    rootless_podman,
    session_dir,
    test_rootfs,
    test_user,
    user_tmp_path,
)
from tests.env.services import ALPINE, NONROOT, NONROOT_UID, Engine

TARGETS = ("rootless_podman", "rootful_podman", "docker_engine", "podman_compat", "fake")
DOCKER_NETWORK = "pipex-contract"


@dataclass
class Target:
    name: str
    runtime: Runtime
    engine: Engine | None  # None for the fake
    labels: dict[str, str] = field(default_factory=lambda: {"pipex-contract": "1"})
    alpine: str = ALPINE
    nonroot: str = NONROOT
    nonroot_uid: int = NONROOT_UID

    @property
    def fake(self) -> FakeRuntime | None:
        return self.runtime if isinstance(self.runtime, FakeRuntime) else None

    @property
    def rootless(self) -> bool:
        return self.engine is not None and self.engine.rootless

    def expect(self, cmd: Sequence[str], behaviour: Behaviour) -> None:
        """What ``cmd`` does when run as a container; only the fake needs telling."""
        if self.fake is not None:
            self.fake.script(cmd=cmd, behaviour=behaviour)

    def expect_exec(self, cmd: Sequence[str], behaviour: Behaviour) -> None:
        if self.fake is not None:
            self.fake.script_exec(cmd, behaviour)


def _docker_network(engine: Engine) -> None:
    # The private dockerd runs with --bridge=none: give network=True containers a named network to join.
    subprocess.run(
        ["docker", "-H", engine.url, "network", "create", DOCKER_NETWORK],
        capture_output=True,
        check=False,
        timeout=60,
    )


def _make(name: str, request: pytest.FixtureRequest) -> tuple[Runtime, Engine | None]:
    from pipex.runtime.docker import DockerRuntime
    from pipex.runtime.podman import PodmanRuntime

    if name == "fake":
        fake = FakeRuntime(images=[ALPINE, NONROOT])
        fake.add_image(NONROOT, user=str(NONROOT_UID))
        return fake, None
    if name == "podman_compat":
        engine: Engine = request.getfixturevalue("rootful_podman")
        return DockerRuntime(engine.url), engine
    engine = request.getfixturevalue(name)
    if name == "docker_engine":
        _docker_network(engine)
        return DockerRuntime(engine.url, network=DOCKER_NETWORK), engine
    return PodmanRuntime(engine.url), engine


def _params(names: Sequence[str]) -> list[object]:
    marks = {
        "rootless_podman": [pytest.mark.engine, pytest.mark.rootless_podman],
        "rootful_podman": [pytest.mark.engine, pytest.mark.rootful_podman],
        "podman_compat": [pytest.mark.engine, pytest.mark.rootful_podman],
        "docker_engine": [pytest.mark.engine, pytest.mark.docker_engine],
        "fake": [],
    }
    return [pytest.param(n, id=n, marks=marks[n]) for n in names]


def _target(request: pytest.FixtureRequest) -> Iterator[Target]:
    runtime, engine = _make(request.param, request)
    tgt = Target(request.param, runtime, engine)
    yield tgt
    for ref in runtime.list(tgt.labels):
        runtime.remove(ref.id)
    runtime.close()


@pytest.fixture(params=_params(TARGETS))
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    yield from _target(request)


@pytest.fixture(params=_params([n for n in TARGETS if n != "fake"]))
def real_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """Only the real engines: for kernel/engine facts the in-memory fake cannot have."""
    yield from _target(request)
