"""Flushing a reporter's stream soon after a write instead of after every write.

A flush per step output line was the largest part of the cost of a step printing 200,000 lines (a system
call and, on a pipe, a wake-up of the reader each). ``SoonFlush`` flushes at most ``FLUSH_AFTER`` seconds after
the first unflushed write, from a timer thread, so a quiet step's last line still shows within 50 ms; other
events flush at once (``now``). Writers hold ``lock`` around their write and the call, so the timer's flush
never runs in the middle of one.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TextIO

FLUSH_AFTER = 0.05


class SoonFlush:
    def __init__(self, stream: TextIO, after: float = FLUSH_AFTER) -> None:
        self.stream = stream
        self.after = after
        self.lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @property
    def pending(self) -> bool:
        """Whether a flush is already on its way (then ``soon`` has nothing to do)."""
        return self._timer is not None

    def soon(self) -> None:
        """Under ``lock``, after a write: make sure a flush comes within ``after`` seconds."""
        if self._timer is None:
            self._timer = threading.Timer(self.after, self._later)
            self._timer.daemon = True
            self._timer.start()

    def now(self) -> None:
        """Under ``lock``: flush at once (the pending timer has nothing left to do)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.stream.flush()

    def _later(self) -> None:
        with self.lock:
            self._timer = None
            # A closed reader surfaces on the main thread's next write; the timer only loses its flush.
            with contextlib.suppress(OSError, ValueError):
                self.stream.flush()
