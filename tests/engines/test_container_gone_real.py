"""A real engine's answer for a container already removed is ``ContainerGone``, in its own words, and a stop, kill
or removal of it ends at once: halt returns True without the kill retries (3.5 s), ``remove_each`` counts it.

Rootless Podman (libpod API) first; dockerd for the Docker API's wording."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pipex.errors import ContainerGone
from pipex.executors.halt import Removal, halt, remove_each
from pipex.runtime.base import ContainerSpec, Runtime
from tests.env.services import ALPINE, Engine

LABELS = {"pipex-test": "container-gone"}

# What each engine says for a container it does not know (after pipex's "<call>: no such container '<id>': ").
SAID = {
    ("rootless_podman", "stop"): 'no container with name or ID "{cid}" found: no such container',
    ("rootless_podman", "kill"): 'no container with name or ID "{cid}" found: no such container',
    ("docker_engine", "stop"): "No such container: {cid}",
    ("docker_engine", "kill"): "Cannot kill container: {cid}: No such container: {cid}",
}


def _runtime(name: str, engine: Engine) -> Runtime:
    from pipex.runtime.docker import DockerRuntime  # the engine's backend, as the contract suite builds it
    from pipex.runtime.podman import PodmanRuntime  # idem

    return DockerRuntime(engine.url) if name == "docker_engine" else PodmanRuntime(engine.url)


@pytest.fixture(
    params=[  # marked by hand: the engine is asked for by name, which the automatic marking cannot see
        pytest.param("rootless_podman", marks=[pytest.mark.engine, pytest.mark.rootless_podman]),
        pytest.param("docker_engine", marks=[pytest.mark.engine, pytest.mark.docker_engine]),
    ]
)
def gone(request: pytest.FixtureRequest) -> Iterator[tuple[str, Runtime, str]]:
    """(engine name, its runtime, the id of a container that ran and was then removed)."""
    engine: Engine = request.getfixturevalue(request.param)
    runtime = _runtime(request.param, engine)
    try:
        cid = runtime.create(ContainerSpec(image=ALPINE, cmd=("sleep", "60"), labels=LABELS))
        runtime.start(cid)
        runtime.remove(cid)  # forced: the running container is killed and removed
        yield request.param, runtime, cid
    finally:
        for ref in runtime.list(LABELS):
            runtime.remove(ref.id)
        runtime.close()


def test_a_stop_or_kill_of_a_removed_container_is_container_gone(gone: tuple[str, Runtime, str]) -> None:
    name, runtime, cid = gone
    with pytest.raises(ContainerGone) as stopped:
        runtime.stop(cid, grace=1)
    said = SAID[name, "stop"].format(cid=cid)
    assert stopped.value.message == f"stop container: no such container {cid!r}: {said}"
    with pytest.raises(ContainerGone) as killed:
        runtime.kill(cid)
    said = SAID[name, "kill"].format(cid=cid)
    assert killed.value.message == f"kill container: no such container {cid!r}: {said}"


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "kill"])
def test_halt_of_a_removed_container_has_ended_at_once(gone: tuple[str, Runtime, str], kill: bool) -> None:
    _, runtime, cid = gone
    began = time.monotonic()
    assert halt(runtime, cid, 10.0, kill=kill) is True
    assert time.monotonic() - began < 1.0  # no kill retries (0 + 0.5 + 1 + 2 s)


def test_removing_a_removed_container_counts_as_removed(gone: tuple[str, Runtime, str]) -> None:
    _, runtime, cid = gone
    assert remove_each(runtime, [cid]) == Removal(removed=(cid,))
