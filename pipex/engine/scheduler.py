"""The scheduler: a ready queue over the DAG, bounded parallelism, and the per-step decisions.

Per step, in order: a required input failed or was skipped → skipped (dependency); ``if`` false → skipped
(condition); fingerprint; cache hit → cached; ``--dry-run`` → would run; else execute in a worker thread.
A step starts as soon as all its inputs are settled and a slot is free (ties in file order: when several steps wait
for a slot, the one first in the file gets it — see ``Slots``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Literal

from pipex.engine.emitter import Emitter
from pipex.engine.events import (
    FailureKind,
    ImagePull,
    Metrics,
    RunResult,
    RunStatus,
    StepCached,
    StepEnd,
    StepOutcome,
    StepRef,
    StepRetry,
    StepSkipped,
    StepStart,
    StepWouldRun,
)
from pipex.engine.fingerprints import Fingerprinter
from pipex.engine.images import ImageResolver
from pipex.engine.options import RunOptions
from pipex.engine.plan import StepContext, StepPlan, StepRun, UpstreamInput
from pipex.engine.runner import execute, record_failure
from pipex.errors import PipexError
from pipex.model.condition import check as check_condition
from pipex.model.spec import StepSpec
from pipex.runtime.base import ImageRef
from pipex.workspace.layout import Workspace

_KIND: dict[str, FailureKind] = {
    "image": "image",
    "setup": "setup",
    "timeout": "timeout",
    "engine": "engine",
    "exit": "step",
}


@dataclass(frozen=True, slots=True)
class Provided:
    """A settled upstream step whose artifacts exist."""

    run_id: str
    digest: str


class Slots:
    """``n`` slots for running containers; when several steps wait, the one first in the file gets the next slot.

    Not an ``asyncio.Semaphore``: it wakes waiters by arrival, and arrival depends on how long each step's image
    lookup and hashing took, so ties would go in a random order.
    """

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []  # heap by file index (unique per step)

    async def acquire(self, order: int) -> None:
        if self._free > 0:  # a free slot means nobody is waiting: release() hands slots to waiters directly
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (order, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted and cancelled at once: pass the slot on
            raise

    def release(self) -> None:
        while self._waiters:
            _, granted = heapq.heappop(self._waiters)
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1


class Scheduler:
    def __init__(
        self,
        specs: list[StepSpec],
        *,
        options: RunOptions,
        workspace: Workspace,
        emitter: Emitter,
        ctx: StepContext | None,
        images: ImageResolver,
        fingerprinter: Fingerprinter,
        condition_env: Mapping[str, str],
    ) -> None:
        self.specs = specs
        self.by_id = {s.id: s for s in specs}
        self.options = options
        self.ws = workspace
        self.emitter = emitter
        self.ctx = ctx
        self.images = images
        self.fp = fingerprinter
        self.condition_env = condition_env
        self.outcomes: dict[str, StepOutcome] = {}
        self.provided: dict[str, Provided] = {}
        self.pending_digest: set[str] = set()  # dry run: would run, so its artifacts are unknown
        self.done = {s.id: asyncio.Event() for s in specs}
        self.order = {s.id: n for n, s in enumerate(specs)}
        self.slots = Slots(options.slots)
        self.running_now = 0
        self.peak = 0
        self.stop_status: RunStatus | None = None
        self.pool = ThreadPoolExecutor(max_workers=options.slots, thread_name_prefix="pipex-step")

    # -- the whole run ---------------------------------------------------------------------------------------
    async def run(self) -> tuple[RunStatus, Metrics]:
        tasks = [asyncio.create_task(self._step(spec), name=f"step:{spec.id}") for spec in self.specs]
        everything = asyncio.gather(*tasks)
        try:
            # Shielded: a cancel stops containers and lets every step record its outcome, instead of abandoning
            # worker threads mid-commit. A second cancel while we wait kills the containers at once.
            cancelled = 0
            while True:
                try:
                    await asyncio.shield(everything)
                    break
                except asyncio.CancelledError:
                    cancelled += 1
                    self.stop(self.stop_status or "cancelled", kill=cancelled > 1)
                    if everything.done():
                        break
            if cancelled:
                raise asyncio.CancelledError
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
        return self.status(), self.metrics()

    def stop(self, status: RunStatus, *, kill: bool = False) -> None:
        """Stop scheduling and stop every running container (``kill``: at once, no grace)."""
        if self.stop_status is None:
            self.stop_status = status
        if self.ctx is None:
            return
        self.ctx.cancel.set()
        loop = asyncio.get_running_loop()
        for cid in self.ctx.running.snapshot():
            loop.run_in_executor(None, self._stop_container, cid, kill)

    def _stop_container(self, cid: str, kill: bool) -> None:
        assert self.ctx is not None
        with contextlib.suppress(PipexError):
            if kill:
                self.ctx.runtime.kill(cid)
            else:
                self.ctx.runtime.stop(cid, grace=10.0)

    def status(self) -> RunStatus:
        if self.stop_status is not None:
            return self.stop_status
        failed = [o for o in self.outcomes.values() if o.state in ("failure", "timeout") and not self._allowed(o.id)]
        return "failed" if failed else "success"

    def _allowed(self, step: str) -> bool:
        return self.by_id[step].allow_failure

    def failed_steps(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.ordered() if o.state in ("failure", "timeout") and not self._allowed(o.id))

    def failure(self) -> tuple[FailureKind | None, str | None, tuple[str, ...]]:
        messages = []
        kind: FailureKind | None = None
        for o in self.ordered():
            if o.state in ("failure", "timeout") and not self._allowed(o.id):
                messages.append(f"step {o.id}: {o.message or o.state}")
                if kind is None:
                    kind = _KIND.get(o.reason or "exit", "step")
        return kind, (messages[0] if messages else None), tuple(messages)

    def ordered(self) -> list[StepOutcome]:
        return [self.outcomes.get(s.id) or StepOutcome(s.id, s.name, "pending") for s in self.specs]

    def metrics(self) -> Metrics:
        outs = self.outcomes.values()
        ran = [o for o in outs if o.state in ("success", "failure", "timeout", "cancelled")]
        return Metrics(
            ran=len(ran),
            cached=sum(o.state == "cached" for o in outs),
            skipped=sum(o.state == "skipped" for o in outs),
            failed=sum(o.state in ("failure", "timeout") for o in outs),
            would_run=sum(o.state == "would_run" for o in outs),
            peak_parallelism=self.peak,
            artifacts_bytes=sum(o.artifacts_size for o in ran),
            pull_seconds=self.images.pull_seconds,
            step_durations={o.id: o.duration for o in ran},
        )

    # -- one step --------------------------------------------------------------------------------------------
    async def _step(self, spec: StepSpec) -> None:
        try:
            for inp in spec.inputs:
                if inp.step in self.done:
                    await self.done[inp.step].wait()
            if self.stop_status is None:
                self.outcomes[spec.id] = await self._decide(spec)
        finally:
            self.done[spec.id].set()

    async def _decide(self, spec: StepSpec) -> StepOutcome:
        ref = StepRef(spec.id, spec.name)
        inputs: list[UpstreamInput] = []
        unknown_inputs: list[str] = []
        for inp in spec.inputs:
            got = self.provided.get(inp.step)
            if got is None:
                if inp.step in self.pending_digest:
                    unknown_inputs.append(inp.step)
                    continue
                if inp.optional:
                    continue
                return await self._skip(ref, "dependency")
            artifacts = self.ws.run_dir(got.run_id) / "artifacts"
            inputs.append(UpstreamInput(inp.step, got.run_id, artifacts, got.digest, inp.copy_to_output))
        if spec.condition and not check_condition(spec.condition, self.condition_env):
            return await self._skip(ref, "condition")

        image = await self._image(spec, ref)
        if isinstance(image, StepOutcome):
            return image
        forced = self.options.forced(spec.id)
        fingerprint = None
        if image is not None and not unknown_inputs:
            digests = {i.step: i.digest for i in inputs}
            if spec.mounts or spec.sources:  # hashing host trees is I/O: keep it off the event loop
                fingerprint = await asyncio.to_thread(self.fp.compute, spec, image, digests)
            else:
                fingerprint = self.fp.compute(spec, image, digests)
        prev = self.ws.state().steps.get(spec.id)
        last_ok = prev.last_success if prev else None
        if (
            fingerprint is not None
            and not forced
            and last_ok is not None
            and last_ok.fingerprint == fingerprint.value
            and self.ws.run_dir(last_ok.run_id).is_dir()
        ):
            self.provided[spec.id] = Provided(last_ok.run_id, last_ok.artifacts_digest or "")
            await self.emitter.emit_async(StepCached, step=ref, cached_run_id=last_ok.run_id)
            return StepOutcome(
                spec.id, spec.name, "cached", run_id=last_ok.run_id, artifacts_size=last_ok.artifacts_size
            )
        reasons: tuple[str, ...] = ()
        if self.options.dry_run or self.options.explain:
            reasons = tuple(
                self.fp.reasons(spec, fingerprint, last_ok, forced=forced, image=image, unknown_inputs=unknown_inputs)
            )
        if self.options.dry_run:
            self.pending_digest.add(spec.id)
            await self.emitter.emit_async(StepWouldRun, step=ref, reasons=reasons)
            return StepOutcome(spec.id, spec.name, "would_run", reason="; ".join(reasons))
        assert fingerprint is not None and image is not None and self.ctx is not None
        try:
            limits, record = self.fp.limits(spec, strict=self.options.strict_limits)
        except PipexError as exc:
            return await self._fail_early(spec, ref, "limits", exc.message, 1, time.time())
        plan = StepPlan(
            spec, image, tuple(inputs), fingerprint.value, fingerprint.parts, limits, record, fingerprint.manifests()
        )
        return await self._execute(plan, ref, reasons)

    async def _execute(self, plan: StepPlan, ref: StepRef, reasons: tuple[str, ...]) -> StepOutcome:
        assert self.ctx is not None
        await self.slots.acquire(self.order[ref.id])
        try:
            if self.stop_status is not None:
                return StepOutcome(ref.id, ref.name, "pending")
            self.running_now += 1
            self.peak = max(self.peak, self.running_now)
            await self.emitter.emit_async(StepStart, step=ref, image=plan.spec.image, reasons=reasons)
            try:
                loop = asyncio.get_running_loop()
                result: StepRun = await asyncio.shield(loop.run_in_executor(self.pool, execute, plan, self.ctx))
            finally:
                self.running_now -= 1
        finally:
            self.slots.release()
        if result.status == "success":
            self.provided[ref.id] = Provided(result.run_id, result.artifacts_digest or "")
        await self.emitter.emit_async(
            StepEnd,
            step=ref,
            attempt=result.attempt,
            status=result.status,
            exit_code=result.exit_code,
            reason=result.reason,
            step_run_id=result.run_id,
            duration=result.duration,
            artifacts_size=result.artifacts_size,
            message=result.message,
        )
        return StepOutcome(
            ref.id,
            ref.name,
            result.status,
            result.reason,
            result.exit_code,
            result.run_id,
            result.duration,
            result.artifacts_size,
            result.message,
            result.tail,
        )

    async def _fail_early(
        self, spec: StepSpec, ref: StepRef, reason: str, message: str, attempt: int, started: float
    ) -> StepOutcome:
        """A failure before any container exists: committed as a run too, so its reason stays readable."""
        run_id = None
        if self.ctx is not None:
            run_id = await asyncio.to_thread(
                record_failure, spec, self.ctx, reason=reason, message=message, attempt=attempt, started=started
            )
        duration = time.time() - started
        await self.emitter.emit_async(
            StepEnd,
            step=ref,
            attempt=attempt,
            status="failure",
            exit_code=None,
            reason=reason,
            step_run_id=run_id,
            duration=duration,
            message=message,
        )
        return StepOutcome(
            spec.id,
            spec.name,
            "failure",
            reason=reason,
            run_id=run_id,
            duration=duration,
            message=message,
            tail=(f"pipex: {message}",),
        )

    async def _skip(self, ref: StepRef, reason: Literal["dependency", "condition"]) -> StepOutcome:
        await self.emitter.emit_async(StepSkipped, step=ref, reason=reason)
        return StepOutcome(ref.id, ref.name, "skipped", reason=reason)

    async def _image(self, spec: StepSpec, ref: StepRef) -> ImageRef | StepOutcome | None:
        """The resolved image; ``None`` in a dry run that cannot resolve it; an outcome when it fails."""
        attempts = spec.retries + 1
        started = time.time()
        for attempt in range(1, attempts + 1):
            try:
                return await self.images.resolve(
                    spec.image,
                    lambda p: self.emitter.emit(
                        ImagePull, step=ref, image=p.image, status=p.status, current=p.current, total=p.total
                    ),
                )
            except PipexError as exc:
                if self.options.dry_run:
                    return None
                if attempt == attempts or self.stop_status is not None:
                    return await self._fail_early(spec, ref, "image", exc.message, attempt, started)
                delay = spec.retry_delay_ms / 1000
                await self.emitter.emit_async(
                    StepRetry, step=ref, attempt=attempt + 1, max=attempts, delay=delay, reason=exc.message
                )
                await asyncio.sleep(delay)
        return None

    def result(self, run_id: str, duration: float, status: RunStatus, metrics: Metrics) -> RunResult:
        kind, error, errors = self.failure()
        outcomes = tuple(self.ordered())
        if status in ("cancelled", "interrupted", "timeout"):
            outcomes = tuple(replace(o, state="cancelled") if o.state == "pending" else o for o in outcomes)
        return RunResult(
            run_id=run_id,
            workspace=self.ws.name,
            status=status,
            steps=outcomes,
            duration=duration,
            metrics=metrics,
            failed_steps=self.failed_steps(),
            failure_kind=kind if status == "failed" else ("timeout" if status == "timeout" else kind),
            error=error,
            errors=errors,
            dry_run=self.options.dry_run,
        )
