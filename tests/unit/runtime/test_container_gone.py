"""An engine's "no such container" is ``ContainerGone``, in Podman's and Docker's words, whatever the status; a
stop or kill of a removed container then ends at once (no kill retried against nothing, no inspect).

Against a unix-socket server answering as the engines do (the bodies are theirs, verbatim)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipex.errors import ContainerFailed, ContainerGone
from pipex.executors.halt import halt
from pipex.runtime.http_runtime import HttpRuntime
from pipex.runtime.transport import Transport
from pipex.runtime.unix_http import UnixClient

from .unixserver import Request, UnixServer

CID = "4f2a9c0d1e3b"

# (engine, status, body) as the engines send them for a container they do not know (any more).
PODMAN_404 = {
    "cause": "no such container",
    "message": f'no container with name or ID "{CID}" found: no such container',
    "response": 404,
}
PODMAN_RACE = {  # a removal that raced the call: Podman answers 500
    "cause": "no such container",
    "message": f"container {CID} does not exist in database: no such container",
    "response": 500,
}
# Podman's ErrCtrRemoved (a call that held the container while it was removed); its wrapping varies by call.
PODMAN_REMOVED = {"cause": "container has already been removed", "message": "container has already been removed"}
DOCKER_404 = {"message": f"No such container: {CID}"}
DOCKER_KILL = {"message": f"Cannot kill container: {CID}: No such container: {CID}"}  # dockerd's kill says more

ANSWERS = {
    "podman": ("podman", 404, PODMAN_404),
    "podman-race": ("podman", 500, PODMAN_RACE),
    "podman-removed": ("podman", 500, PODMAN_REMOVED),
    "docker": ("docker", 404, DOCKER_404),
    "docker-kill": ("docker", 404, DOCKER_KILL),
}


class Engine:
    """Answers every request with one error body; counts what it was asked."""

    def __init__(self, path: Path, status: int, body: dict[str, object]) -> None:
        self.status, self.body = status, body
        self.server = UnixServer(path, self.answer)

    def answer(self, req: Request) -> None:
        b"".join(req.body_chunks())
        req.send_json(self.status, self.body)

    @property
    def asked(self) -> list[str]:
        return [line.split("?", 1)[0] for line in self.server.requests]


Answering = Callable[[str], tuple[Engine, HttpRuntime]]


@pytest.fixture
def answering(short_tmp: Path) -> Iterator[Answering]:
    """``answering(name)``: a runtime whose engine gives the answer ``ANSWERS[name]`` to every call."""
    made: list[tuple[Engine, HttpRuntime]] = []

    def build(name: str) -> tuple[Engine, HttpRuntime]:
        kind, status, body = ANSWERS[name]
        engine = Engine(short_tmp / f"{name}.sock", status, body)
        client = UnixClient(str(engine.server.path))
        transport = Transport(client, "/v1/", engine=kind, endpoint=f"unix://{engine.server.path}", timeout=5)
        made.append((engine, HttpRuntime(transport.endpoint, transport)))
        return made[-1]

    yield build
    for engine, runtime in made:
        runtime.close()
        engine.server.close()


@pytest.mark.parametrize("name", list(ANSWERS))
def test_no_such_container_is_container_gone_with_the_engines_words(answering: Answering, name: str) -> None:
    engine, runtime = answering(name)
    with pytest.raises(ContainerGone) as caught:
        runtime.stop(CID, grace=1)
    said = str(ANSWERS[name][2]["message"])
    assert caught.value.message == f"stop container: no such container {CID!r}: {said}"
    assert caught.value.exit_code == ContainerFailed.exit_code == 3
    assert engine.asked == [f"POST /v1/containers/{CID}/stop"]


@pytest.mark.parametrize("name", ["podman", "docker-kill"])
def test_a_kill_of_a_removed_container_asks_nothing_more(answering: Answering, name: str) -> None:
    engine, runtime = answering(name)
    with pytest.raises(ContainerGone) as caught:
        runtime.kill(CID)
    said = str(ANSWERS[name][2]["message"])
    assert caught.value.message == f"kill container: no such container {CID!r}: {said}"
    assert engine.asked == [f"POST /v1/containers/{CID}/kill"]  # no inspect after it


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "kill"])
@pytest.mark.parametrize("name", ["podman", "docker"])
def test_halt_of_a_removed_container_has_ended_at_once(answering: Answering, name: str, kill: bool) -> None:
    engine, runtime = answering(name)
    started = time.monotonic()
    assert halt(runtime, CID, 10.0, kill=kill) is True
    assert time.monotonic() - started < 1.0  # not the kill retries' 3.5 s
    assert engine.asked == [f"POST /v1/containers/{CID}/{'kill' if kill else 'stop'}"]


def test_a_404_about_something_else_is_not_container_gone(short_tmp: Path) -> None:
    body = {
        "cause": "network not found",
        "message": "unable to find network with name or ID pipex-net: network not found",
    }
    engine = Engine(short_tmp / "net.sock", 404, body)
    transport = Transport(UnixClient(str(engine.server.path)), "/v1/", engine="podman", endpoint="unix://x", timeout=5)
    try:
        with pytest.raises(ContainerFailed) as caught:
            transport.request("POST", "networks/pipex-net/disconnect", "disconnect network", container=CID)
    finally:
        transport.close()
        engine.server.close()
    assert type(caught.value) is ContainerFailed
    assert caught.value.message == (
        "disconnect network failed: unable to find network with name or ID pipex-net: network not found"
    )
