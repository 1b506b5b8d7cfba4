"""Demultiplex the engines' attach/logs/exec stream frame by frame, without buffering the whole output.

Both the Docker Engine API and the libpod API send a non-TTY container's output as frames: an 8-byte header
(stream id, 3 zero bytes, big-endian payload length) followed by the payload. We read exactly one frame at a time
from the response's raw stream, so memory stays bounded by the largest frame, whatever the output size.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Protocol

from pipex.runtime.base import LogChunk, Stream

_HEADER = struct.Struct(">BxxxL")
_STREAMS = {1: Stream.STDOUT, 2: Stream.STDERR}
# Split very large frames so a consumer never holds more than this many bytes from one frame.
MAX_CHUNK = 1 << 20


class Readable(Protocol):
    def read(self, amt: int) -> bytes: ...


def _read_exact(raw: Readable, size: int) -> bytes | None:
    """``size`` bytes, or None on a clean end of stream before the first byte; short reads are retried."""
    parts: list[bytes] = []
    missing = size
    while missing:
        data = raw.read(missing)
        if not data:
            if missing == size:
                return None
            raise EOFError(f"stream ended inside a frame ({size - missing} of {size} bytes)")
        parts.append(data)
        missing -= len(data)
    return b"".join(parts)


def iter_frames(raw: Readable) -> Iterator[LogChunk]:
    """Yield each frame of a multiplexed stream as a ``LogChunk`` (stdin echoes and unknown ids are dropped)."""
    while True:
        header = _read_exact(raw, _HEADER.size)
        if header is None:
            return
        stream_id, length = _HEADER.unpack(header)
        stream = _STREAMS.get(stream_id)
        while length:
            take = min(length, MAX_CHUNK)
            data = _read_exact(raw, take)
            if data is None:
                raise EOFError("stream ended inside a frame")
            length -= take
            if stream is not None:
                yield LogChunk(stream, data)
