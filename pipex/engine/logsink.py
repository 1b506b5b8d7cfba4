"""Where a step's output goes: raw bytes into its two log files, and complete lines into events.

The files get the bytes exactly as the container wrote them (binary-safe). Lines are split only for events and
display, decoded with replacement characters, and capped, so one enormous line cannot exhaust memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

from pipex.runtime.base import LogChunk, Stream

MAX_LINE = 64 * 1024
TAIL_LINES = 20

StreamName = Literal["stdout", "stderr"]
OnLine = Callable[[StreamName, str], None]


class _Splitter:
    def __init__(self, stream: StreamName, on_line: OnLine | None, tail: deque[bytes]) -> None:
        self.stream: StreamName = stream
        self.on_line = on_line
        self.tail = tail
        self.pending = bytearray()
        self.dropping = False  # inside an over-long line: its rest is not an event

    def feed(self, data: bytes) -> None:
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                rest = data[start:]
                if not self.dropping:
                    room = MAX_LINE - len(self.pending)
                    self.pending += rest[:room]
                    if len(rest) > room:
                        self._emit(bytes(self.pending))
                        self.pending.clear()
                        self.dropping = True
                return
            piece = data[start:nl]
            if self.dropping:
                self.dropping = False
            else:
                self.pending += piece[: MAX_LINE - len(self.pending)]
                self._emit(bytes(self.pending))
            self.pending.clear()
            start = nl + 1

    def flush(self) -> None:
        if self.pending and not self.dropping:
            self._emit(bytes(self.pending))
        self.pending.clear()
        self.dropping = False

    def _emit(self, raw: bytes) -> None:
        self.tail.append(raw)  # decoded only if a failure summary asks for it
        if self.on_line is not None:
            self.on_line(self.stream, _text(raw))


class LogSink:
    """Receives ``LogChunk``s from the runtime; owns the two open log files of one attempt."""

    def __init__(
        self, run_dir: Path, on_line: OnLine | None = None, *, prefix: str = "", stdout: BinaryIO | None = None
    ) -> None:
        self.stdout = stdout
        self.stdout_path = run_dir / f"{prefix}stdout.log"
        self.stderr_path = run_dir / f"{prefix}stderr.log"
        self._files: dict[Stream, BinaryIO] = {
            Stream.STDOUT: self.stdout_path.open("ab"),
            Stream.STDERR: self.stderr_path.open("ab"),
        }
        self.stdout_tail: deque[bytes] = deque(maxlen=TAIL_LINES)
        self.stderr_tail: deque[bytes] = deque(maxlen=TAIL_LINES)
        self._split = {
            Stream.STDOUT: _Splitter("stdout", on_line, self.stdout_tail),
            Stream.STDERR: _Splitter("stderr", on_line, self.stderr_tail),
        }

    def __call__(self, chunk: LogChunk) -> None:
        self._files[chunk.stream].write(chunk.data)
        if self.stdout is not None and chunk.stream is Stream.STDOUT:
            self.stdout.write(chunk.data)
            self.stdout.flush()
        self._split[chunk.stream].feed(chunk.data)

    def flush_lines(self) -> None:
        """End of one phase (setup or run): an unterminated last line becomes an event."""
        for splitter in self._split.values():
            splitter.flush()

    def close(self) -> None:
        self.flush_lines()
        for f in self._files.values():
            f.close()

    def tail(self) -> list[str]:
        """The last lines of stderr, or of stdout when stderr is empty (for failure summaries)."""
        return [_text(raw) for raw in (self.stderr_tail or self.stdout_tail)]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")
