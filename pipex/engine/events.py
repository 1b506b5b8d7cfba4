"""Typed events of a run and its terminal record.

One frozen dataclass per kind; every event has ``run_id`` (one per ``Engine.run`` call),
``seq`` (monotonic: the authoritative order), ``ts`` (UTC) and ``workspace``; step events add ``step`` and
``attempt``. Exactly one ``PipelineEnd`` ends every stream. ``to_json`` renders the stable ``--json`` line schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RunStatus = Literal["success", "failed", "timeout", "cancelled", "interrupted"]
StepStatus = Literal["success", "failure", "timeout", "cancelled"]
FailureKind = Literal["validation", "image", "setup", "step", "timeout", "engine"]


@dataclass(frozen=True, slots=True)
class StepRef:
    id: str
    name: str


def _ts(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    run_id: str
    seq: int
    ts: datetime
    workspace: str

    kind = "event"

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.kind,
            "ts": _ts(self.ts),
            "seq": self.seq,
            "runId": self.run_id,
            "workspace": self.workspace,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Event:
        """The event a ``to_json`` dict describes (its inverse: replaying a detached run's event log)."""
        from pipex.engine.codec import decode

        return decode(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepEvent(Event):
    step: StepRef
    attempt: int = 1

    def to_json(self) -> dict[str, Any]:
        data = Event.to_json(self)
        data["step"] = {"id": self.step.id, "name": self.step.name}
        data["attempt"] = self.attempt
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineStart(Event):
    pipeline: str
    steps: tuple[StepRef, ...] = ()
    dry_run: bool = False
    kind = "pipeline_start"

    def to_json(self) -> dict[str, Any]:
        data = Event.to_json(self)
        data.update(
            pipeline=self.pipeline,
            dryRun=self.dry_run,
            steps=[{"id": s.id, "name": s.name} for s in self.steps],
        )
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class RunWarning(Event):
    """Something the user should know that does not stop the run: limits the engine will not enforce, an engine
    named by ``DOCKER_HOST`` that did not answer. Said once per run; ``step`` names the first step concerned."""

    message: str
    step: StepRef | None = None
    kind = "warning"

    def to_json(self) -> dict[str, Any]:
        data = Event.to_json(self)
        if self.step is not None:
            data["step"] = {"id": self.step.id, "name": self.step.name}
        data["message"] = self.message
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStart(StepEvent):
    image: str = ""
    reasons: tuple[str, ...] = ()  # with --explain: why the step runs
    kind = "step_start"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data["image"] = self.image
        if self.reasons:
            data["reasons"] = list(self.reasons)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ImagePull(StepEvent):
    image: str
    status: str
    current: int | None = None
    total: int | None = None
    kind = "image_pull"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data.update(image=self.image, status=self.status, current=self.current, total=self.total)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class StepLog(StepEvent):
    stream: Literal["stdout", "stderr"]
    line: str
    kind = "step_log"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data.update(stream=self.stream, line=self.line)
        return data


# The slots of StepLog, set directly: the generated __init__ of a frozen dataclass calls object.__setattr__ per
# field, which made building the event half the engine's cost per log line (tests check this matches __init__).
_STEP_LOG_SLOTS = ("run_id", "seq", "ts", "workspace", "step", "attempt", "stream", "line")


def step_logs(
    run_id: str,
    workspace: str,
    ts: datetime,
    step: StepRef,
    attempt: int,
    stream: Literal["stdout", "stderr"],
    first_seq: int,
    lines: list[str],
) -> Iterator[StepLog]:
    """``StepLog``s for consecutive lines (``seq`` from ``first_seq``), equal to what ``StepLog(...)`` makes."""
    new = object.__new__
    set_run, set_seq, set_ts, set_ws, set_step, set_attempt, set_stream, set_line = (
        getattr(StepLog, name).__set__ for name in _STEP_LOG_SLOTS
    )
    for seq, line in enumerate(lines, first_seq):
        event = new(StepLog)
        set_run(event, run_id)
        set_seq(event, seq)
        set_ts(event, ts)
        set_ws(event, workspace)
        set_step(event, step)
        set_attempt(event, attempt)
        set_stream(event, stream)
        set_line(event, line)
        yield event


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRetry(StepEvent):
    max: int
    delay: float
    reason: str
    kind = "step_retry"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data.update(max=self.max, delayMs=round(self.delay * 1000), reason=self.reason)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class StepCached(StepEvent):
    cached_run_id: str
    kind = "step_cached"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data["cachedRunId"] = self.cached_run_id
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSkipped(StepEvent):
    reason: Literal["dependency", "condition"]
    kind = "step_skipped"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWouldRun(StepEvent):
    reasons: tuple[str, ...]
    kind = "step_would_run"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data["reason"] = "; ".join(self.reasons)
        data["reasons"] = list(self.reasons)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class StepEnd(StepEvent):
    status: StepStatus
    exit_code: int | None
    reason: str | None
    step_run_id: str | None
    duration: float
    artifacts_size: int = 0
    message: str | None = None
    kind = "step_end"

    def to_json(self) -> dict[str, Any]:
        data = StepEvent.to_json(self)
        data.update(
            status=self.status,
            exitCode=self.exit_code,
            reason=self.reason,
            stepRunId=self.step_run_id,
            durationMs=round(self.duration * 1000),
            artifactsSize=self.artifacts_size,
        )
        if self.message:
            data["message"] = self.message
        return data


@dataclass(frozen=True, slots=True)
class StepOutcome:
    id: str
    name: str
    state: str  # success | failure | timeout | cancelled | cached | skipped | would_run | pending
    reason: str | None = None
    exit_code: int | None = None
    run_id: str | None = None
    duration: float = 0.0
    artifacts_size: int = 0
    message: str | None = None
    tail: tuple[str, ...] = ()  # last lines of stderr (or stdout) of a failed step


@dataclass(frozen=True, slots=True)
class Metrics:
    ran: int = 0
    cached: int = 0
    skipped: int = 0
    failed: int = 0
    would_run: int = 0
    cancelled: int = 0  # stopped by an interrupt, a cancel or the run's timeout: not counted as ran
    peak_parallelism: int = 0
    artifacts_bytes: int = 0
    pull_seconds: float = 0.0
    step_durations: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: str
    workspace: str
    status: RunStatus
    steps: tuple[StepOutcome, ...]
    duration: float
    metrics: Metrics
    failed_steps: tuple[str, ...] = ()
    failure_kind: FailureKind | None = None
    error: str | None = None
    errors: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def outcome(self, step_id: str) -> StepOutcome:
        for o in self.steps:
            if o.id == step_id:
                return o
        raise KeyError(step_id)

    @property
    def exit_code(self) -> int:
        return {"success": 0, "interrupted": 130, "cancelled": 130}.get(self.status, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineEnd(Event):
    result: RunResult
    kind = "pipeline_end"

    def to_json(self) -> dict[str, Any]:
        data = Event.to_json(self)
        r = self.result
        m = r.metrics
        data.update(
            status=r.status,
            failedSteps=list(r.failed_steps),
            durationMs=round(r.duration * 1000),
            failureKind=r.failure_kind,
            error=r.error,
            counts={
                "ran": m.ran,
                "cached": m.cached,
                "skipped": m.skipped,
                "failed": m.failed,
                "wouldRun": m.would_run,
                "cancelled": m.cancelled,
            },
        )
        return data
