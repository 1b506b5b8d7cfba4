"""Numbering events and handing them to the consumer, from the event loop and from worker threads.

The buffer is bounded: a slow consumer slows the producers (log reading blocks in its worker thread), so memory
never grows without bound. Events cross threads through a deque under a plain lock; the event loop is woken only
when the consumer is actually waiting, and a producer only when it is actually waiting for room — not once per
event. Log lines cross a whole chunk at a time (``emit_lines``: one lock round trip for all the lines of a
chunk); the consumer still gets one ``StepLog`` per line, in order, made as it takes them — or, if it asked
for whole chunks (``batches``), the chunk's ``LogLines`` as one item, so no object is made per line at all. A
step printing 200,000 lines therefore costs a few microseconds per line at most, not a cross-thread round trip
each. Once the consumer has gone (``close``), events are dropped instead of blocking.

Every event is numbered (``seq``) and buffered under the same lock, so buffer order is ``seq`` order.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from pipex.engine.events import Event, LogLines, StepLog, StepRef

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
        batches: bool = False,
    ) -> None:
        self.run_id = run_id
        self.workspace = workspace
        self.loop = loop
        self.maxsize = maxsize  # events buffered before producers wait (a chunk's lines may overshoot it once)
        # Sees every event synchronously, in seq order, but the lines of emit_lines: it is the run's record, which
        # keeps no log lines, and making a StepLog per line for it cost as much as making them for the consumer.
        self.observer = observer
        self.batches = batches  # the consumer takes a chunk's lines as one LogLines, not a StepLog per line
        self._seq = 0
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # producers waiting for the consumer to take events
        self._buffer: deque[Event | LogLines] = deque()
        self._size = 0  # events in the buffer, each line of a LogLines counted
        self._blocked = 0  # producers waiting in _room
        self._lines: Iterator[StepLog] | None = None  # consumer side: the rest of the batch being handed out
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def close(self) -> None:
        """The consumer is gone: stop delivering (producers must never block on a dead consumer)."""
        with self._lock:
            self._closed = True
            self._buffer.clear()
            self._size = 0
            self._room.notify_all()
        self._lines = None

    # -- producers ------------------------------------------------------------------------------------------

    async def emit_async(self, cls: type[Event], **fields: Any) -> Event:
        """From the event loop: never blocks (the loop's own events are few; the bound is for log lines)."""
        return self._put(cls, fields, block=False)

    def emit_nowait(self, cls: type[Event], **fields: Any) -> Event:
        """From the event loop outside a coroutine (a callback): as ``emit_async``, never blocks."""
        return self._put(cls, fields, block=False)

    def emit(self, cls: type[Event], **fields: Any) -> None:
        """From a worker thread: blocks while the buffer is full (back-pressure), never after ``close``."""
        self._put(cls, fields, block=True)

    def emit_lines(self, step: StepRef, attempt: int, stream: Literal["stdout", "stderr"], lines: list[str]) -> None:
        """From a worker thread: one ``StepLog`` per line, in order (``lines`` is kept: do not reuse it)."""
        if not lines:
            return
        waiter = None
        with self._lock:
            self._wait_for_room()
            batch = LogLines(
                self.run_id, self.workspace, self._seq + 1, datetime.now(UTC), step, attempt, stream, lines
            )
            self._seq += len(lines)
            if not self._closed:
                self._buffer.append(batch)
                self._size += len(lines)
                waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self.loop.call_soon_threadsafe(_wake, waiter)

    def _put(self, cls: type[Event], fields: dict[str, Any], *, block: bool) -> Event:
        waiter = None
        with self._lock:
            if block:
                self._wait_for_room()
            self._seq += 1
            event = cls(run_id=self.run_id, seq=self._seq, ts=datetime.now(UTC), workspace=self.workspace, **fields)
            if self.observer is not None:
                self.observer(event)
            if not self._closed:
                self._buffer.append(event)
                self._size += 1
                waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self.loop.call_soon_threadsafe(_wake, waiter)
        return event

    def _wait_for_room(self) -> None:
        """Under the lock: wait until the consumer has taken enough (or has gone)."""
        while self._size >= self.maxsize and not self._closed:
            self._blocked += 1
            try:
                self._room.wait(0.2)
            finally:
                self._blocked -= 1

    # -- the consumer ---------------------------------------------------------------------------------------

    def get_nowait(self) -> Event | LogLines | None:
        """The next buffered event (with ``batches``, a chunk's lines whole), or ``None`` when there is none yet
        (then await ``get``)."""
        if self._lines is not None:
            event = next(self._lines, None)
            if event is not None:
                return event
            self._lines = None
        with self._lock:
            item = self._take()
        return item if item is None or self.batches or isinstance(item, Event) else self._start(item)

    async def get(self) -> Event | LogLines:
        """The next event, in the order they were buffered."""
        while True:
            event = self.get_nowait()
            if event is not None:
                return event
            with self._lock:
                item = self._take()
                if item is None:
                    waiter = self._waiter = self.loop.create_future()
            if item is not None:
                return item if self.batches or isinstance(item, Event) else self._start(item)
            await waiter

    def _take(self) -> Event | LogLines | None:
        """Under the lock: the oldest buffer entry, waking a producer waiting for room."""
        if not self._buffer:
            return None
        item = self._buffer.popleft()
        self._size -= 1 if isinstance(item, Event) else len(item.lines)
        if self._blocked:
            self._room.notify()
        return item

    def _start(self, batch: LogLines) -> StepLog:
        self._lines = batch.events()
        return next(self._lines)  # a batch is never empty


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
