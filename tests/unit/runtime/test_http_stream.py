"""An engine that goes away mid-stream (its service killed) is an engine error at the seam, not a socket error."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipex.errors import EngineError
from pipex.runtime.base import LogChunk
from pipex.runtime.http_runtime import HttpRuntime
from pipex.runtime.transport import Transport
from pipex.runtime.unix_http import UnixClient

from .unixserver import Request, UnixServer, frame


def dies_mid_frame(req: Request) -> None:
    path = req.target.split("?", 1)[0].rsplit("/", 1)[-1]
    if path == "attach":
        head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        req.sock.sendall(head + frame(1, b"first ") + frame(1, b"never complete")[:10])
        req.keep_alive = False  # the connection closes: the service is gone
    else:
        req.send(204)


def test_a_stream_cut_inside_a_frame_is_an_engine_error(short_tmp: Path) -> None:
    server = UnixServer(short_tmp / "api.sock", dies_mid_frame)
    transport = Transport(UnixClient(str(server.path)), "/v1/", engine="podman", endpoint="unix://x", timeout=5)
    runtime = HttpRuntime("unix://x", transport)
    got: list[LogChunk] = []
    try:
        with pytest.raises(EngineError) as info:
            got.extend(runtime.start_attached("c1"))
    finally:
        runtime.close()
        server.close()
    assert b"".join(c.data for c in got).startswith(b"first ")  # what came before the cut is delivered
    assert info.value.message.startswith("attach to container: the connection to the engine broke mid-stream (")
    assert info.value.hint == "check that the engine is still running (`pipex doctor`)"
