"""The one ``http.client`` connection over a unix socket: discovery's probe and the runtime's pool both use it."""

from __future__ import annotations

import http.client
import socket


class UnixConnection(http.client.HTTPConnection):
    """``HTTPConnection`` to the unix socket at ``path`` (the ``Host`` header says ``localhost``, as the engines
    expect). ``blocksize``: how much of a file body is sent per write (large for big tar uploads)."""

    def __init__(self, path: str, timeout: float | None, *, blocksize: int = 8192) -> None:
        super().__init__("localhost", timeout=timeout, blocksize=blocksize)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
