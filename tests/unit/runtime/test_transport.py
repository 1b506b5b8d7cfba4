"""The HTTP transport against a real unix-socket server: framing, keep-alive, upgrades, timeouts, uploads, errors.

Most tests run twice: on the standard-library client (``unix://``) and on the ``requests`` one that ``tcp://`` and
``ssh://`` endpoints use (here podman-py's session over the same socket), so both give the same ``Response``.
"""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipex.errors import EngineError, ImageNotFound, RuntimeUnavailable
from pipex.runtime.base import LogChunk, Stream
from pipex.runtime.mux import iter_frames
from pipex.runtime.response import STREAM_ERRORS
from pipex.runtime.transport import Client, EngineTimeout, Transport
from pipex.runtime.unix_http import UnixClient

from .unixserver import Request, UnixServer

Make = Callable[[Path], Transport]


def _stdlib(path: Path) -> Client:
    return UnixClient(str(path))


def _requests(path: Path) -> Client:
    from podman import PodmanClient

    from pipex.runtime.requests_client import RequestsClient

    api = PodmanClient(base_url=f"unix://{path}").api
    return RequestsClient(api, f"http://{api.base_url.netloc}")


@pytest.fixture(params=[_stdlib, _requests], ids=["stdlib", "requests"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    made: list[Transport] = []

    def build(path: Path) -> Transport:
        made.append(Transport(request.param(path), "/v1/", engine="podman", endpoint=f"unix://{path}", timeout=5))
        return made[-1]

    yield build
    for transport in made:
        transport.close()


@pytest.fixture
def server(short_tmp: Path) -> Iterator[UnixServer]:
    started = UnixServer(short_tmp / "api.sock")
    yield started
    started.close()


def test_content_length_answers_reuse_one_connection(server: UnixServer) -> None:
    t = Transport(UnixClient(str(server.path)), "/v1/", engine="podman", endpoint="unix://x", timeout=5)
    first = t.json("GET", "plain", "ping", params={"a": "1", "filters": '{"label": ["x=y"]}'})
    second = t.json("GET", "plain", "ping", params=[("c", "x"), ("c", "y")])
    t.close()
    assert first == {"conn": 1, "query": "a=1&filters=%7B%22label%22%3A+%5B%22x%3Dy%22%5D%7D"}
    assert second == {"conn": 1, "query": "c=x&c=y"}
    assert server.connections == 1
    assert server.requests == [
        "GET /v1/plain?a=1&filters=%7B%22label%22%3A+%5B%22x%3Dy%22%5D%7D",
        "GET /v1/plain?c=x&c=y",
    ]


def test_chunked_answers_stream_line_by_line(server: UnixServer, make: Make) -> None:
    t = make(server.path)
    with t.request("POST", "lines", "pull", stream=True, timeout=(5, None)) as response:
        assert response.status_code == 200
        assert list(response.iter_lines()) == [b'{"a": 1}', b'{"b": 2}', b'{"c": 3}']


def test_a_streamed_connection_is_not_reused(server: UnixServer) -> None:
    t = Transport(UnixClient(str(server.path)), "/v1/", engine="podman", endpoint="unix://x", timeout=5)
    with t.request("GET", "lines", "logs", stream=True) as response:
        assert response.content == b'{"a": 1}\n{"b": 2}\n{"c": 3}'
    assert t.json("GET", "plain", "ping")["conn"] == 2
    assert t.json("GET", "plain", "ping")["conn"] == 2
    t.close()


def test_an_upgraded_stream_keeps_the_bytes_that_came_with_the_headers(server: UnixServer, make: Make) -> None:
    t = make(server.path)
    headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
    with t.request("POST", "attach", "attach", headers=headers, stream=True, timeout=(5, None)) as response:
        assert response.status_code == 101
        chunks = list(iter_frames(response.raw))
    assert chunks == [
        LogChunk(Stream.STDOUT, b"first "),
        LogChunk(Stream.STDERR, b"err "),
        LogChunk(Stream.STDOUT, b"second"),
    ]


def test_a_read_timeout_is_an_engine_timeout(server: UnixServer, make: Make) -> None:
    t = make(server.path)
    with pytest.raises(EngineTimeout) as caught:
        t.request("POST", "slow", "wait", timeout=(5, 0.2))
    assert caught.value.message == f"wait: podman at unix://{server.path} did not answer in time"
    assert caught.value.hint == "the engine is overloaded or stuck; check `podman info` / `docker info`"


def test_a_missing_socket_says_how_to_start_the_engine(short_tmp: Path) -> None:
    t = Transport(UnixClient(f"{short_tmp}/nope.sock"), "/v1/", engine="podman", endpoint="unix:///x.sock", timeout=5)
    with pytest.raises(RuntimeUnavailable) as caught:
        t.request("GET", "_ping", "ping")
    assert caught.value.message == "cannot reach podman at unix:///x.sock: no such socket"
    assert caught.value.hint == (
        "start it with `systemctl start podman.socket` (rootful) or `systemctl --user start podman.socket`"
    )


def test_a_socket_nobody_listens_on_is_refused(short_tmp: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(short_tmp / "stale.sock"))  # bound, never listening: what a crashed engine leaves
    t = Transport(UnixClient(str(short_tmp / "stale.sock")), "/v1/", engine="docker", endpoint="unix://s", timeout=5)
    try:
        with pytest.raises(RuntimeUnavailable) as caught:
            t.json("GET", "info", "info")
    finally:
        stale.close()
    assert caught.value.message == "cannot reach docker at unix://s: connection refused"
    assert (
        caught.value.hint
        == "start it with `systemctl start docker` (or point --host / DOCKER_HOST at a running engine)"
    )


def test_a_tcp_port_nobody_listens_on_is_refused() -> None:
    from podman import PodmanClient

    from pipex.runtime.requests_client import RequestsClient

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # reserved, never listening
        url = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
        api = PodmanClient(base_url=url).api
        t = Transport(
            RequestsClient(api, f"http://{api.base_url.netloc}"), "/v1/", engine="podman", endpoint=url, timeout=5
        )
        with pytest.raises(RuntimeUnavailable) as caught:
            t.request("GET", "_ping", "ping")
        t.close()
    assert caught.value.message == f"cannot reach podman at {url}: connection refused"


def test_an_http_error_is_mapped_with_the_engines_message(server: UnixServer, make: Make) -> None:
    t = make(server.path)
    with pytest.raises(ImageNotFound) as caught:
        t.request("GET", "missing", "inspect image", image="nope")
    assert caught.value.message == "image 'nope' not found: no such image: nope"


def test_a_json_body_is_sent_as_json(server: UnixServer, make: Make) -> None:
    t = make(server.path)
    assert t.json("POST", "echo", "create", json={"Cmd": ["sh", "-c", "é"]}) == {
        "body": '{"Cmd": ["sh", "-c", "\\u00e9"]}',
        "type": "application/json",
    }


def test_a_malformed_answer_is_an_engine_error(short_tmp: Path, make: Make) -> None:
    def garbage(req: Request) -> None:
        req.send(200, b"<html>")

    server = UnixServer(short_tmp / "g.sock", garbage)
    try:
        with pytest.raises(EngineError) as caught:
            make(server.path).json("GET", "info", "info")
    finally:
        server.close()
    assert caught.value.message == "info: podman sent a malformed answer: '<html>'"


def _zeros_digest(size: int) -> str:
    digest = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        digest.update(block)
    return digest.hexdigest()


def test_a_large_file_upload_is_streamed_with_its_length(server: UnixServer, make: Make) -> None:
    size = 48 << 20
    t = make(server.path)
    with tempfile.TemporaryFile() as archive:
        archive.truncate(size)
        tracemalloc.start()
        try:
            answer = t.json("PUT", "upload", "copy", data=archive, headers={"Content-Type": "application/x-tar"})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert answer == {"size": size, "sha256": _zeros_digest(size), "mode": "length"}
    assert peak < 4 << 20  # never the whole tar in memory


class _Zeros(io.RawIOBase):
    """A stream of zeros that cannot seek (a pipe, say): its length is unknown until it ends."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


@pytest.mark.parametrize("kind", ["iterable", "stream"])
def test_an_upload_of_unknown_length_is_sent_chunked(server: UnixServer, kind: str) -> None:
    size = 32 << 20
    t = Transport(UnixClient(str(server.path)), "/v1/", engine="podman", endpoint="unix://x", timeout=5)
    body = (bytes(1 << 18) for _ in range(size >> 18)) if kind == "iterable" else _Zeros(size)
    tracemalloc.start()
    try:
        answer = t.json("PUT", "upload", "copy", data=body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    t.close()
    assert answer == {"size": size, "sha256": _zeros_digest(size), "mode": "chunked"}
    assert peak < 4 << 20


def test_a_connection_the_engine_closed_while_idle_is_replaced(server: UnixServer) -> None:
    t = Transport(UnixClient(str(server.path)), "/v1/", engine="podman", endpoint="unix://x", timeout=5)
    assert t.json("GET", "close-after", "ping") == {"conn": 1}
    assert t.json("GET", "plain", "ping")["conn"] == 2
    t.close()


def test_a_stream_cut_from_another_thread_ends_the_read(server: UnixServer, make: Make) -> None:
    t = make(server.path)
    response = t.request("GET", "forever", "logs", stream=True, timeout=(5, None))
    received: list[bytes] = []
    failure: list[BaseException] = []

    def read() -> None:
        try:
            while data := response.raw.read1(1024):
                received.append(data)
        except STREAM_ERRORS as exc:
            failure.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    while not received:
        reader.join(0.01)
    response.cut()
    reader.join(5)
    response.close()
    assert not reader.is_alive()
    assert b"".join(received).startswith(b"hello")


def test_threads_share_one_client(server: UnixServer) -> None:
    t = Transport(UnixClient(str(server.path)), "/v1/", engine="podman", endpoint="unix://x", timeout=5)
    answers: list[int] = []

    def work() -> None:
        for _ in range(25):
            answers.append(t.json("GET", "plain", "ping")["conn"])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    t.close()
    assert len(answers) == 200
    assert server.connections <= 8 + 1


def test_unix_backends_import_neither_requests_nor_the_engine_clients(short_tmp: Path) -> None:
    code = (
        "import sys\n"
        "from pipex.runtime.podman import PodmanRuntime\n"
        "from pipex.runtime.docker import DockerRuntime\n"
        f"PodmanRuntime('unix://{short_tmp}/p.sock', ping_version='4.3.1', cache_dir=None).close()\n"
        f"DockerRuntime('unix://{short_tmp}/d.sock').close()\n"
        "heavy = {'requests', 'urllib3', 'docker', 'podman', 'charset_normalizer', 'idna'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def test_a_small_answer_reads_whole(server: UnixServer) -> None:
    client = UnixClient(str(server.path))
    with client.send("GET", "/v1/plain", timeout=(5, 5)) as response:
        assert response.headers["content-type"] == "application/json"
        assert response.raw.read(-1) == response.content == b'{"conn": 1, "query": ""}'
        assert isinstance(response.raw, io.BytesIO)
    client.close()
