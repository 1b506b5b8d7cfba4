"""Events back from JSON: the inverse of ``Event.to_json``, for replaying a detached run's event log.

``to_json`` is the stable ``--json`` line schema; it keeps only a summary of a ``PipelineEnd``'s ``RunResult``.
An event log needs the whole record (per-step outcomes and their failure tails feed the final summary), so
``encode`` adds it under ``"result"``; ``decode`` uses it when present and rebuilds a summary record otherwise.
``decode(encode(e)) == e`` for every event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pipex.engine.events import (
    Event,
    ImagePull,
    Metrics,
    PipelineEnd,
    PipelineStart,
    RunResult,
    RunWarning,
    StepCached,
    StepEnd,
    StepLog,
    StepOutcome,
    StepRef,
    StepRetry,
    StepSkipped,
    StepStart,
    StepWouldRun,
)


def encode(event: Event) -> dict[str, Any]:
    """``event.to_json()``, plus the full ``RunResult`` of a ``PipelineEnd``."""
    data = event.to_json()
    if isinstance(event, PipelineEnd):
        data["result"] = result_to_json(event.result)
    return data


def result_to_json(result: RunResult) -> dict[str, Any]:
    data = dataclasses.asdict(result)
    data["steps"] = [dataclasses.asdict(o) for o in result.steps]
    return data


def result_from_json(data: Mapping[str, Any]) -> RunResult:
    fields = dict(data)
    fields["steps"] = tuple(StepOutcome(**{**o, "tail": tuple(o.get("tail", ()))}) for o in fields.get("steps", ()))
    fields["metrics"] = Metrics(**fields.get("metrics", {}))
    for name in ("failed_steps", "errors"):
        fields[name] = tuple(fields.get(name, ()))
    return RunResult(**fields)


def _ref(data: Mapping[str, Any]) -> StepRef:
    return StepRef(str(data["id"]), str(data["name"]))


def _step(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"step": _ref(data["step"]), "attempt": int(data.get("attempt", 1))}


def _pipeline_end(data: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data.get("result"), Mapping):
        return {"result": result_from_json(data["result"])}
    counts = data.get("counts") or {}
    metrics = Metrics(
        ran=counts.get("ran", 0),
        cached=counts.get("cached", 0),
        skipped=counts.get("skipped", 0),
        failed=counts.get("failed", 0),
        would_run=counts.get("wouldRun", 0),
        cancelled=counts.get("cancelled", 0),
    )
    error = data.get("error")
    result = RunResult(
        run_id=str(data["runId"]),
        workspace=str(data["workspace"]),
        status=data["status"],
        steps=(),
        duration=data.get("durationMs", 0) / 1000,
        metrics=metrics,
        failed_steps=tuple(data.get("failedSteps", ())),
        failure_kind=data.get("failureKind"),
        error=error,
        errors=(error,) if error else (),
    )
    return {"result": result}


_DECODERS: dict[str, tuple[type[Event], Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "pipeline_start": (
        PipelineStart,
        lambda d: {
            "pipeline": d["pipeline"],
            "steps": tuple(_ref(s) for s in d.get("steps", ())),
            "dry_run": bool(d.get("dryRun", False)),
        },
    ),
    "step_start": (
        StepStart,
        lambda d: {**_step(d), "image": d.get("image", ""), "reasons": tuple(d.get("reasons", ()))},
    ),
    "image_pull": (
        ImagePull,
        lambda d: {
            **_step(d),
            "image": d["image"],
            "status": d["status"],
            "current": d.get("current"),
            "total": d.get("total"),
        },
    ),
    "step_log": (StepLog, lambda d: {**_step(d), "stream": d["stream"], "line": d["line"]}),
    "step_retry": (
        StepRetry,
        lambda d: {**_step(d), "max": d["max"], "delay": d["delayMs"] / 1000, "reason": d["reason"]},
    ),
    "step_cached": (StepCached, lambda d: {**_step(d), "cached_run_id": d["cachedRunId"]}),
    "step_skipped": (StepSkipped, lambda d: {**_step(d), "reason": d["reason"]}),
    "step_would_run": (StepWouldRun, lambda d: {**_step(d), "reasons": tuple(d.get("reasons", ()))}),
    "step_end": (
        StepEnd,
        lambda d: {
            **_step(d),
            "status": d["status"],
            "exit_code": d.get("exitCode"),
            "reason": d.get("reason"),
            "step_run_id": d.get("stepRunId"),
            "duration": d.get("durationMs", 0) / 1000,
            "artifacts_size": d.get("artifactsSize", 0),
            "message": d.get("message"),
        },
    ),
    "pipeline_end": (PipelineEnd, _pipeline_end),
    "warning": (
        RunWarning,
        lambda d: {"message": d["message"], "step": _ref(d["step"]) if d.get("step") else None},
    ),
}


def decode(data: Mapping[str, Any]) -> Event:
    """The event a ``to_json``/``encode`` dict describes; ``ValueError`` for anything else."""
    try:
        cls, fields = _DECODERS[data["event"]]
        common: dict[str, Any] = {
            "run_id": str(data["runId"]),
            "seq": int(data["seq"]),
            "ts": datetime.fromisoformat(data["ts"]),
            "workspace": str(data["workspace"]),
        }
        return cls(**common, **fields(data))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a pipex event: {exc}") from exc
