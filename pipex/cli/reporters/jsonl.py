"""``--json``: every event as one JSON object per line on stdout, nothing else there.

Each line is ``event.to_json()`` (the stable schema of ``pipex.engine.events``): compact separators, UTF-8
kept as is. Step output lines (``step_log``) are included with or without ``--verbose``: the stream is the
machine interface, consumers filter on ``event``.

Every event but ``step_log`` is flushed at once. Output lines are flushed at most ``FLUSH_AFTER`` seconds after
they were written (or when the buffer fills): a flush per line was most of the cost of a step printing 200,000
lines, and a reader still sees a quiet step's last line within 50 ms.

``step_log`` lines are built from a cached prefix instead of a dict per line: the lines of one chunk share
their step, attempt, stream and timestamp, so only ``seq`` and the line itself (one C call to encode) change.
The CLI takes a chunk's lines whole (``handle_lines``): they become one string and one write, with no event
object per line. The text is the same as ``to_json`` encoded (the tests compare them).
"""

from __future__ import annotations

import json
from datetime import datetime
from json.encoder import encode_basestring  # what the encoder below uses for str (ensure_ascii=False)
from typing import Any, TextIO

from pipex.cli.reporters.flushing import FLUSH_AFTER, SoonFlush
from pipex.engine.events import Event, LogLines, StepLog, StepRef

# One encoder: ``json.dumps`` with options builds a new one per call, a measurable cost at 200,000 log lines.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

__all__ = ["FLUSH_AFTER", "JsonReporter", "dumps"]

# How an event's ``ts`` goes to JSON (its json_fields say), for the cached head of step_log lines.
_TS_TO_JSON = next(f.dump for f in Event.json_fields if f.key == "ts")


def dumps(event: Event) -> str:
    return _ENCODER.encode(event.to_json())


def dumps_line(data: dict[str, Any]) -> str:
    """One JSON line as the events are written (compact, UTF-8 as is)."""
    return _ENCODER.encode(data)


class _LogLines:
    """``step_log`` JSON lines, with the parts shared by consecutive lines rendered once."""

    def __init__(self) -> None:
        # What the cached parts were rendered from, compared by identity (a miss only costs a re-render).
        self._ts: datetime | None = None
        self._step: StepRef | None = None
        self._stream = ""
        self._attempt = 0
        self._run_id = ""
        self._workspace = ""
        self._head = ""  # {"event":"step_log","ts":"…","seq":
        self._middle = ""  # ,"runId":…,"attempt":1,"stream":"stdout","line":

    def line(self, event: StepLog) -> str:
        self._check(event)
        return f"{self._head}{event.seq}{self._middle}{encode_basestring(event.line)}}}\n"

    def lines(self, batch: LogLines) -> str:
        """The JSON lines of a chunk's lines, as one string."""
        self._check(batch)
        head, middle, encode = self._head, self._middle, encode_basestring
        return "".join([f"{head}{seq}{middle}{encode(line)}}}\n" for seq, line in enumerate(batch.lines, batch.first)])

    def _check(self, event: StepLog | LogLines) -> None:
        # Every chunk is read at its own time: the head (the timestamp) changes per chunk, the rest seldom.
        if event.ts is not self._ts:
            self._ts = event.ts
            self._head = '{"event":"step_log","ts":' + encode_basestring(_TS_TO_JSON(event.ts)) + ',"seq":'
        if (
            event.step is not self._step
            or event.stream is not self._stream
            or event.attempt is not self._attempt
            or event.run_id is not self._run_id
            or event.workspace is not self._workspace
        ):
            self._render(event if isinstance(event, StepLog) else next(event.events()))

    def _render(self, event: StepLog) -> None:
        self._step, self._stream = event.step, event.stream
        self._attempt, self._run_id, self._workspace = event.attempt, event.run_id, event.workspace
        data = event.to_json()
        names = ("runId", "workspace", "step", "attempt", "scope", "group", "instance")
        parts = [f'"{name}":{_ENCODER.encode(data[name])}' for name in names if name in data]
        self._middle = "," + ",".join(parts) + ',"stream":' + _ENCODER.encode(event.stream) + ',"line":'


class JsonReporter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.wants_logs = True
        self._flush = SoonFlush(stream)
        self._logs = _LogLines()

    def handle(self, event: Event) -> None:
        if type(event) is StepLog:
            line = self._logs.line(event)
            with self._flush.lock:
                self.stream.write(line)
                if not self._flush.pending:
                    self._flush.soon()
            return
        line = dumps(event) + "\n"
        with self._flush.lock:
            self.stream.write(line)
            self._flush.now()

    def handle_lines(self, lines: LogLines) -> None:
        text = self._logs.lines(lines)
        with self._flush.lock:
            self.stream.write(text)
            if not self._flush.pending:
                self._flush.soon()

    def close(self) -> None:
        with self._flush.lock:
            self._flush.now()
