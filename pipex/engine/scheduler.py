"""The scheduler: a ready queue over the DAG, bounded parallelism, and the per-step decisions.

Per step, in order: a required input failed or was skipped → skipped (dependency); ``if`` false → skipped
(condition); fingerprint; cache hit → cached; ``--dry-run`` → would run; else execute in a worker thread.
A step starts as soon as all its inputs are settled and a slot is free (ties in file order: when several steps wait
for a slot, the one first in the file gets it — see ``Slots``). Steps are decided in the order of a ``ReadyQueue``;
only a step that has to wait (an image lookup, hashing host files, a container) gets a task of its own, so a dry run
or a cached re-run of 10,000 steps creates a handful of tasks, not 10,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

from pipex.engine.early import EarlyArtifacts
from pipex.engine.emitter import Emitter
from pipex.engine.events import (
    Event,
    ImagePull,
    Metrics,
    RunResult,
    RunStatus,
    RunWarning,
    StepCached,
    StepEnd,
    StepOutcome,
    StepRef,
    StepRetry,
    StepSkipped,
    StepStart,
    StepStatus,
    StepWaiting,
    StepWarning,
    StepWouldRun,
)
from pipex.engine.fanout import FanOut
from pipex.engine.fingerprint import FingerprintResult
from pipex.engine.fingerprints import Fingerprinter
from pipex.engine.gates import Gates, inputs_fingerprint
from pipex.engine.images import ImageResolver
from pipex.engine.instances import input_digests, targeted_instances
from pipex.engine.options import RunOptions
from pipex.engine.outcomes import Outcomes
from pipex.engine.plan import Provided, Release, StepContext, StepPlan, StepRun, UpstreamInput
from pipex.engine.ready import ReadyQueue, Slots
from pipex.engine.routing import Known, Unknown, all_skipped_by_condition, reads_results, upstream
from pipex.engine.storerules import ignored_entry, shareable, stored_outputs
from pipex.engine.subfanout import Replan, Replanned, SubFanOut
from pipex.engine.when import Upstream
from pipex.errors import PipexError, StoreCorrupt
from pipex.model.compose import mount_name
from pipex.model.spec import StepSpec
from pipex.runtime.base import ImageRef
from pipex.workspace.layout import Workspace

if TYPE_CHECKING:
    from pipex.store import Store

# Steps decided in one go before the event loop runs again (the consumer prints, signals are handled).
DRAIN_BATCH = 256
# Shared-cache hits materialised at once: each is a dozen small file creations that wait on the filesystem.
STORE_THREADS = 16
_UNRESOLVED: Any = object()


def takes_early(spec: StepSpec) -> bool:
    """Whether ``spec`` may start on an input handed over before its commit (early.py): a plain step (no fan-out,
    sub-pipeline or gate, which need every input settled), no mounts or sources (hashed before it starts, with the
    fingerprint), not run on failure (an input handed over succeeded)."""
    return (
        spec.fan_out is None
        and spec.pipeline is None
        and spec.gate is None
        and not spec.mounts
        and not spec.sources
        and spec.when != "failure"
    )


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
        store: Store | None = None,
        replan: Replan | None = None,
    ) -> None:
        self.specs = specs
        self.replan = replan  # a sub-pipeline known at run time: the run's steps once its list is known
        # told of the steps a sub-pipeline known at run time adds (and of the readers they change): the recorder
        self.on_steps: Callable[[str, Sequence[StepSpec], Sequence[StepSpec]], None] | None = None
        self.by_id = {s.id: s for s in specs}
        self.options = options
        self.ws = workspace
        self.emitter = emitter
        self.ctx = ctx
        self.images = images
        self.fp = fingerprinter
        self.condition_env = condition_env
        self.store = store  # the shared cache (a dry run only looks entries up in it)
        self.record = Outcomes(specs)
        self.outcomes = self.record.by_step  # step id → its outcome, as decided
        self.upstream = Upstream(specs, self.outcomes)
        self.gates = Gates(workspace, options, writable=ctx is not None)
        self.provided: dict[str, Provided] = {}
        self.pending_digest: set[str] = set()  # dry run: would run, so its artifacts are unknown
        self.only = targeted_instances(specs, options.target)  # --target 'step[key]': only those instances
        self.order = {s.id: n for n, s in enumerate(specs)}
        self.slots = Slots(options.slots)
        self.running_now = 0
        self.peak = 0
        self._warned_limits: set[str] = set()  # reasons already said (RunWarning)
        self.stop_status: RunStatus | None = None
        self.pool = ThreadPoolExecutor(max_workers=options.slots, thread_name_prefix="pipex-step")
        self._store_pool: ThreadPoolExecutor | None = None  # materialising shared-cache hits: file I/O, not CPU
        self._halts: list[threading.Thread] = []  # stops and kills in flight (see stop)
        self._queue = ReadyQueue(specs, early=self._starts_early)
        # plain steps some plain step reads: their artifacts may be handed over before their commit (early.py)
        self._early_producers = {i.step for s in specs if takes_early(s) for i in s.inputs}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finished: asyncio.Future[None] | None = None  # done when every step is settled (or on an error)
        self._drain_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()  # the steps that wait for something
        self._images: dict[str, ImageRef | None] = {}  # resolved images (None: a dry run could not resolve it)
        self._conditions: dict[str, bool] = {}  # each distinct `if` evaluated once (the environment is fixed)
        # a sub-pipeline known at run time → its steps not settled yet, and what is done when none is left
        self._watches: dict[str, tuple[set[str], asyncio.Future[None]]] = {}
        # inputs handed over early (early.py) that a dependent waits to see settled before its own end is said
        self._settling: dict[str, asyncio.Event] = {}

    # -- the whole run ---------------------------------------------------------------------------------------
    async def run(self) -> tuple[RunStatus, Metrics]:
        self._loop = asyncio.get_running_loop()
        everything = self._finished = self._loop.create_future()
        if self._queue.complete:
            everything.set_result(None)
        self._drain()
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
            if self._store_pool is not None:  # shared-cache hits are recorded without waiting (sharing.restore)
                await asyncio.to_thread(self.ws.flush)
        except Exception:
            # A fault that ends the run (a full disk): the other steps are stopped, not waited for to the end.
            self.stop(self.stop_status or "failed")
            raise
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            # The stops and kills in flight end before the run does (the runtime is closed after it); each is
            # bounded by halt's own waits.
            for thread in self._halts:
                thread.join()
            if self._store_pool is not None:
                self._store_pool.shutdown(wait=True, cancel_futures=True)
                with contextlib.suppress(OSError, PipexError):  # a run ended by an error: its hits, if it can
                    self.ws.flush()
        return self.status(), self.metrics()

    def stop(self, status: RunStatus, *, kill: bool = False) -> None:
        """Stop scheduling and stop every running container (``kill``: at once, no grace)."""
        if self.stop_status is None:
            self.stop_status = status
        if self.ctx is None:
            return
        self.ctx.cancel.set()
        # A thread per container, not the loop's shared executor: a stop may wait out its grace, and a second
        # Ctrl-C's kills must not queue behind the first one's stops.
        for cid in self.ctx.running.snapshot():
            thread = threading.Thread(
                target=self._stop_container, args=(cid, kill), name=f"pipex-halt-{cid[:12]}", daemon=True
            )
            thread.start()
            self._halts.append(thread)

    def _stop_container(self, cid: str, kill: bool) -> None:
        assert self.ctx is not None
        with contextlib.suppress(PipexError):
            self.ctx.executor.stop(cid, kill=kill)

    # -- the run's result (see outcomes.py) ---------------------------------------------------------------------
    def status(self) -> RunStatus:
        return self.record.status(self.stop_status)

    def metrics(self) -> Metrics:
        return self.record.metrics(peak=self.peak, pull_seconds=self.images.pull_seconds)

    def result(self, run_id: str, duration: float, status: RunStatus, metrics: Metrics) -> RunResult:
        self.gates.finish(run_id, status)
        result = self.record.result(
            run_id=run_id,
            workspace=self.ws.name,
            duration=duration,
            status=status,
            metrics=metrics,
            dry_run=self.options.dry_run,
        )
        return dataclasses.replace(result, resumed_from=self.gates.resumed_from)

    # -- deciding the steps -----------------------------------------------------------------------------------
    def _drain(self) -> None:
        """Decide the ready steps in queue order: at once when nothing has to be waited for, else in a task."""
        self._drain_scheduled = False
        finished = self._finished
        assert finished is not None
        for _ in range(DRAIN_BATCH):
            if finished.done():
                return
            spec = self._queue.pop()
            if spec is None:
                return
            if self.stop_status is not None:
                self._settle(spec.id)
                continue
            spec = self.by_id.get(spec.id, spec)  # a reader of a sub-pipeline inlined since it was queued
            try:
                if spec.pipeline is not None:
                    decided: StepOutcome | Coroutine[Any, Any, StepOutcome] = SubFanOut(self, spec).run()
                elif spec.fan_out is None:
                    decided = self._decide_now(spec)
                else:
                    decided = self._fan_out(spec)
            except Exception as exc:  # run() raises it
                finished.set_exception(exc)
                return
            if isinstance(decided, StepOutcome):
                self.outcomes[spec.id] = decided
                self._settle(spec.id)
            else:
                task = asyncio.create_task(self._later(spec, decided), name=f"step:{spec.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self._queue.has_ready:
            self._schedule_drain()  # the rest after the loop has run once

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _settle(self, step_id: str) -> None:
        if self._watches:
            for left, done in self._watches.values():
                left.discard(step_id)
                if not left and not done.done():
                    done.set_result(None)
        if self._queue.settle(step_id):
            self._schedule_drain()
        settling = self._settling.pop(step_id, None)
        if settling is not None:
            settling.set()
        finished = self._finished
        if self._queue.complete and finished is not None and not finished.done():
            finished.set_result(None)

    # -- a sub-pipeline known at run time (subfanout.py) ----------------------------------------------------------
    def add_steps(self, group: str, plan: Replanned) -> list[StepSpec]:
        """``group``'s steps join the run (listed under it, as a fan-out step's instances); the steps that read
        it, queued already, are decided with their new inputs (``_drain`` takes a step's spec from ``by_id``).
        Returns the new steps."""
        new = [s for s in plan.specs if s.id.startswith(f"{group}[")]  # not the steps --target left out
        changed = [s for s in plan.specs if s.id in self.by_id and s != self.by_id[s.id]]
        for spec in (*new, *changed):
            self.by_id[spec.id] = spec
            self.upstream.inputs[spec.id] = tuple(i.step for i in spec.inputs)
        rank = self.order[group]
        for spec in new:
            self.order[spec.id] = rank
        self.options = dataclasses.replace(self.options, force=plan.force)
        if self.on_steps is not None:
            self.on_steps(group, new, changed)
        self._queue.add(new)
        self._schedule_drain()
        return new

    def settled(self, group: str, ids: list[str]) -> asyncio.Future[None]:
        """Done when every one of ``ids`` has settled."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        left = set(ids) - self._queue.settled
        if left:
            self._watches[group] = (left, done)
        else:
            done.set_result(None)
        return done

    async def _later(self, spec: StepSpec, decision: Coroutine[Any, Any, StepOutcome]) -> None:
        try:
            self.outcomes[spec.id] = await decision
        except Exception as exc:  # run() raises it
            # A step handed over early (``_handed_over``) whose run could not be recorded: not the success its
            # dependents were decided on, and not what the run's result shows.
            self.outcomes.pop(spec.id, None)
            self.provided.pop(spec.id, None)
            if self._finished is not None and not self._finished.done():
                self._finished.set_exception(exc)
        finally:
            self._settle(spec.id)

    def _decide_now(self, spec: StepSpec) -> StepOutcome | Coroutine[Any, Any, StepOutcome]:
        """The step's outcome when it can be decided without waiting, else the coroutine that decides it."""
        ref = StepRef(spec.id, spec.name)
        early = self._inputs_and_condition(spec, ref)
        if isinstance(early, StepOutcome):
            return early
        inputs, unknown_inputs, reads = early
        if spec.gate is not None:
            return self._gate(spec, ref, inputs, unknown_inputs)
        handed = [i.early for i in inputs if i.early is not None]  # inputs not recorded yet (early.py)
        if handed and not self._may_start_early(spec):
            return self._after_recorded(spec, ref, handed)
        image = self._images.get(spec.image, _UNRESOLVED)
        if image is _UNRESOLVED or (image is not None and not unknown_inputs and (spec.mounts or spec.sources)):
            return self._decide_later(spec, ref, inputs, unknown_inputs, reads)
        fingerprint = None
        if image is not None and not unknown_inputs and not handed:
            fingerprint = self.fp.compute(spec, image, input_digests(inputs), reads)
        concluded = self._conclude(spec, ref, image, fingerprint, unknown_inputs)
        if isinstance(concluded, StepOutcome):
            return concluded
        return self._start(spec, ref, image, fingerprint, inputs, concluded, reads)

    async def _decide_later(
        self,
        spec: StepSpec,
        ref: StepRef,
        inputs: list[UpstreamInput],
        unknown_inputs: list[str],
        reads: Mapping[str, Any],
    ) -> StepOutcome:
        image = await self._image(spec, ref)
        if isinstance(image, StepOutcome):
            return image
        fingerprint = None
        if image is not None and not unknown_inputs and not any(i.early for i in inputs):
            digests = input_digests(inputs)
            if spec.mounts or spec.sources:  # hashing host trees is I/O: keep it off the event loop
                fingerprint = await asyncio.to_thread(self.fp.compute, spec, image, digests, reads)
            else:
                fingerprint = self.fp.compute(spec, image, digests, reads)
        concluded = self._conclude(spec, ref, image, fingerprint, unknown_inputs)
        if isinstance(concluded, StepOutcome):
            return concluded
        return await self._start(spec, ref, image, fingerprint, inputs, concluded, reads)

    # -- dependents that start while their inputs are hashed (early.py) ------------------------------------------
    def _may_start_early(self, spec: StepSpec) -> bool:
        """Whether ``spec`` may start before its inputs' digests are known: only when it cannot be a cache hit (it
        is forced, or has no run to be cached by, and the shared cache is not asked), and nothing needs its
        fingerprint before it runs (``--explain`` prints why it runs)."""
        if self.options.dry_run or self.options.explain:
            return False
        if self.store is not None and shareable(spec):
            return False
        if self.options.forced(spec.id):
            return True
        prev = self.ws.state().steps.get(spec.id)
        last_ok = prev.last_success if prev else None
        return last_ok is None or not self.ws.run_dir(last_ok.run_id).is_dir()

    def _starts_early(self, spec: StepSpec) -> bool:
        """The steps an input handed over early wakes; the others wait for it to settle, as before."""
        return takes_early(spec) and self._may_start_early(spec)

    async def _after_recorded(self, spec: StepSpec, ref: StepRef, handed: list[EarlyArtifacts]) -> StepOutcome:
        """A dependent that could be a cache hit after all (``--force`` changed by a sub-pipeline known at run time):
        decided as before, once its inputs are recorded."""
        try:
            for early in handed:
                await asyncio.wrap_future(early.recorded)
        except Exception:  # the input's run was never recorded: the run is ending on that fault
            return self._skip(ref, "dependency")
        decided = self._decide_now(spec)
        return decided if isinstance(decided, StepOutcome) else await decided

    def _release(self, spec: StepSpec) -> Release | None:
        """How a plain step that a plain step reads hands its artifacts over early, where the executor tells when a
        container has mounted them."""
        if spec.id not in self._early_producers or self.ctx is None or not self.ctx.executor.tells_started:
            return None
        return Release(self.options.early_bytes, functools.partial(self._hand_over, spec.id))

    def _hand_over(self, step_id: str, early: EarlyArtifacts, outputs: Mapping[str, Any]) -> None:
        """From the step's worker thread: its artifacts are final, their digest begun."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._handed_over, step_id, early, outputs)

    def _handed_over(self, step_id: str, early: EarlyArtifacts, outputs: Mapping[str, Any]) -> None:
        if self.stop_status is not None or step_id in self._queue.settled:
            return
        # As a success for the dependents' decisions (``when``, conditions on its outputs): it succeeded; only
        # its record is to come, and a run whose record fails ends on that fault.
        self.provided[step_id] = Provided(early.run_id, "", outputs, early=early)
        spec = self.by_id[step_id]
        self.outcomes[step_id] = StepOutcome(step_id, spec.name, "success", run_id=early.run_id, outputs=outputs)
        if self._queue.release(step_id):
            self._schedule_drain()

    def _settled_plan(self, reads: Mapping[str, Any], plan: StepPlan) -> StepPlan:
        """From the dependent's worker thread, after its container ended: its inputs recorded, its fingerprint."""
        inputs = tuple(i.settled() for i in plan.inputs)
        fingerprint = self.fp.compute(plan.spec, plan.image, input_digests(inputs), reads)
        return dataclasses.replace(
            plan,
            inputs=inputs,
            fingerprint=fingerprint.value,
            fingerprint_parts=fingerprint.parts,
            manifests=fingerprint.manifests(),
            settle=None,
        )

    def _inputs_and_condition(
        self, spec: StepSpec, ref: StepRef
    ) -> StepOutcome | tuple[list[UpstreamInput], list[str], Mapping[str, Any]]:
        """The upstream inputs (and those a dry run cannot know yet) and the upstream outputs the condition read
        (they enter the fingerprint), or the outcome of a skipped step."""
        inputs: list[UpstreamInput] = []
        unknown_inputs: list[str] = []
        missing: list[str] = []
        if spec.when == "success" and spec.inputs and all_skipped_by_condition(spec, self.outcomes):
            return self._skip(ref, "condition")  # the join after a switch none of whose branches ran
        for inp in spec.inputs:
            got = self.provided.get(inp.step)
            if got is None:
                if inp.step in self.pending_digest:
                    unknown_inputs.append(inp.step)
                elif not inp.optional:
                    missing.append(inp.step)
                continue
            name = mount_name(spec.id, inp.step) if "." in inp.step else None
            if got.instances:  # fan-in: every instance, at /input/<step>/<key>/
                for key, run_id, digest in got.instances:
                    # "": a dry run's store hit, which has no run here (only its digest counts in a dry run)
                    artifacts = self.ws.run_dir(run_id) / "artifacts" if run_id else self.ws.path
                    inputs.append(
                        UpstreamInput(inp.step, run_id, artifacts, digest, inp.copy_to_output, name, instance=key)
                    )
                continue
            artifacts = self.ws.run_dir(got.run_id) / "artifacts" if got.run_id else self.ws.path  # "": a gate
            digest, early = got.digest, got.early
            if early is not None and early.recorded.done() and early.recorded.exception() is None:
                digest, early = early.recorded.result(), None  # recorded since it was handed over
            inputs.append(UpstreamInput(inp.step, got.run_id, artifacts, digest, inp.copy_to_output, name, early=early))
        verdict = self.upstream.verdict(spec, missing)  # `when`: see when.py
        if verdict == "held":  # below an approval gate that waits: neither run nor skipped
            return StepOutcome(spec.id, spec.name, "pending", reason="approval")
        if verdict != "run":
            return self._skip(ref, verdict)
        reads: Mapping[str, Any] = {}
        if spec.condition and reads_results(spec):
            known = upstream(spec, self.outcomes, {k: v.outputs for k, v in self.provided.items()}, self.pending_digest)
            if isinstance(known, Unknown):
                return self._would_run_unknown(spec, ref, known)
            if not self._holds_for(spec.condition, known):
                return self._skip(ref, "condition")
            reads = known.reads
        elif spec.condition and not self._holds(spec.condition):
            return self._skip(ref, "condition")
        return inputs, unknown_inputs, reads

    def _fan_out(self, spec: StepSpec) -> Coroutine[Any, Any, StepOutcome]:
        """A matrix/foreach step: its instances decided and run as steps, its outcome theirs (see fanout.py)."""
        return FanOut(self, spec).run()

    def _holds_for(self, condition: str, known: Known) -> bool:
        """A condition over upstream results: evaluated for this step's inputs, never cached across steps."""
        # start-up: the `if` language only for pipelines with conditions
        from pipex.model.handwritten.condition import check as check_condition

        return check_condition(condition, self.condition_env, known.steps)

    def _would_run_unknown(self, spec: StepSpec, ref: StepRef, unknown: Unknown) -> StepOutcome:
        """A dry run cannot evaluate a condition over a result that does not exist yet: say so."""
        self.pending_digest.add(spec.id)
        self._emit(StepWouldRun, step=ref, reasons=(unknown.reason,))
        return StepOutcome(spec.id, spec.name, "would_run", reason=unknown.reason)

    def _holds(self, condition: str) -> bool:
        holds = self._conditions.get(condition)
        if holds is None:
            # Imported when a step has a condition: the `if` language is ~10 ms of imports most pipelines skip.
            from pipex.model.handwritten.condition import check as check_condition

            holds = self._conditions[condition] = check_condition(condition, self.condition_env)
        return holds

    def _conclude(
        self,
        spec: StepSpec,
        ref: StepRef,
        image: ImageRef | None,
        fingerprint: FingerprintResult | None,
        unknown_inputs: list[str],
    ) -> StepOutcome | tuple[str, ...]:
        """Cached or would run (the outcome), else the reasons to run it."""
        forced = self.options.forced(spec.id)
        prev = self.ws.state().steps.get(spec.id)
        last_ok = prev.last_success if prev else None
        if (
            fingerprint is not None
            and not forced
            and last_ok is not None
            and last_ok.fingerprint == fingerprint.value
            and self.ws.run_dir(last_ok.run_id).is_dir()
        ):
            # A cached step keeps its run's outputs (read from its meta.json only when it wrote some).
            kept = self._kept_outputs(last_ok.run_id) if last_ok.has_outputs else {}
            self.provided[spec.id] = Provided(last_ok.run_id, last_ok.artifacts_digest or "", kept)
            self._emit(StepCached, step=ref, cached_run_id=last_ok.run_id, outputs=kept)
            return StepOutcome(
                spec.id,
                spec.name,
                "cached",
                run_id=last_ok.run_id,
                artifacts_size=last_ok.artifacts_size,
                outputs=kept,
            )
        reasons: tuple[str, ...] = ()
        if self.options.dry_run or self.options.explain:
            reasons = tuple(
                self.fp.reasons(spec, fingerprint, last_ok, forced=forced, image=image, unknown_inputs=unknown_inputs)
            )
        if self.options.dry_run and not self._in_store(spec, fingerprint):
            return self._would_run(spec, ref, reasons)
        return reasons  # run it (or, in a dry run, look it up in the shared cache first: _start)

    def _in_store(self, spec: StepSpec, fingerprint: FingerprintResult | None) -> bool:
        """Whether the shared cache is to be asked for the step (the same rule for a run and a dry run)."""
        if self.store is None or fingerprint is None or self.options.forced(spec.id):
            return False
        return shareable(spec)

    def _would_run(self, spec: StepSpec, ref: StepRef, reasons: tuple[str, ...]) -> StepOutcome:
        self.pending_digest.add(spec.id)
        self._emit(StepWouldRun, step=ref, reasons=reasons)
        return StepOutcome(spec.id, spec.name, "would_run", reason="; ".join(reasons))

    async def _peek_store(
        self, spec: StepSpec, ref: StepRef, fingerprint: str, reasons: tuple[str, ...]
    ) -> StepOutcome:
        """A dry run's look into the shared cache: ``cached (store)`` when a real run would materialise the step
        from it (the entry is only checked, never fetched: see ``Store.peek``), else would run."""
        assert self.store is not None
        try:
            peeked = await asyncio.to_thread(self.store.peek, fingerprint)
            kept = stored_outputs(peeked.meta, spec) if peeked is not None else {}
        except (StoreCorrupt, OSError) as exc:  # said as a real run says it; the real run would run the step
            await self.emitter.emit_async(StepWarning, step=ref, message=ignored_entry(fingerprint, exc))
            peeked = None
        if peeked is None:
            return self._would_run(spec, ref, reasons)
        # Its artifacts digest and outputs are the record's: dependents get the fingerprints and the conditions a
        # real run would give them.
        self.provided[spec.id] = Provided("", peeked.artifacts_digest, kept)
        await self.emitter.emit_async(StepCached, step=ref, cached_run_id="", source="store", outputs=kept)
        return StepOutcome(spec.id, spec.name, "cached", artifacts_size=peeked.artifacts_size, outputs=kept)

    async def _start(
        self,
        spec: StepSpec,
        ref: StepRef,
        image: ImageRef | None,
        fingerprint: FingerprintResult | None,
        inputs: list[UpstreamInput],
        reasons: tuple[str, ...],
        reads: Mapping[str, Any] | None = None,
    ) -> StepOutcome:
        """``fingerprint`` ``None``: an input is not recorded yet; the runner computes it once it is."""
        assert image is not None
        if self.options.dry_run:
            assert fingerprint is not None
            return await self._peek_store(spec, ref, fingerprint.value, reasons)
        assert self.ctx is not None
        try:
            limits, record = self.fp.limits(spec, strict=self.options.strict_limits)
        except PipexError as exc:
            return await self._fail_early(spec, ref, "limits", exc.message, 1, time.time())
        self._warn_ignored_limits(ref, record)
        release = self._release(spec)
        if fingerprint is None:
            settle = functools.partial(self._settled_plan, reads or {})
            plan = StepPlan(spec, image, tuple(inputs), "", {}, limits, record, release=release, settle=settle)
        else:
            plan = StepPlan(
                spec,
                image,
                tuple(inputs),
                fingerprint.value,
                fingerprint.parts,
                limits,
                record,
                fingerprint.manifests(),
                release=release,
            )
        if self._in_store(spec, fingerprint):
            hit = await self._from_store(plan, ref)
            if hit is not None:
                return hit
        return await self._execute(plan, ref, reasons)

    def _warn_ignored_limits(self, ref: StepRef, record: Mapping[str, Any]) -> None:
        """Limits the engine will ignore: one warning per reason and run (``meta.json`` has every step's)."""
        ignored = {name: entry for name, entry in record.items() if not entry.get("enforced", True)}
        reasons = sorted({str(entry.get("reason", "")) for entry in ignored.values()} - self._warned_limits)
        for reason in reasons:
            self._warned_limits.add(reason)
            names = ", ".join(n for n, e in ignored.items() if e.get("reason") == reason)
            self._emit(
                RunWarning,
                step=ref,
                message=f"resource limits not enforced ({names} of step {ref.id}, and any later step): {reason}; "
                "--strict-limits makes this an error",
            )

    async def _from_store(self, plan: StepPlan, ref: StepRef) -> StepOutcome | None:
        """A local miss the shared cache has: materialised as a committed run of this workspace, shown as cached."""
        assert self.ctx is not None
        from pipex.engine.sharing import restore  # only a run with a cache store needs it

        if self._store_pool is None:
            self._store_pool = ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="pipex-store")
        got = await asyncio.get_running_loop().run_in_executor(self._store_pool, restore, plan, self.ctx)
        if got is None:
            return None
        self.provided[ref.id] = Provided(got.run_id, got.artifacts_digest or "", got.outputs)
        await self.emitter.emit_async(
            StepCached, step=ref, cached_run_id=got.run_id, source="store", outputs=got.outputs
        )
        return StepOutcome(
            ref.id, ref.name, "cached", run_id=got.run_id, artifacts_size=got.artifacts_size, outputs=got.outputs
        )

    def _kept_outputs(self, run_id: str) -> Mapping[str, Any]:
        try:
            found = self.ws.read_meta(run_id).get("outputs")
        except PipexError:
            return {}
        return found if isinstance(found, dict) else {}

    def _emit(self, cls: type[Event], **fields: Any) -> None:
        """Emit from the event loop outside a coroutine (``emit`` would block on a full buffer the loop itself
        must drain)."""
        self.emitter.emit_nowait(cls, **fields)

    async def _execute(self, plan: StepPlan, ref: StepRef, reasons: tuple[str, ...]) -> StepOutcome:
        assert self.ctx is not None
        await self.slots.acquire(self.order.get(ref.id) or self.order.get(ref.id.rpartition("[")[0], 0))
        try:
            if self.stop_status is not None:
                return StepOutcome(ref.id, ref.name, "pending")
            self.running_now += 1
            self.peak = max(self.peak, self.running_now)
            await self.emitter.emit_async(StepStart, step=ref, image=plan.spec.image, reasons=reasons)
            try:
                from pipex.engine.runner import execute  # only a run that starts a container needs the runner

                loop = asyncio.get_running_loop()
                result: StepRun = await asyncio.shield(loop.run_in_executor(self.pool, execute, plan, self.ctx))
            finally:
                self.running_now -= 1
        finally:
            self.slots.release()
        for inp in plan.inputs:
            # Started on an input handed over early: its end is said after that input's (which may still be
            # pushing its run to a cache store), as when it waited for the input.
            if inp.early is not None and inp.step not in self._queue.settled:
                await self._settling.setdefault(inp.step, asyncio.Event()).wait()
        if result.status == "success":
            self.provided[ref.id] = Provided(result.run_id, result.artifacts_digest or "", result.outputs)
        else:
            self.provided.pop(ref.id, None)  # handed over early, then not recorded as a success
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
            setup_seconds=result.setup_seconds,
            outputs=result.outputs,
            job=result.job,
            node=result.node,
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
            outputs=result.outputs,
        )

    async def _fail_early(
        self, spec: StepSpec, ref: StepRef, reason: str, message: str, attempt: int, started: float
    ) -> StepOutcome:
        """A failure before any container exists: committed as a run too, so its reason stays readable."""
        run_id = None
        if self.ctx is not None:
            # start-up: only a run that fails early needs the runner
            from pipex.engine.runner import record_failure

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

    def _gate(
        self, spec: StepSpec, ref: StepRef, inputs: list[UpstreamInput], unknown_inputs: list[str]
    ) -> StepOutcome:
        """An approval gate (gates.py): passes, fails (``rejected``) or waits; never a container."""
        digests = {i.step: i.digest for i in inputs}
        run_id = self.ctx.run_id if self.ctx is not None else ""
        verdict, message = self.gates.decide(spec, digests, run_id, complete=not unknown_inputs)
        if verdict == "waiting":
            self._emit(StepWaiting, step=ref, message=message)
            return StepOutcome(spec.id, spec.name, "waiting", reason="approval", message=message)
        ok = verdict == "approved"
        if ok:  # dependents run; nothing to mount (no run id), its inputs' fingerprint enters theirs
            self.provided[spec.id] = Provided("", inputs_fingerprint(spec, digests))
        status: StepStatus = "success" if ok else "failure"
        reason = None if ok else "rejected"
        self._emit(StepEnd, step=ref, status=status, exit_code=None, reason=reason, step_run_id=None, duration=0.0,
                   message=message)  # fmt: skip
        return StepOutcome(spec.id, spec.name, status, reason=reason, message=message, tail=() if ok else (message,))

    def _skip(self, ref: StepRef, reason: Literal["dependency", "condition"]) -> StepOutcome:
        self._emit(StepSkipped, step=ref, reason=reason)
        return StepOutcome(ref.id, ref.name, "skipped", reason=reason)

    async def _image(self, spec: StepSpec, ref: StepRef) -> ImageRef | StepOutcome | None:
        """The resolved image; ``None`` in a dry run that cannot resolve it; an outcome when it fails."""
        attempts = spec.retries + 1
        started = time.time()
        for attempt in range(1, attempts + 1):
            try:
                image = self._images[spec.image] = await self.images.resolve(
                    spec.image,
                    lambda p: self.emitter.emit(
                        ImagePull, step=ref, image=p.image, status=p.status, current=p.current, total=p.total
                    ),
                )
                return image
            except PipexError as exc:
                if self.options.dry_run:
                    self._images[spec.image] = None  # looked up once: the next steps say why at once
                    return None
                if attempt == attempts or self.stop_status is not None:
                    return await self._fail_early(spec, ref, "image", exc.message, attempt, started)
                delay = spec.retry_delay_ms / 1000
                await self.emitter.emit_async(
                    StepRetry, step=ref, attempt=attempt + 1, max=attempts, delay=delay, reason=exc.message
                )
                await asyncio.sleep(delay)
        return None
