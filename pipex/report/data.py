"""What a report shows, read from a pipeline-run record and the workspace (never from the engine).

The record is pipex's own file, but everything in it that a step produced (messages, and the log tails read
here) is treated as hostile text: ``clean`` drops control characters (terminal escapes, ``\\r``, bidi
overrides) and the renderers escape what is left for their format.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from pipex.errors import WorkspaceError
from pipex.workspace import reader, records
from pipex.workspace.layout import Workspace

TAIL_LINES = 20
# C0/C1 controls but tab, DEL, and the Unicode bidi overrides/isolates (a log could reorder what is shown).
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


def clean(text: str) -> str:
    """Text safe to show: terminal escape sequences and other control characters removed."""
    return _UNSAFE.sub("", _ANSI.sub("", text))


def _str(value: Any) -> str | None:
    return None if value is None else clean(str(value))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True, slots=True)
class Segment:
    phase: str  # queued | pull | setup | run | attempt (a failed attempt) | delay (before a retry)
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    value: str
    enforced: bool | None  # None: not known (the step did not run)
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    optional: bool = False
    copy: bool = False


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step instance of the run."""

    id: str
    name: str
    group: str | None
    kind: str
    image: str
    inputs: tuple[Edge, ...]
    conditional: bool
    allow_failure: bool
    outcome: str
    status: str | None
    reason: str | None
    message: str | None
    step_run_id: str | None
    exit_code: int | None
    attempts: int
    artifacts_size: int
    outputs: dict[str, str]
    limits: tuple[Limit, ...]
    ready_at: str | None
    started_at: str | None
    ended_at: str | None
    timings: dict[str, int]
    segments: tuple[Segment, ...]
    ready_ms: int | None  # from the run's start
    end_ms: int | None
    tail: tuple[str, ...] = ()  # last lines of a failed step's stderr (cleaned, not escaped)
    tail_stream: str = "stderr"

    @property
    def duration_ms(self) -> int:
        return self.timings.get("setupMs", 0) + self.timings.get("runningMs", 0)

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


@dataclass(frozen=True, slots=True)
class RunData:
    run_id: str
    workspace: str
    workdir: str
    pipeline_id: str
    pipeline_name: str | None
    pipeline_file: str | None
    pipeline_digest: str | None
    status: str
    live: bool
    started_at: str | None
    ended_at: str | None
    duration_ms: int | None
    failure_kind: str | None
    error: str | None
    failed_steps: tuple[str, ...]
    options: dict[str, Any]
    counts: dict[str, int]
    peak_parallelism: int
    pipex_version: str
    steps: tuple[StepRow, ...] = field(default=())
    record: dict[str, Any] = field(default_factory=dict, repr=False)  # the record as read (json format)

    @property
    def span_ms(self) -> int:
        """The timeline's width: the run's duration, or its latest end so far."""
        ends = [s.end_ms or 0 for s in self.steps] + [seg.end_ms for s in self.steps for seg in s.segments]
        return max([self.duration_ms or 0, *ends, 1])

    def reproduce(self) -> str:
        """The command line that runs this pipeline again the same way."""
        argv = ["pipex", "--workdir", self.workdir, "run"]
        if self.pipeline_file:
            argv.append(self.pipeline_file)
        argv += ["-w", self.workspace]
        force = self.options.get("force")
        if force is True:
            argv.append("--force")
        elif isinstance(force, list) and force:
            argv.append("--force=" + ",".join(str(f) for f in force))
        target = self.options.get("target")
        if isinstance(target, list) and target:
            argv += ["--target", ",".join(str(t) for t in target)]
        if isinstance(self.options.get("concurrency"), int):
            argv += ["--concurrency", str(self.options["concurrency"])]
        if self.options.get("pull") not in (None, "missing"):
            argv += ["--pull", str(self.options["pull"])]
        if self.options.get("timeout"):
            argv += ["--timeout", f"{self.options['timeout']:g}"]
        if self.options.get("strictLimits"):
            argv.append("--strict-limits")
        return clean(shlex.join(argv))

    def logs_command(self, step: StepRow) -> str | None:
        if step.step_run_id is None or step.outcome in ("cached", "skipped"):
            return None
        return clean(shlex.join(["pipex", "logs", self.workspace, step.id, "--run", step.step_run_id]))


