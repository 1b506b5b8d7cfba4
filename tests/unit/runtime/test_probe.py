"""The raw probe: identify Podman (libpod), Podman's Docker API and Docker; say why anything else fails."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from pipex.runtime.probe import Identity, ProbeFailed, probe, socket_path

from .fakeengine import FakeEngine, SilentSocket, _Handler

Start = Callable[..., FakeEngine]


def test_podman_is_identified_by_its_component_and_libpod_ping(short_tmp: Path, engine: Start) -> None:
    fake = engine(short_tmp / "p.sock")
    assert probe(fake.url) == Identity(fake.url, "libpod", "podman", "4.3.1", "4.3.1")


def test_podman_without_libpod_speaks_the_docker_api(short_tmp: Path, engine: Start) -> None:
    fake = engine(short_tmp / "c.sock", "podman-compat")
    assert probe(fake.url) == Identity(fake.url, "docker", "podman", "4.3.1", "1.41")


def test_docker(short_tmp: Path, engine: Start) -> None:
    fake = engine(short_tmp / "d.sock", "docker")
    assert probe(fake.url) == Identity(fake.url, "docker", "docker", "24.0.7", "1.43")


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("broken-ping", "/_ping answered HTTP 500: engine is unhappy"),
        ("not-json", "/version did not answer JSON: not a container engine API"),
        ("other", "/version answered HTTP 404"),
    ],
)
def test_what_is_not_an_engine(short_tmp: Path, engine: Start, kind: str, reason: str) -> None:
    fake = engine(short_tmp / "x.sock", kind)
    with pytest.raises(ProbeFailed) as caught:
        probe(fake.url)
    assert caught.value.reason == reason


def test_missing_socket(short_tmp: Path) -> None:
    with pytest.raises(ProbeFailed, match=r"^no socket there$"):
        probe(f"unix://{short_tmp}/none.sock")


def test_silent_socket_times_out(short_tmp: Path) -> None:
    silent = SilentSocket(short_tmp / "s.sock")
    try:
        with pytest.raises(ProbeFailed, match=r"^no answer within 0.2s$"):
            probe(silent.url, timeout=0.2)
    finally:
        silent.close()


def test_ssh_is_not_probed_here() -> None:
    with pytest.raises(ProbeFailed, match=r"^cannot check a ssh URL here$"):
        probe("ssh://core@host/run/podman/podman.sock")


@pytest.fixture
def tcp_engine() -> Iterator[str]:
    class Server(ThreadingHTTPServer):
        kind = "docker"

    server = Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_tcp_endpoint(tcp_engine: str) -> None:
    assert probe(tcp_engine).engine == "docker"


def test_socket_path() -> None:
    assert socket_path("unix:///run/podman/podman.sock") == "/run/podman/podman.sock"
    assert socket_path("tcp://host:2375") is None
