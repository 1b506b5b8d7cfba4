"""Numbering events and handing them to the consumer, from the event loop and from worker threads.

The buffer is bounded: a slow consumer slows the producers (log reading blocks in its worker thread), so memory
never grows without bound. Events cross threads through a lock-protected deque, and the event loop is woken only
when the consumer is actually waiting — not once per event — so a step printing 200,000 lines costs microseconds
per line, not a cross-thread round trip each. Once the consumer has gone (``close``), events are dropped instead
of blocking.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pipex.engine.events import Event

QUEUE_SIZE = 1024


class Emitter:
    def __init__(
        self,
        run_id: str,
        workspace: str,
        loop: asyncio.AbstractEventLoop,
        *,
        maxsize: int = QUEUE_SIZE,
        observer: Callable[[Event], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.workspace = workspace
        self.loop = loop
        self.maxsize = maxsize
        self.observer = observer  # sees every event synchronously (e.g. a detached run's event log)
        self._seq = 0
        self._buffer: deque[Event] = deque()
        self._cond = threading.Condition()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def make(self, cls: type[Event], **fields: Any) -> Event:
        with self._cond:
            self._seq += 1
            seq = self._seq
        event = cls(run_id=self.run_id, seq=seq, ts=datetime.now(UTC), workspace=self.workspace, **fields)
        if self.observer is not None:
            self.observer(event)
        return event

    def close(self) -> None:
        """The consumer is gone: stop delivering (producers must never block on a dead consumer)."""
        with self._cond:
            self._closed = True
            self._buffer.clear()
            self._cond.notify_all()

    def _push(self, event: Event, *, block: bool) -> None:
        with self._cond:
            while block and len(self._buffer) >= self.maxsize and not self._closed:
                self._cond.wait(0.2)
            if self._closed:
                return
            self._buffer.append(event)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self.loop.call_soon_threadsafe(_wake, waiter)

    async def emit_async(self, cls: type[Event], **fields: Any) -> Event:
        """From the event loop: never blocks (the loop's own events are few; the bound is for log lines)."""
        event = self.make(cls, **fields)
        self._push(event, block=False)
        return event

    def emit(self, cls: type[Event], **fields: Any) -> None:
        """From a worker thread: blocks while the buffer is full (back-pressure), never after ``close``."""
        self._push(self.make(cls, **fields), block=True)

    def get_nowait(self) -> Event | None:
        """The next buffered event, or ``None`` when there is none yet (then await ``get``)."""
        with self._cond:
            if not self._buffer:
                return None
            event = self._buffer.popleft()
            self._cond.notify()
            return event

    async def get(self) -> Event:
        """The next event, in the order they were buffered."""
        while True:
            with self._cond:
                if self._buffer:
                    event = self._buffer.popleft()
                    self._cond.notify()
                    return event
                waiter = self._waiter = self.loop.create_future()
            await waiter


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
