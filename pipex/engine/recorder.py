"""The pipeline-run record of one ``pipex run``, built from the run's events (``pipex.workspace.records``).

The recorder is the emitter's observer: it sees every event synchronously (but the output lines, which it does
not record), in ``seq`` order, even after the consumer has gone, so the record is completed in every case that
ends with a ``PipelineEnd``. It only updates
memory there; a writer thread replaces the record on disk after each settled step (at most every
``interval`` seconds, so 1,000 cached steps do not mean 1,000 fsyncs), and the ``PipelineEnd`` writes the
final record before the event reaches the consumer. If pipex dies, the last record written stays ``running``
and readers see it as ``interrupted`` (its writer no longer holds the workspace lock).

Timings come from the events: a step is *queued* from the moment its last input settled (or the run started)
to its ``StepStart``; *pulling* spans its ``ImagePull`` events; *setup* is ``StepEnd.setup_seconds``; the rest
of its time until ``StepEnd`` is *running* (retried attempts and their delays included, shown as segments).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pipex.engine.events import (
    Event,
    ImagePull,
    PipelineEnd,
    PipelineStart,
    RunResult,
    StepCached,
    StepEnd,
    StepEvent,
    StepLog,
    StepOutcome,
    StepRef,
    StepRetry,
    StepSkipped,
    StepStart,
)
from pipex.engine.options import RunOptions
from pipex.errors import PipexError
from pipex.model.pipeline import Pipeline
from pipex.model.spec import StepSpec
from pipex.version import __version__
from pipex.workspace import records
from pipex.workspace.layout import Workspace

INTERVAL = 0.5  # seconds between two writes of a live record

# StepOutcome.state → the record's outcome
_OUTCOME = {
    "success": "ran",
    "failure": "failed",
    "timeout": "failed",
    "cancelled": "cancelled",
    "cached": "cached",
    "skipped": "skipped",
    "pending": "waiting",
    "waiting": "waiting",  # an approval gate
}


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Step:
    spec: StepSpec
    outcome: str = "waiting"
    status: str | None = None
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None
    step_run_id: str | None = None
    image: str = ""
    attempts: int = 0
    artifacts_size: int = 0
    setup: float = 0.0
    started: datetime | None = None
    ended: datetime | None = None
    pull: list[datetime] = field(default_factory=list)  # first and last ImagePull
    retries: list[tuple[datetime, float]] = field(default_factory=list)  # (failed attempt's end, delay)
    outputs: dict[str, Any] = field(default_factory=dict)  # what the run wrote to $PIPEX_OUTPUT


class Recorder:
    """``Recorder(...)`` is the emitter's ``observer``; ``close`` stops the writer (``PipelineEnd`` does it)."""

    def __init__(
        self,
        ws: Workspace,
        run_id: str,
        pipeline: Pipeline,
        specs: Sequence[StepSpec],
        options: RunOptions,
        *,
        interval: float = INTERVAL,
    ) -> None:
        self.ws = ws
        self.run_id = run_id
        self.interval = interval
        self.head = _head(ws, run_id, pipeline, options)
        self.steps = {s.id: _Step(s) for s in specs}
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.result: RunResult | None = None
        self.error: str | None = None  # why the record could not be written (the run goes on regardless)
        self._lock = threading.Lock()  # the state above, between the observer and the writer thread
        self._write_lock = threading.Lock()  # one write at a time (they share the temp file name)
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._writer: threading.Thread | None = None
        self._enforced: dict[str, dict[str, Any]] = {}  # step id → its run's limits and their enforcement
        self._groups: set[str] = set()  # fan-out steps whose instances are recorded (they stand for the step)

    # -- the observer ----------------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if type(event) is StepLog:  # the bulk of all events: nothing to record
            return
        if isinstance(event, PipelineEnd):
            self._end(event)
            return
        with self._lock:
            settled = self._apply(event)
        if isinstance(event, PipelineStart):
            self._write()  # the record exists from the start, ``running``
            self._writer = threading.Thread(target=self._write_loop, name="pipex-record", daemon=True)
            self._writer.start()
        elif settled:
            self._dirty.set()

    def _apply(self, event: Event) -> bool:
        """Update memory; whether a step changed state (worth a write)."""
        if isinstance(event, PipelineStart):
            self.started = event.ts
            return True
        step = self._of(event.step) if isinstance(event, StepEvent) else None
        if step is None:
            return False
        if isinstance(event, ImagePull):
            step.pull[1:] = [event.ts]
            if len(step.pull) == 1:
                step.pull.append(event.ts)
            return False
        if isinstance(event, StepStart):
            step.outcome, step.started, step.image, step.attempts = "running", event.ts, event.image, 1
        elif isinstance(event, StepRetry):
            step.retries.append((event.ts, event.delay))
            step.attempts = event.attempt
            return False
        elif isinstance(event, StepCached):
            step.outcome, step.ended, step.step_run_id = "cached", event.ts, event.cached_run_id
            step.outputs = dict(event.outputs)
        elif isinstance(event, StepSkipped):
            step.outcome, step.ended, step.reason = "skipped", event.ts, event.reason
        elif isinstance(event, StepEnd):
            step.outcome = _OUTCOME.get(event.status, "failed")
            step.status, step.reason, step.message = event.status, event.reason, event.message
            step.exit_code, step.step_run_id, step.attempts = event.exit_code, event.step_run_id, event.attempt
            step.artifacts_size, step.setup, step.ended = event.artifacts_size, event.setup_seconds, event.ts
            step.outputs = dict(event.outputs)
        return True

    def expand(self, group: str, added: Sequence[StepSpec], changed: Sequence[StepSpec]) -> None:
        """A sub-pipeline known at run time (subfanout.py): its steps recorded in its place, its readers with
        their new inputs."""
        with self._lock:
            steps: dict[str, _Step] = {}
            for sid, step in self.steps.items():
                steps[sid] = step
                if sid == group:
                    steps.update((spec.id, _Step(spec)) for spec in added)
            for spec in changed:
                if spec.id in steps:
                    steps[spec.id].spec = spec
            self.steps = steps
            self._groups.add(group)

    def _of(self, ref: StepRef) -> _Step | None:
        """The record of a step, or of an instance of a fan-out step (made on its first event, in its group)."""
        step = self.steps.get(ref.id)
        if step is None and ref.id.endswith("]"):
            group = self.steps.get(ref.id.rpartition("[")[0])
            if group is not None:
                key = ref.id.rpartition("[")[2][:-1]
                spec = replace(group.spec, id=ref.id, name=ref.name, instance=key, group=group.spec.id, fan_out=None)
                step = self.steps[ref.id] = _Step(spec)
                self._groups.add(group.spec.id)
        return step

    def _end(self, event: PipelineEnd) -> None:
        with self._lock:
            self.result, self.ended = event.result, event.ts
            if self.started is None:
                self.started = event.ts
            for outcome in event.result.steps:
                self._settle(outcome)
        self.close()
        self._write()

    def _settle(self, o: StepOutcome) -> None:
        """The result's word on each step is final (steps never decided, sizes of cached steps)."""
        step = self.steps.get(o.id)
        if step is None:
            return
        step.outcome = _OUTCOME.get(o.state, step.outcome)
        step.status = step.status or (o.state if o.state in ("success", "failure", "timeout", "cancelled") else None)
        step.reason = step.reason or o.reason
        step.message = step.message or o.message
        step.step_run_id = step.step_run_id or o.run_id
        step.artifacts_size = step.artifacts_size or o.artifacts_size
        if step.exit_code is None:
            step.exit_code = o.exit_code

    def close(self) -> None:
        """Stop the writer thread (the caller writes the final record)."""
        self._closed.set()
        self._dirty.set()
        writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join()

    # -- writing ---------------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while not self._closed.is_set():
            self._dirty.wait()
            if self._closed.is_set():
                return
            self._dirty.clear()
            started = time.monotonic()
            self._write()
            # At most one write per interval, and writing at most a tenth of the time (a 10,000-step record is
            # megabytes); a close ends the wait.
            self._closed.wait(max(self.interval, 10 * (time.monotonic() - started)))

    def _write(self) -> None:
        with self._write_lock:
            self._read_enforcement()
            with self._lock:
                data = self.snapshot()
            try:
                records.write(self.ws, data)
            except OSError as exc:  # a full disk must not fail the run: the record is a by-product
                self.error = f"cannot write the run record: {exc.strerror or exc}"

    def _read_enforcement(self) -> None:
        """Whether the engine enforced a step's limits is in its run's meta.json: read once per step that ran."""
        with self._lock:
            todo = [
                (s.spec.id, s.step_run_id)
                for s in self.steps.values()
                if s.spec.resources is not None and s.step_run_id and s.status and s.spec.id not in self._enforced
            ]
        for step_id, run_id in todo:
            try:
                found = self.ws.read_meta(run_id).get("resources")
            except PipexError:
                found = None
            with self._lock:
                self._enforced[step_id] = found if isinstance(found, dict) else {}

    def snapshot(self) -> dict[str, Any]:
        """The record as of now (called with ``_lock`` held)."""
        data = dict(self.head)
        origin = self.started
        steps = [self._step(s, origin) for s in self.steps.values() if s.spec.id not in self._groups]
        data.update(
            status="running",
            startedAt=_iso(self.started),
            endedAt=None,
            durationMs=None,
            failureKind=None,
            failureSource=None,
            failedStep=None,
            error=None,
            failedSteps=[],
            waiting=[],
            peakParallelism=0,
            steps=steps,
            counts=records.count(steps),
        )
        if self.result is not None:
            r = self.result
            data.update(
                status=r.status,
                endedAt=_iso(self.ended),
                durationMs=round(r.duration * 1000),
                failureKind=r.failure_kind,
                failureSource=r.failure_source,
                failedStep=r.failed_step,
                error=r.error,
                failedSteps=list(r.failed_steps),
                waiting=list(r.waiting),  # approval gates: status suspended
                resumedFrom=r.resumed_from,
                peakParallelism=r.metrics.peak_parallelism,
            )
        return data

    def _ready(self, step: _Step) -> datetime | None:
        """When the step's last input in this run settled (the run's start for a step without any); never after
        the step started (an input handed over before it ended: engine/early.py)."""
        ready = self.started
        for inp in step.spec.inputs:
            up = self.steps.get(inp.step)
            if up is not None and up.ended is not None and (ready is None or up.ended > ready):
                ready = up.ended
        if ready is not None and step.started is not None and ready > step.started:
            return step.started
        return ready

    def _step(self, step: _Step, origin: datetime | None) -> dict[str, Any]:
        spec = step.spec

        def ms(ts: datetime | None) -> int | None:
            return None if ts is None or origin is None else round((ts - origin).total_seconds() * 1000)

        ready = self._ready(step) if step.outcome != "waiting" else None
        segments: list[dict[str, Any]] = []
        timings = {"queuedMs": 0, "pullingMs": 0, "setupMs": 0, "runningMs": 0}

        def segment(phase: str, start: datetime | None, end: datetime | None) -> None:
            a, b = ms(start), ms(end)
            if a is not None and b is not None and b >= a:
                segments.append({"phase": phase, "startMs": a, "endMs": b})

        if ready is not None and step.started is not None:
            timings["queuedMs"] = max(0, round((step.started - ready).total_seconds() * 1000))
            segment("queued", ready, step.started)
        if len(step.pull) == 2:
            timings["pullingMs"] = round((step.pull[1] - step.pull[0]).total_seconds() * 1000)
            timings["queuedMs"] = max(0, timings["queuedMs"] - timings["pullingMs"])
            segment("pull", step.pull[0], step.pull[1])
        if step.started is not None:
            attempt_start = step.started
            for failed_at, delay in step.retries:  # each failed attempt, then its delay
                segment("attempt", attempt_start, failed_at)
                ms_after = ms(failed_at)
                if ms_after is not None:
                    segments.append({"phase": "delay", "startMs": ms_after, "endMs": ms_after + round(delay * 1000)})
                attempt_start = failed_at + timedelta(seconds=delay)
            end = step.ended
            setup_ms = round(step.setup * 1000)
            timings["setupMs"] = setup_ms
            start_ms = ms(attempt_start)
            if setup_ms and start_ms is not None:
                segments.append({"phase": "setup", "startMs": start_ms, "endMs": start_ms + setup_ms})
                start_ms += setup_ms
            end_ms = ms(end)
            if start_ms is not None and end_ms is not None and end_ms >= start_ms:
                segments.append({"phase": "run", "startMs": start_ms, "endMs": end_ms})
            if end is not None:
                total = round((end - step.started).total_seconds() * 1000)
                timings["runningMs"] = max(0, total - setup_ms)
        return {
            "id": spec.id,
            "name": spec.name,
            "group": spec.group,  # a fan-out instance's step (sub-pipelines will name theirs here too)
            "kind": "kit" if spec.kit is not None else "image",
            "image": step.image or spec.image,
            "inputs": [{"step": i.step, "optional": i.optional, "copyToOutput": i.copy_to_output} for i in spec.inputs],
            "conditional": spec.condition is not None,
            "allowFailure": spec.allow_failure,
            "outcome": step.outcome,
            "status": step.status,
            "reason": step.reason,
            "message": step.message,
            "stepRunId": step.step_run_id,
            "exitCode": step.exit_code,
            "attempts": step.attempts,
            "artifactsSize": step.artifacts_size,
            "outputs": step.outputs,
            "resources": self._enforced.get(spec.id) or _resources(spec),
            "readyAt": _iso(ready),
            "startedAt": _iso(step.started),
            "endedAt": _iso(step.ended),
            "timings": timings,
            "segments": segments,
        }


