"""HTTP over a unix socket with the standard library: a small keep-alive pool of ``http.client`` connections.

``requests`` (with urllib3, charset_normalizer, idna, http.cookiejar…) cost every ``pipex run`` about 80 ms of
imports for what is, on a local socket, one request at a time per thread; ``http.client`` is loaded anyway.
A finished answer hands its connection back to the pool; a streamed or upgraded one keeps it until it is closed
and then drops it (its socket was read past the HTTP framing, or cut from another thread). Failures are the
standard library's own: ``TimeoutError`` for a timeout, another ``OSError`` (``FileNotFoundError``,
``ConnectionRefusedError``, ``PermissionError``…) or ``http.client.HTTPException`` for the rest; ``Transport``
maps them.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import select
import socket
import threading
from collections.abc import Mapping
from typing import Any

from pipex.runtime.response import BodyResponse, Reader
from pipex.runtime.unixsock import UnixConnection

# The version in podman-py's libpod prefix (its own release, 5.8.0): Podman 4.0+ servers accept it.
LIBPOD_API_VERSION = "5.8.0"
LIBPOD_PREFIX = f"/v{LIBPOD_API_VERSION}/libpod/"
POOL_SIZE = 10  # idle connections kept: one per concurrently running step is plenty
_BLOCK = 1 << 16  # upload block size (http.client's default, 8 KiB, costs a syscall per 8 KiB of a large tar)
# A kept-alive connection the engine closed while idle fails on first use; only requests whose body can be sent
# again are retried (once, on a new connection).
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _dropped(conn: UnixConnection) -> bool:
    """Whether an idle connection was closed by the engine (readable while idle means EOF or garbage)."""
    if conn.sock is None:
        return True
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(0))


def _seekable(body: Any) -> bool:
    if not hasattr(body, "read"):
        return False
    try:
        return bool(body.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class UnixResponse(BodyResponse):
    """A ``Response`` read from a unix socket (see ``pipex.runtime.response``)."""

    def __init__(
        self,
        answer: http.client.HTTPResponse,
        content: bytes | None,
        conn: UnixConnection | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self._answer = answer
        self._content = content
        self._conn = conn  # held only while streaming: dropped on close
        self._sock = sock
        self.status_code = answer.status
        self.headers: Mapping[str, str] = {key.lower(): value for key, value in answer.getheaders()}

    @property
    def raw(self) -> Reader:
        if self._content is not None:
            return io.BytesIO(self._content)
        if self.status_code == 101:
            # No HTTP body after an upgrade: the stream is the connection, read through the reader http.client
            # parsed the headers with, which may already hold the first bytes.
            fp: Reader = self._answer.fp
            return fp
        return self._answer

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self.raw.read(-1) if self.status_code == 101 else self._answer.read()
        return self._content

    def cut(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._answer.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class UnixClient:
    """Requests to the HTTP server on ``socket_path``; safe to share between threads."""

    def __init__(self, socket_path: str, *, pool_size: int = POOL_SIZE) -> None:
        self.socket_path = socket_path
        self._pool_size = pool_size
        self._idle: list[UnixConnection] = []
        self._lock = threading.Lock()

    def _acquire(self, connect_timeout: float) -> tuple[UnixConnection, bool]:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not _dropped(conn):
                    return conn, True
                conn.close()
        conn = UnixConnection(self.socket_path, connect_timeout, blocksize=_BLOCK)
        conn.connect()
        return conn, False

    def _release(self, conn: UnixConnection) -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def send(
        self,
        method: str,
        target: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: tuple[float, float | None],
    ) -> UnixResponse:
        """Send one request (``target``: path and query); read the whole answer unless ``stream``.

        ``body``: ``None``, bytes, a binary file (streamed: with its length when it can seek, else chunked) or
        an iterable of bytes (chunked). ``timeout``: ``(connect, read)``; ``read=None`` waits forever.
        """
        header = {"User-Agent": "pipex", **(headers or {})}
        if _seekable(body) and "content-length" not in {key.lower() for key in header}:
            # A known length spares the engine a chunked upload; http.client then sends the file block by block.
            start = body.tell()
            body.seek(0, io.SEEK_END)
            header["Content-Length"] = str(body.tell() - start)
            body.seek(start)
        replayable = body is None or isinstance(body, bytes | bytearray)
        connect, read = timeout
        while True:
            conn, reused = self._acquire(connect)
            try:
                sock = conn.sock
                if sock is None:  # cannot happen: _acquire connects; a clear error rather than a bare assert
                    raise ConnectionError("the connection to the engine was closed before use")
                sock.settimeout(read)
                conn.request(method, target, body=body, headers=header)
                answer = conn.getresponse()
            except _STALE:
                conn.close()
                if reused and replayable:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            break
        if stream:
            return UnixResponse(answer, None, conn, sock)
        try:
            content = answer.read()
        except BaseException:
            conn.close()
            raise
        answer.close()
        if answer.will_close:
            conn.close()
        else:
            self._release(conn)
        return UnixResponse(answer, content)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
