"""``UnixConnection``: the one HTTP-over-unix-socket connection, for discovery's probe and the runtime's pool."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipex.runtime.unixsock import UnixConnection

from .fakeengine import FakeEngine


def test_a_request_over_the_socket(short_tmp: Path, engine: Callable[..., FakeEngine]) -> None:
    engine(short_tmp / "e.sock")
    conn = UnixConnection(str(short_tmp / "e.sock"), 5.0)
    try:
        conn.request("GET", "/version")
        answer = conn.getresponse()
        assert answer.status == 200
        assert b"Podman Engine" in answer.read()
    finally:
        conn.close()


def test_no_socket_is_the_standard_error_and_leaks_nothing(short_tmp: Path) -> None:
    conn = UnixConnection(str(short_tmp / "none.sock"), 1.0, blocksize=1 << 16)
    assert conn.blocksize == 1 << 16
    with pytest.raises(FileNotFoundError):
        conn.connect()
    assert conn.sock is None
