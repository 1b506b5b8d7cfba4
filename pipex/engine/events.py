"""Typed events of a run and its terminal record.

One frozen dataclass per kind; every event has ``run_id`` (one per ``Engine.run`` call),
``seq`` (monotonic: the authoritative order), ``ts`` (UTC) and ``workspace``; step events add ``step`` and
``attempt``. Exactly one ``PipelineEnd`` ends every stream. ``to_json`` renders the stable ``--json`` line schema.

The schema is written once: each class's ``json_fields`` (its parent's, then its own) says, per JSON key, which
attribute it comes from and how a value goes to JSON and back. ``to_json`` here and ``codec.decode`` both read
that table; ``EVENT_TYPES`` lists every kind of event (the public API, the codec and the tests derive from it).
Frozen dataclasses rather than a pydantic discriminated union: a ``StepLog`` is built per output line (measured:
0.5 µs through ``step_logs``, 2.8 µs as a validated pydantic model, against a whole ``--json`` line cost of 2 µs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

RunStatus = Literal["success", "failed", "timeout", "cancelled", "interrupted", "suspended"]
StepStatus = Literal["success", "failure", "timeout", "cancelled"]
FailureKind = Literal["validation", "image", "setup", "step", "timeout", "engine"]
# Whose problem a failure is: the step's own command (``user``), what it needs from outside — an image, the
# network, a person's approval (``dependency``) —, the container engine (``engine``) or pipex itself (``pipex``).
FailureSource = Literal["user", "dependency", "engine", "pipex"]


@dataclass(frozen=True, slots=True)
class StepRef:
    id: str
    name: str


def _ts(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _same(value: Any) -> Any:
    return value


def _ref_to_json(ref: StepRef) -> dict[str, str]:
    return {"id": ref.id, "name": ref.name}


def ref_from_json(data: Mapping[str, Any]) -> StepRef:
    return StepRef(str(data["id"]), str(data["name"]))


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _seconds(ms: Any) -> float:
    return float(ms) / 1000


REQUIRED: Any = object()  # a key ``decode`` cannot do without


@dataclass(frozen=True, slots=True)
class JsonField:
    """One key of an event's JSON line: ``attr``'s value through ``dump``; back through ``load``.

    ``default``: the value when the key is missing (``REQUIRED``: the line is not an event). ``omit``: leave the
    key out while the value is empty. ``load=None``: written only (derived from another key that is read back).
    """

    key: str
    attr: str
    dump: Callable[[Any], Any] = _same
    load: Callable[[Any], Any] | None = _same
    default: Any = REQUIRED
    omit: bool = False


def _f(key: str, attr: str | None = None, **how: Any) -> JsonField:
    return JsonField(key, attr or key, **how)


# Per class, its json_fields as plain tuples (``dump`` None when it is the identity): ``to_json`` runs for every
# event of a ``--json`` run, and a tuple unpack is cheaper than attribute reads of a ``JsonField``.
_PLANS: dict[type, tuple[tuple[str, str, Callable[[Any], Any] | None, bool], ...]] = {}


def _plan(cls: type[Event]) -> tuple[tuple[str, str, Callable[[Any], Any] | None, bool], ...]:
    plan = tuple((f.key, f.attr, None if f.dump is _same else f.dump, f.omit) for f in cls.json_fields)
    _PLANS[cls] = plan
    return plan


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    run_id: str
    seq: int
    ts: datetime
    workspace: str

    kind = "event"
    json_fields: ClassVar[tuple[JsonField, ...]] = (
        _f("ts", dump=_ts, load=datetime.fromisoformat),
        _f("seq", load=int),
        _f("runId", "run_id", load=str),
        _f("workspace", load=str),
    )

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` line of this event: ``event`` (its kind), then ``json_fields`` in order."""
        data: dict[str, Any] = {"event": self.kind}
        plan = _PLANS.get(type(self)) or _plan(type(self))
        for key, attr, dump, omit in plan:
            value = getattr(self, attr)
            if omit and not value:
                continue
            data[key] = value if dump is None else dump(value)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class StepEvent(Event):
    step: StepRef
    attempt: int = 1

    json_fields = (
        *Event.json_fields,
        _f("step", dump=_ref_to_json, load=ref_from_json),
        _f("attempt", load=int, default=1),
        # derived from the step id: written, never read back
        _f("scope", load=None, omit=True),
        _f("group", load=None, omit=True),
        _f("instance", load=None, omit=True),
    )

    @property
    def scope(self) -> str:
        """The sub-pipeline the step belongs to (``etl`` for ``etl.extract``), ``""`` at the top."""
        return (self.group or self.step.id).rpartition(".")[0]  # an instance key may hold a dot: process[a.csv]

    @property
    def group(self) -> str:
        """The fan-out step an instance belongs to (``convert`` for ``convert[eu-csv]``), ``""`` for a step."""
        sid = self.step.id
        return sid.rpartition("[")[0] if sid.endswith("]") else ""

    @property
    def instance(self) -> str:
        """An instance's key (``eu-csv`` for ``convert[eu-csv]``; keys never hold ``[``), ``""`` for a step."""
        sid = self.step.id
        return sid[sid.rfind("[") + 1 : -1] if sid.endswith("]") and "[" in sid else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineStart(Event):
    pipeline: str
    steps: tuple[StepRef, ...] = ()
    dry_run: bool = False
    resumed_from: str | None = None  # the suspended run this one resumes (approval gates)
    kind = "pipeline_start"
    json_fields = (
        *Event.json_fields,
        _f("pipeline"),
        _f("dryRun", "dry_run", load=bool, default=False),
        _f("resumedFrom", "resumed_from", default=None, omit=True),
        _f(
            "steps",
            dump=lambda steps: [_ref_to_json(s) for s in steps],
            load=lambda steps: tuple(ref_from_json(s) for s in steps),
            default=(),
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunWarning(Event):
    """Something the user should know that does not stop the run: limits the engine will not enforce, an engine
    named by ``DOCKER_HOST`` that did not answer. Said once per run; ``step`` names the first step concerned."""

    message: str
    step: StepRef | None = None
    kind = "warning"
    json_fields = (
        *Event.json_fields,
        _f("step", dump=_ref_to_json, load=ref_from_json, default=None, omit=True),
        _f("message"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStart(StepEvent):
    image: str = ""
    reasons: tuple[str, ...] = ()  # with --explain: why the step runs
    kind = "step_start"
    json_fields = (
        *StepEvent.json_fields,
        _f("image", default=""),
        _f("reasons", dump=list, load=tuple, default=(), omit=True),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepJob(StepEvent):
    """An attempt was handed to a batch scheduler: ``job`` is what the scheduler calls it (Slurm's job id), for
    ``squeue``/``scontrol``/``scancel``. Only executors that submit jobs say it (a local step has none); it follows
    the step's ``StepStart`` (or ``StepRetry``), when the job is submitted."""

    job: str
    kind = "step_job"
    json_fields = (*StepEvent.json_fields, _f("job", load=str))


@dataclass(frozen=True, slots=True, kw_only=True)
class ImagePull(StepEvent):
    image: str
    status: str
    current: int | None = None
    total: int | None = None
    kind = "image_pull"
    json_fields = (
        *StepEvent.json_fields,
        _f("image"),
        _f("status"),
        _f("current", default=None),
        _f("total", default=None),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepLog(StepEvent):
    stream: Literal["stdout", "stderr"]
    line: str
    kind = "step_log"
    json_fields = (*StepEvent.json_fields, _f("stream"), _f("line"))


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


@dataclass(frozen=True, slots=True)
class LogLines:
    """The complete lines of one chunk a step wrote, as one object: the ``StepLog`` events they stand for share
    everything but ``seq`` (``first``, ``first + 1``…) and ``line``. Not an event: a consumer that asked for
    whole chunks (``RunOptions.on_log_lines``) gets these instead of one ``StepLog`` per line; ``events()`` gives
    the events themselves."""

    run_id: str
    workspace: str
    first: int
    ts: datetime  # when the chunk was read: its lines arrived together
    step: StepRef
    attempt: int
    stream: Literal["stdout", "stderr"]
    lines: list[str]

    def events(self) -> Iterator[StepLog]:
        return step_logs(
            self.run_id, self.workspace, self.ts, self.step, self.attempt, self.stream, self.first, self.lines
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRetry(StepEvent):
    max: int
    delay: float
    reason: str
    kind = "step_retry"
    json_fields = (*StepEvent.json_fields, _f("max"), _f("delayMs", "delay", dump=_ms, load=_seconds), _f("reason"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWarning(StepEvent):
    """Something the step left or met that pipex refused to follow or copy; the step itself goes on."""

    message: str
    kind = "step_warning"
    json_fields = (*StepEvent.json_fields, _f("message"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWaiting(StepEvent):
    """An approval gate waits: its dependents are held, and the run will end ``suspended``."""

    message: str
    kind = "step_waiting"
    json_fields = (*StepEvent.json_fields, _f("message"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StepCached(StepEvent):
    cached_run_id: str
    source: Literal["workspace", "store"] = "workspace"  # "store": materialised from the shared cache
    outputs: Mapping[str, Any] = field(default_factory=dict)  # the cached run's step outputs (kept)
    kind = "step_cached"
    json_fields = (
        *StepEvent.json_fields,
        _f("cachedRunId", "cached_run_id"),
        _f("source", default="workspace"),
        _f("outputs", dump=dict, load=dict, default={}, omit=True),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSkipped(StepEvent):
    reason: Literal["dependency", "condition"]
    kind = "step_skipped"
    json_fields = (*StepEvent.json_fields, _f("reason"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWouldRun(StepEvent):
    reasons: tuple[str, ...]
    kind = "step_would_run"
    json_fields = (
        *StepEvent.json_fields,
        _f("reason", "reasons", dump="; ".join, load=None),  # for readers of one line; "reasons" is read back
        _f("reasons", dump=list, load=tuple, default=()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StepEnd(StepEvent):
    status: StepStatus
    exit_code: int | None
    reason: str | None
    step_run_id: str | None
    duration: float
    artifacts_size: int = 0
    message: str | None = None
    setup_seconds: float = 0.0  # of ``duration``: the final attempt's setup phase (the report's timeline)
    outputs: Mapping[str, Any] = field(default_factory=dict)  # what the step wrote to $PIPEX_OUTPUT
    job: str | None = None  # the final attempt's batch job (StepJob), when it ran as one
    node: str | None = None  # the machine that job ran on, as it reported it (a host name; local steps: None)
    kind = "step_end"
    json_fields = (
        *StepEvent.json_fields,
        _f("status"),
        _f("exitCode", "exit_code", default=None),
        _f("reason", default=None),
        _f("stepRunId", "step_run_id", default=None),
        _f("durationMs", "duration", dump=_ms, load=_seconds, default=0.0),
        _f("artifactsSize", "artifacts_size", default=0),
        _f("message", default=None, omit=True),
        _f("setupMs", "setup_seconds", dump=_ms, load=_seconds, default=0.0, omit=True),
        _f("outputs", dump=dict, load=dict, default={}, omit=True),
        _f("job", default=None, omit=True),
        _f("node", default=None, omit=True),
    )


@dataclass(frozen=True, slots=True)
class StepOutcome:
    id: str
    name: str
    state: str  # success | failure | timeout | cancelled | cached | skipped | would_run | waiting | pending
    reason: str | None = None
    exit_code: int | None = None
    run_id: str | None = None
    duration: float = 0.0
    artifacts_size: int = 0
    message: str | None = None
    tail: tuple[str, ...] = ()  # last lines of stderr (or stdout) of a failed step
    outputs: Mapping[str, Any] = field(default_factory=dict)  # the step outputs of its run (cached: kept)


@dataclass(frozen=True, slots=True)
class RunError:
    """One error of a run, as a record: the step it belongs to (``None``: the run's own), what kind of failure (a
    step's reason — ``exit``, ``timeout``, ``image``, ``rejected``… — or ``validation``/``engine``/``pipex``),
    whose problem it is, and the message."""

    step: str | None
    kind: str
    source: FailureSource
    message: str

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "kind": self.kind, "source": self.source, "message": self.message}


def run_error_from_json(data: Any) -> RunError:
    """A record back from JSON; a bare string (an event log written before errors were records) is the run's."""
    if isinstance(data, str):
        return RunError(None, "engine", "engine", data)
    return RunError(data.get("step"), str(data["kind"]), data["source"], str(data["message"]))


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


SUSPENDED_EXIT = 5  # the exit code of a run that ended with approval gates waiting


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
    errors: tuple[RunError, ...] = ()
    dry_run: bool = False
    failed_step: str | None = None  # the first step that failed (in time)
    failure_source: FailureSource | None = None
    waiting: tuple[str, ...] = ()  # approval gates waiting (status ``suspended``)
    resumed_from: str | None = None  # the suspended run this one resumes

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
        return {"success": 0, "interrupted": 130, "cancelled": 130, "suspended": SUSPENDED_EXIT}.get(self.status, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineEnd(Event):
    result: RunResult
    kind = "pipeline_end"
    # The line is a summary of the record (``RunResult``), not one key per attribute: ``codec`` encodes and decodes
    # the whole record beside it, or rebuilds a summary record from these keys.

    def to_json(self) -> dict[str, Any]:
        data = Event.to_json(self)
        r = self.result
        m = r.metrics
        data.update(
            status=r.status,
            failedSteps=list(r.failed_steps),
            durationMs=round(r.duration * 1000),
            failureKind=r.failure_kind,
            failureSource=r.failure_source,
            failedStep=r.failed_step,
            error=r.error,
            errors=[e.to_json() for e in r.errors],
            waiting=list(r.waiting),
            resumedFrom=r.resumed_from,
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


# Every kind of event, in the order of a run. The public API (``pipex.__init__``), ``codec.decode`` and the tests
# derive their lists from this one.
EVENT_TYPES: tuple[type[Event], ...] = (
    PipelineStart,
    RunWarning,
    ImagePull,
    StepStart,
    StepJob,
    StepLog,
    StepRetry,
    StepWarning,
    StepCached,
    StepSkipped,
    StepWaiting,
    StepWouldRun,
    StepEnd,
    PipelineEnd,
)
