"""Events back from JSON: the inverse of ``Event.to_json``, for replaying a detached run's event log.

``to_json`` is the stable ``--json`` line schema; it keeps only a summary of a ``PipelineEnd``'s ``RunResult``.
An event log needs the whole record (per-step outcomes and their failure tails feed the final summary), so
``encode`` adds it under ``"result"``; ``decode`` uses it when present and rebuilds a summary record otherwise.
``decode(encode(e)) == e`` for every event. Both directions read the one field table of ``pipex.engine.events``
(``Event.json_fields``); only ``PipelineEnd``'s record is handled here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pipex.engine.events import (
    EVENT_TYPES,
    REQUIRED,
    Event,
    Metrics,
    PipelineEnd,
    RunResult,
    StepOutcome,
    run_error_from_json,
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
    for name in ("failed_steps", "waiting"):
        fields[name] = tuple(fields.get(name, ()))
    fields["errors"] = tuple(run_error_from_json(e) for e in fields.get("errors", ()))
    return RunResult(**fields)


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
    errors = tuple(run_error_from_json(e) for e in data.get("errors") or ())
    if not errors and error:
        errors = (run_error_from_json(error),)
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
        errors=errors,
        failed_step=data.get("failedStep"),
        failure_source=data.get("failureSource"),
        waiting=tuple(data.get("waiting") or ()),
        resumed_from=data.get("resumedFrom"),
    )
    return {"result": result}


_TYPES: dict[str, type[Event]] = {cls.kind: cls for cls in EVENT_TYPES}


def _fields(cls: type[Event], data: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments ``cls.json_fields`` reads from ``data`` (``KeyError`` for a required key)."""
    values: dict[str, Any] = {}
    for f in cls.json_fields:
        if f.load is None:
            continue
        if f.key in data:
            values[f.attr] = f.load(data[f.key])
        elif f.default is REQUIRED:
            raise KeyError(f.key)
        else:
            values[f.attr] = f.default
    return values


def decode(data: Mapping[str, Any]) -> Event:
    """The event a ``to_json``/``encode`` dict describes; ``ValueError`` for anything else."""
    try:
        cls = _TYPES[data["event"]]
        fields = _fields(cls, data)
        if cls is PipelineEnd:
            fields.update(_pipeline_end(data))
        return cls(**fields)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a pipex event: {exc}") from exc
