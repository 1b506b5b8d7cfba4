"""The one answer type the HTTP backends see, whichever client carried the request.

``unix_http.UnixClient`` (the standard library, for ``unix://`` sockets) and ``requests_client.RequestsClient``
(podman-py's or docker-py's ``requests`` session, for ``tcp://`` and ``ssh://``) both return a ``Response``:
exactly what ``http_runtime``, ``podman``, ``docker`` and ``errors_map`` use, and no more.

A streamed body is read through ``raw`` (a ``read``/``read1`` reader, already de-chunked); after a ``101``
upgrade ``raw`` is the connection's own buffered reader, so bytes it already holds are not lost. Failures while
reading a streamed body surface as ``OSError`` or ``http.client.HTTPException`` (``STREAM_ERRORS``).
"""

from __future__ import annotations

import http.client
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Protocol, Self

# What a read of a streamed body may raise when the connection breaks or is cut from another thread.
STREAM_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, EOFError, http.client.HTTPException)

_LINE_READ = 1 << 16


class Reader(Protocol):
    def read(self, amt: int, /) -> bytes: ...

    def read1(self, amt: int, /) -> bytes: ...


class Response(Protocol):
    """An engine's answer. Close it (or use it as a context manager) when done, streamed or not."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes:
        """The whole body (read now if it was streamed)."""

    @property
    def text(self) -> str: ...

    @property
    def raw(self) -> Reader:
        """The body as it arrives (the upgraded connection after a ``101``)."""

    def json(self) -> Any: ...

    def iter_lines(self) -> Iterator[bytes]:
        """The body split on newlines as it arrives (newlines dropped)."""

    def cut(self) -> None:
        """End a stream from another thread: a read blocked on it returns or raises at once."""

    def close(self) -> None: ...

    def __enter__(self) -> Response: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class BodyResponse(ABC):
    """What both clients' answers derive from their body the same way: text, JSON, lines, ``with`` closing."""

    @property
    @abstractmethod
    def content(self) -> bytes: ...

    @property
    @abstractmethod
    def raw(self) -> Reader: ...

    @abstractmethod
    def close(self) -> None: ...

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` (as ``requests``' ``json()``) for a body that is not JSON."""
        return json.loads(self.content)

    def iter_lines(self) -> Iterator[bytes]:
        """Lines of the body as they arrive: each chunk read is split at once, so a line is never held back."""
        reader = self.raw
        buf = bytearray()
        while True:
            data = reader.read1(_LINE_READ)
            if not data:
                break
            buf += data
            while (end := buf.find(b"\n")) >= 0:
                yield bytes(buf[:end]).removesuffix(b"\r")
                del buf[: end + 1]  # cheap: a bytearray drops its head without copying the rest
        if buf:
            yield bytes(buf).removesuffix(b"\r")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
