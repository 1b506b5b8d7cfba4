"""``--json``: every event as one JSON object per line on stdout, flushed per line, nothing else there.

Each line is ``event.to_json()`` (the stable schema of ``pipex.engine.events``): compact separators, UTF-8
kept as is. Step output lines (``step_log``) are included with or without ``--verbose``: the stream is the
machine interface, consumers filter on ``event``.
"""

from __future__ import annotations

import json
from typing import TextIO

from pipex.engine.events import Event

# One encoder: ``json.dumps`` with options builds a new one per call, a measurable cost at 200,000 log lines.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(event: Event) -> str:
    return _ENCODER.encode(event.to_json())


class JsonReporter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.wants_logs = True

    def handle(self, event: Event) -> None:
        self.stream.write(dumps(event) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()