def load(ws: Workspace, run_id: str | None = None, *, tails: bool = True) -> RunData:
    """The run (``None``: the newest) as the report shows it, failure tails read from the step runs' logs."""
    rec = records.read(ws, run_id)
    pipeline = _dict(rec.get("pipeline"))
    steps = tuple(_step(ws, s, rec.get("startedAt"), tails=tails) for s in rec["steps"] if isinstance(s, dict))
    counts = _dict(rec.get("counts")) or records.count(rec["steps"])
    return RunData(
        run_id=str(rec.get("runId", "")),
        workspace=ws.name,
        workdir=str(rec.get("workdir") or ws.workdir),
        pipeline_id=_str(pipeline.get("id")) or "",
        pipeline_name=_str(pipeline.get("name")),
        pipeline_file=_str(pipeline.get("file")),
        pipeline_digest=_str(pipeline.get("digest")),
        status=_str(rec.get("status")) or "unknown",
        live=bool(rec.get("live")),
        started_at=_str(rec.get("startedAt")),
        ended_at=_str(rec.get("endedAt")),
        duration_ms=rec.get("durationMs") if isinstance(rec.get("durationMs"), int) else None,
        failure_kind=_str(rec.get("failureKind")),
        error=_str(rec.get("error")),
        failed_steps=tuple(clean(str(s)) for s in rec.get("failedSteps") or ()),
        options=_dict(rec.get("options")),
        counts={str(k): _int(v) for k, v in counts.items()},
        peak_parallelism=_int(rec.get("peakParallelism")),
        pipex_version=_str(rec.get("pipexVersion")) or "",
        steps=steps,
        record=rec,
    )


def _limits(data: Any) -> tuple[Limit, ...]:
    if not isinstance(data, dict):
        return ()
    found = []
    for name, entry in sorted(data.items()):
        if not isinstance(entry, dict):
            continue
        enforced = entry.get("enforced")
        found.append(
            Limit(
                clean(str(name)),
                clean(str(entry.get("value"))),
                enforced if isinstance(enforced, bool) else None,
                _str(entry.get("reason")),
            )
        )
    return tuple(found)


def _segments(data: Any) -> tuple[Segment, ...]:
    found = []
    for seg in data if isinstance(data, list) else ():
        if isinstance(seg, dict) and isinstance(seg.get("startMs"), int) and isinstance(seg.get("endMs"), int):
            found.append(Segment(clean(str(seg.get("phase"))), seg["startMs"], seg["endMs"]))
    return tuple(found)


def _offset(start: Any, ts: Any) -> int | None:
    from datetime import datetime  # start-up: most records have no timestamps to parse

    if not isinstance(start, str) or not isinstance(ts, str):
        return None
    try:
        delta = datetime.fromisoformat(ts) - datetime.fromisoformat(start)
    except ValueError:
        return None
    return round(delta.total_seconds() * 1000)


def _step(ws: Workspace, s: dict[str, Any], origin: Any, *, tails: bool) -> StepRow:
    segments = _segments(s.get("segments"))
    timings = _dict(s.get("timings"))
    run_id = s.get("stepRunId") if isinstance(s.get("stepRunId"), str) else None
    outcome = _str(s.get("outcome")) or "waiting"
    stream = "stderr"
    tail: tuple[str, ...] = ()
    if tails and outcome in ("failed", "cancelled") and run_id is not None:
        stream, tail = _tail(ws, run_id)
    starts = [seg.start_ms for seg in segments]
    ends = [seg.end_ms for seg in segments]
    return StepRow(
        id=clean(str(s.get("id", ""))),
        name=clean(str(s.get("name") or s.get("id", ""))),
        group=_str(s.get("group")),
        kind=_str(s.get("kind")) or "image",
        image=_str(s.get("image")) or "",
        inputs=tuple(
            Edge(clean(str(i.get("step"))), bool(i.get("optional")), bool(i.get("copyToOutput")))
            for i in s.get("inputs") or ()
            if isinstance(i, dict)
        ),
        conditional=bool(s.get("conditional")),
        allow_failure=bool(s.get("allowFailure")),
        outcome=outcome,
        status=_str(s.get("status")),
        reason=_str(s.get("reason")),
        message=_str(s.get("message")),
        step_run_id=clean(run_id) if run_id else None,
        exit_code=s.get("exitCode") if isinstance(s.get("exitCode"), int) else None,
        attempts=_int(s.get("attempts")),
        artifacts_size=_int(s.get("artifactsSize")),
        outputs={clean(str(k)): clean(str(v)) for k, v in _dict(s.get("outputs")).items()},
        limits=_limits(s.get("resources")),
        ready_at=_str(s.get("readyAt")),
        started_at=_str(s.get("startedAt")),
        ended_at=_str(s.get("endedAt")),
        timings={str(k): _int(v) for k, v in timings.items()},
        segments=segments,
        ready_ms=min(starts) if starts else _offset(origin, s.get("readyAt")),
        end_ms=max(ends) if ends else _offset(origin, s.get("endedAt")),
        tail=tail,
        tail_stream=stream,
    )


def _tail(ws: Workspace, run_id: str) -> tuple[str, tuple[str, ...]]:
    try:
        stream, lines = reader.log_tail(ws, run_id, TAIL_LINES)
    except WorkspaceError:
        return "stderr", ()
    return stream, tuple(clean(line.decode("utf-8", errors="replace")) for line in lines)
