"""Numbering events and handing them to the consumer, from the event loop and from worker threads.

The queue is bounded: a slow consumer slows the producers (log reading blocks in its worker thread), so memory
never grows without bound. Once the consumer has gone (``close``), events are dropped instead of blocking.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
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
        queue: asyncio.Queue[Event] | None = None,
        *,
        observer: Callable[[Event], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.workspace = workspace
        self.loop = loop
        self.queue = queue
        self.observer = observer  # sees every event synchronously (the run's own record on disk)
        self._seq = 0
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def make(self, cls: type[Event], **fields: Any) -> Event:
        with self._lock:
            self._seq += 1
            seq = self._seq
        event = cls(run_id=self.run_id, seq=seq, ts=datetime.now(UTC), workspace=self.workspace, **fields)
        if self.observer is not None:
            self.observer(event)
        return event

    def close(self) -> None:
        """The consumer is gone: stop delivering (producers must never block on a dead consumer)."""
        self._closed.set()

    async def emit_async(self, cls: type[Event], **fields: Any) -> Event:
        event = self.make(cls, **fields)
        if self.queue is not None and not self._closed.is_set():
            await self.queue.put(event)
        return event

    def emit(self, cls: type[Event], **fields: Any) -> None:
        """From a worker thread: blocks while the queue is full (back-pressure), never after ``close``."""
        event = self.make(cls, **fields)
        if self.queue is None or self._closed.is_set():
            return
        future = asyncio.run_coroutine_threadsafe(self._put(event), self.loop)
        while not self._closed.is_set():
            try:
                future.result(timeout=0.2)
                return
            except concurrent.futures.TimeoutError:
                continue
        future.cancel()

    async def _put(self, event: Event) -> None:
        assert self.queue is not None
        await self.queue.put(event)
