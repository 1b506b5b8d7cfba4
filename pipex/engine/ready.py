"""The order in which the scheduler decides steps, and the slots that bound running containers."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Sequence

from pipex.model.spec import StepSpec


class ReadyQueue:
    """Steps in the order one task per step, each waiting for its inputs in turn, would reach its decision.

    Every step starts in file order and walks its inputs; at the first one not yet settled it waits, and the
    input's settling puts it back at the end of the queue (first come, first back), where it walks on. That is
    exactly how tasks created in file order and woken by ``asyncio.Event`` behave, without a task per step.
    Inputs outside the selected steps (``--target``) are not waited for. An input ``release``d (its artifacts
    handed over before its commit: early.py) is no longer waited for by the steps ``early`` accepts.
    """

    def __init__(self, specs: Sequence[StepSpec], early: Callable[[StepSpec], bool] | None = None) -> None:
        self._early = early
        self._released: set[str] = set()
        self._selected = {spec.id for spec in specs}
        self._queue: deque[StepSpec] = deque(specs)
        self._waiting: dict[str, list[StepSpec]] = {}  # step id → the steps waiting for it, in arrival order
        self._cursor: dict[str, int] = {}  # step id → the input it waits for
        self._settled: set[str] = set()
        self._total = len(self._selected)

    def pop(self) -> StepSpec | None:
        """The next step whose inputs are all settled; ``None`` when no step is ready now."""
        queue = self._queue
        while queue:
            spec = queue.popleft()
            if self._walk(spec):
                return spec
        return None

    def _walk(self, spec: StepSpec) -> bool:
        inputs = spec.inputs
        position = self._cursor.pop(spec.id, 0)
        while position < len(inputs):
            step = inputs[position].step
            if step in self._selected and step not in self._settled and not self._passes(step, spec):
                self._waiting.setdefault(step, []).append(spec)
                self._cursor[spec.id] = position
                return False
            position += 1
        return True

    def settle(self, step_id: str) -> bool:
        """``step_id`` is decided (or abandoned); whether that made steps ready."""
        self._settled.add(step_id)
        woken = self._waiting.pop(step_id, None)
        if woken:
            self._queue.extend(woken)
        return bool(woken)

    def _passes(self, step: str, spec: StepSpec) -> bool:
        return step in self._released and self._early is not None and self._early(spec)

    def release(self, step_id: str) -> bool:
        """``step_id``'s artifacts are handed over before it settles: the steps ``early`` accepts stop waiting for
        it (the others wait for ``settle``); whether that made steps ready."""
        self._released.add(step_id)
        waiting = self._waiting.get(step_id)
        if not waiting or self._early is None:
            return False
        woken = [spec for spec in waiting if self._early(spec)]
        if not woken:
            return False
        left = [spec for spec in waiting if not self._early(spec)]
        if left:
            self._waiting[step_id] = left
        else:
            del self._waiting[step_id]
        self._queue.extend(woken)
        return True

    def add(self, specs: Sequence[StepSpec]) -> None:
        """Steps that join the run while it goes (a sub-pipeline's, once its list is known), queued in order."""
        self._selected.update(spec.id for spec in specs)
        self._total += len(specs)
        self._queue.extend(specs)

    @property
    def settled(self) -> set[str]:
        return self._settled

    @property
    def has_ready(self) -> bool:
        return bool(self._queue)

    @property
    def complete(self) -> bool:
        return len(self._settled) >= self._total


class Slots:
    """``n`` slots for running containers; when several steps wait, the one first in the file gets the next slot.

    Not an ``asyncio.Semaphore``: it wakes waiters by arrival, and arrival depends on how long each step's image
    lookup and hashing took, so ties would go in a random order.
    """

    def __init__(self, n: int) -> None:
        self._free = n
        # heap by file index, then arrival (the instances of one fan-out step share their step's index)
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    async def acquire(self, order: int) -> None:
        if self._free > 0:  # a free slot means nobody is waiting: release() hands slots to waiters directly
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (order, next(self._arrivals), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted and cancelled at once: pass the slot on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, granted = heapq.heappop(self._waiters)
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1
