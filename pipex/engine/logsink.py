"""Where a step's output goes: raw bytes into its two log files, and complete lines into events.

The files get the bytes exactly as the container wrote them (binary-safe). Lines are split only for events and
display, decoded with replacement characters, and capped, so one enormous line cannot exhaust memory.

A chunk is split with one ``bytes.split`` and decoded with one ``decode`` (a newline byte never belongs to a
multi-byte character, so this is exactly the per-line decoding), and its lines are handed over as one list:
the per-line work in Python was most of the cost of a step printing 200,000 lines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

from pipex.engine.mask import Masker, StreamMasker
from pipex.runtime.base import LogChunk, Stream

MAX_LINE = 64 * 1024
TAIL_LINES = 20

StreamName = Literal["stdout", "stderr"]
OnLines = Callable[[StreamName, list[str]], None]  # the complete lines of one chunk, in order (never empty)


class _Splitter:
    def __init__(
        self, stream: StreamName, on_lines: OnLines | None, tail: deque[bytes], *, last_only: bool = False
    ) -> None:
        self.stream: StreamName = stream
        self.on_lines = on_lines
        self.last_only = last_only  # only the last complete line of each chunk reaches on_lines
        self.tail = tail
        self.pending = bytearray()
        self.dropping = False  # inside an over-long line: its rest is not an event

    def feed(self, data: bytes) -> None:
        last = data.rfind(b"\n")
        if last < 0:
            self._partial(data)
            return
        start = 0
        head: bytes | None = None  # the pending line, completed by this chunk
        if self.pending or self.dropping:
            first = data.find(b"\n")
            if not self.dropping:
                self.pending += data[: min(first, MAX_LINE - len(self.pending))]
                head = bytes(self.pending)
            self.pending.clear()
            self.dropping = False
            start = first + 1
        body = data[start:last] if start <= last else None  # the complete lines after the head, if any
        raws = [] if body is None else body.split(b"\n")
        every = self.on_lines is not None and not self.last_only
        texts = _decode(body, raws) if body is not None and every else []
        if head is not None:
            raws.insert(0, head)
            if every:
                texts.insert(0, _text(head))
        if self.last_only and self.on_lines is not None:
            texts = [_text(raws[-1][:MAX_LINE])]
        self.tail.extend(raw[:MAX_LINE] for raw in raws[-TAIL_LINES:])  # decoded only for a failure summary
        if texts and self.on_lines is not None:
            self.on_lines(self.stream, texts)
        self._partial(data[last + 1 :])

    def _partial(self, rest: bytes) -> None:
        """Bytes of a line whose end has not come yet."""
        if not rest or self.dropping:
            return
        room = MAX_LINE - len(self.pending)
        self.pending += rest[:room]
        if len(rest) > room:  # over-long: its first MAX_LINE bytes are the line, the rest is dropped
            self._emit(bytes(self.pending))
            self.pending.clear()
            self.dropping = True

    def flush(self) -> None:
        if self.pending and not self.dropping:
            self._emit(bytes(self.pending))
        self.pending.clear()
        self.dropping = False

    def _emit(self, raw: bytes) -> None:
        self.tail.append(raw)
        if self.on_lines is not None:
            self.on_lines(self.stream, [_text(raw)])


class LogSink:
    """Receives ``LogChunk``s from the runtime; owns the two open log files of one attempt."""

    def __init__(
        self,
        run_dir: Path,
        on_lines: OnLines | None = None,
        *,
        prefix: str = "",
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
        last_only: bool = False,
        masker: Masker | None = None,
    ) -> None:
        """``on_lines`` gets every complete line, or with ``last_only`` the last line of each chunk (enough for a
        view of each step's latest line, at a fraction of the cost on a chatty step). ``masker``: the run's secret
        values, masked in the bytes before they reach the files, the lines and ``stdout``."""
        self.stdout = stdout
        self.stderr = stderr
        self.stdout_path = run_dir / f"{prefix}stdout.log"
        self.stderr_path = run_dir / f"{prefix}stderr.log"
        self._files: dict[Stream, BinaryIO] = {
            Stream.STDOUT: self.stdout_path.open("ab"),
            Stream.STDERR: self.stderr_path.open("ab"),
        }
        self.stdout_tail: deque[bytes] = deque(maxlen=TAIL_LINES)
        self.stderr_tail: deque[bytes] = deque(maxlen=TAIL_LINES)
        self._split = {
            Stream.STDOUT: _Splitter("stdout", on_lines, self.stdout_tail, last_only=last_only),
            Stream.STDERR: _Splitter("stderr", on_lines, self.stderr_tail, last_only=last_only),
        }
        self._mask: dict[Stream, StreamMasker] | None = None
        if masker:
            self._mask = {Stream.STDOUT: masker.stream(), Stream.STDERR: masker.stream()}

    def __call__(self, chunk: LogChunk) -> None:
        data = chunk.data
        if self._mask is not None:
            data = self._mask[chunk.stream].feed(data)
            if not data:
                return
        self._write(chunk.stream, data)

    def _write(self, stream: Stream, data: bytes) -> None:
        self._files[stream].write(data)
        if self.stdout is not None and stream is Stream.STDOUT:
            self.stdout.write(data)
            self.stdout.flush()
        elif self.stderr is not None and stream is Stream.STDERR:
            self.stderr.write(data)
            self.stderr.flush()
        self._split[stream].feed(data)

    def flush_lines(self) -> None:
        """End of one phase (setup or run): bytes held back by the masker go out, an unterminated last line
        becomes an event."""
        if self._mask is not None:
            for stream, mask in self._mask.items():
                rest = mask.flush()
                if rest:
                    self._write(stream, rest)
        for splitter in self._split.values():
            splitter.flush()

    def close(self) -> None:
        self.flush_lines()
        for f in self._files.values():
            f.close()

    def tail(self) -> list[str]:
        """The last lines of stderr, or of stdout when stderr is empty (for failure summaries)."""
        return [_text(raw) for raw in (self.stderr_tail or self.stdout_tail)]


def _decode(body: bytes, raws: list[bytes]) -> list[str]:
    """The lines of ``body`` (``raws``: the same split as bytes) as text, each capped to MAX_LINE bytes."""
    if len(body) > MAX_LINE and max(map(len, raws)) > MAX_LINE:
        return [_text(raw[:MAX_LINE]) for raw in raws]
    texts = body.decode("utf-8", errors="replace").split("\n")
    if b"\r" in body:
        texts = [text.rstrip("\r") for text in texts]
    return texts


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r")