def _resources(spec: StepSpec) -> dict[str, Any]:
    """The declared limits, before the step's run says whether the engine enforced them."""
    res = spec.resources
    if res is None:
        return {}
    found = {"cpus": res.cpus, "memory": res.memory, "pids": res.pids}
    return {k: {"value": v} for k, v in found.items() if v is not None}


def _head(ws: Workspace, run_id: str, pipeline: Pipeline, options: RunOptions) -> dict[str, Any]:
    """What does not change during the run."""
    source = pipeline.source
    digest = None
    if source is not None and source.is_file():
        try:
            digest = "sha256:" + hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError:
            digest = None
    force: bool | list[str] = options.force if isinstance(options.force, bool) else list(options.force)
    return {
        "version": records.VERSION,
        "runId": run_id,
        "workspace": ws.name,
        "workdir": str(ws.workdir),
        "pipeline": {
            "id": pipeline.id,
            "name": pipeline.name,
            "file": None if source is None else str(source),
            "digest": digest,
        },
        "options": {
            "force": force,
            "target": list(options.target),
            "executor": "local",
            "concurrency": options.concurrency,
            "pull": options.pull,
            "timeout": options.timeout,
            "explain": options.explain,
            "strictLimits": options.strict_limits,
        },
        "pid": os.getpid(),
        "pipexVersion": __version__,
    }
