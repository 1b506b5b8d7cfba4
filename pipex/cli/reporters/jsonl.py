"""``--json``: every event as one JSON object per line on stdout, nothing else there.

Each line is ``event.to_json()`` (the stable schema of ``pipex.engine.events``): compact separators, UTF-8
kept as is. Step output lines (``step_log``) are included with or without ``--verbose``: the stream is the
machine interface, consumers filter on ``event``.

Every event but ``step_log`` is flushed at once. Output lines are flushed at most ``FLUSH_AFTER`` seconds after
they were written (or when the buffer fills): a flush per line was most of the cost of a step printing 200,000
lines, and a reader still sees a quiet step's last line within 50 ms.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import TextIO

from pipex.engine.events import Event, StepLog

# One encoder: ``json.dumps`` with options builds a new one per call, a measurable cost at 200,000 log lines.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
FLUSH_AFTER = 0.05


def dumps(event: Event) -> str:
    return _ENCODER.encode(event.to_json())


class JsonReporter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.wants_logs = True
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def handle(self, event: Event) -> None:
        line = dumps(event) + "\n"
        with self._lock:
            self.stream.write(line)
            if not isinstance(event, StepLog):
                self._flush_now()
            elif self._timer is None:
                self._timer = threading.Timer(FLUSH_AFTER, self._flush_later)
                self._timer.daemon = True
                self._timer.start()

    def _flush_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.stream.flush()

    def _flush_later(self) -> None:
        with self._lock:
            self._timer = None
            # A closed reader surfaces on the main thread's next write; the timer only loses its flush.
            with contextlib.suppress(OSError, ValueError):
                self.stream.flush()

    def close(self) -> None:
        with self._lock:
            self._flush_now()
