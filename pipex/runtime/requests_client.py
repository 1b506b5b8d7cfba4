"""The ``tcp://`` and ``ssh://`` transport: podman-py's or docker-py's ``requests`` session behind ``Response``.

Only these endpoints import ``requests`` (through podman-py or docker-py, whose adapters do ssh); ``unix://``
sockets use ``unix_http``. Failures are given the standard library's shape that ``Transport`` maps:
``TimeoutError`` for a timeout, ``ConnectionError`` (chained to the original, whose errno ``errors_map``
finds) for the rest; a streamed body that breaks raises ``OSError``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping
from typing import Any

import requests

from pipex.runtime.response import BodyResponse, Reader


def _timed_out(exc: BaseException) -> bool:
    # requests reports a read timeout hit while reading a streamed body as ConnectionError(ReadTimeoutError).
    cur: BaseException | None = exc
    while cur is not None:
        if isinstance(cur, requests.Timeout | TimeoutError) or type(cur).__name__ == "ReadTimeoutError":
            return True
        cur = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else cur.__cause__
    return False


class _RawReader:
    """The urllib3 body (or the upgraded connection's reader) with its errors turned into ``OSError``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._read1 = getattr(inner, "read1", None)

    def read(self, amt: int = -1, /) -> bytes:
        return _guarded(self._inner.read, None if amt < 0 else amt)

    def read1(self, amt: int = -1, /) -> bytes:
        if self._read1 is None:
            return self.read(amt)
        return _guarded(self._read1, amt)


def _guarded(read: Any, amt: int | None) -> bytes:
    try:
        return bytes(read(amt) or b"")
    except OSError:
        raise
    except Exception as exc:
        raise ConnectionError(f"the engine's stream broke: {exc}") from exc


class RequestsResponse(BodyResponse):
    """A ``Response`` wrapping a ``requests.Response``."""

    def __init__(self, inner: requests.Response) -> None:
        self._inner = inner
        self.status_code = inner.status_code
        self.headers: Mapping[str, str] = {key.lower(): value for key, value in inner.headers.items()}

    def _fp(self) -> Any:
        """The buffered reader under urllib3's response (the connection itself after a 101)."""
        return getattr(getattr(self._inner.raw, "_fp", None), "fp", None)

    @property
    def raw(self) -> Reader:
        if self.status_code == 101:
            return _RawReader(self._fp() or self._inner.raw)
        return _RawReader(self._inner.raw)

    @property
    def content(self) -> bytes:
        try:
            return self._inner.content
        except requests.RequestException as exc:
            raise ConnectionError(f"the engine's answer broke: {exc}") from exc

    def cut(self) -> None:
        sock = getattr(getattr(self._fp(), "raw", None), "_sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._inner.close()


class RequestsClient:
    """Requests through ``session`` (a podman-py ``APIClient`` or docker-py ``APIClient``) to ``root`` + target."""

    def __init__(self, session: requests.Session, root: str) -> None:
        self.session = session
        self._root = root.rstrip("/")

    def send(
        self,
        method: str,
        target: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: tuple[float, float | None],
    ) -> RequestsResponse:
        try:
            answer = self.session.request(
                method,
                self._root + target,
                data=body,
                headers=dict(headers or {}),
                stream=stream,
                timeout=timeout,
            )
        except requests.RequestException as exc:
            if _timed_out(exc):
                raise TimeoutError(str(exc)) from exc
            raise ConnectionError(str(exc)) from exc
        return RequestsResponse(answer)

    def close(self) -> None:
        self.session.close()
