"""The report as data: ``json`` (the record plus what the HTML derives) and ``tsv`` (one row per step instance,
in the style of Nextflow's trace file). Both schemas are documented in the README ("Reports")."""

from __future__ import annotations

import copy
import json
from typing import Any

from pipex.report.data import RunData, StepRow, clean

REPORT_VERSION = 1

TSV_COLUMNS = (
    "step",
    "name",
    "group",
    "outcome",
    "status",
    "reason",
    "exit",
    "attempts",
    "step_run_id",
    "image",
    "ready",
    "start",
    "end",
    "duration_ms",
    "queued_ms",
    "pulling_ms",
    "setup_ms",
    "running_ms",
    "artifacts_bytes",
    "limits",
)


def to_json(run: RunData) -> str:
    """The record as read (a dead writer's ``running`` shown as ``interrupted``), plus ``reportVersion``,
    ``reproduce`` and, per step, ``durationMs``, ``logsCommand`` and a failed step's ``tail``/``tailStream``."""
    data: dict[str, Any] = copy.deepcopy(run.record)
    data["reportVersion"] = REPORT_VERSION
    data["reproduce"] = run.reproduce()
    rows = {s.id: s for s in run.steps}
    for step in data.get("steps", []):
        row = rows.get(clean(str(step.get("id", "")))) if isinstance(step, dict) else None
        if row is None:
            continue
        step["durationMs"] = row.duration_ms
        step["logsCommand"] = run.logs_command(row)
        if row.tail:
            step["tail"] = list(row.tail)
            step["tailStream"] = row.tail_stream
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _cell(value: object) -> str:
    """One TSV cell: ``-`` when empty; tabs and line breaks (which would break the row) become spaces."""
    if value is None or value == "":
        return "-"
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def _limits(step: StepRow) -> str:
    marks = {True: "enforced", False: "not-enforced", None: "declared"}
    return ",".join(f"{lim.name}={lim.value}:{marks[lim.enforced]}" for lim in step.limits)


def to_tsv(run: RunData) -> str:
    lines = ["\t".join(TSV_COLUMNS)]
    for s in run.steps:
        t = s.timings
        ran = s.started_at is not None
        row = (
            s.id,
            s.name,
            s.group,
            s.outcome,
            s.status,
            s.reason,
            s.exit_code,
            s.attempts or None,
            s.step_run_id,
            s.image,
            s.ready_at,
            s.started_at,
            s.ended_at,
            s.duration_ms if ran else None,
            t.get("queuedMs") if ran else None,
            t.get("pullingMs") if ran else None,
            t.get("setupMs") if ran else None,
            t.get("runningMs") if ran else None,
            s.artifacts_size if s.step_run_id else None,
            _limits(s),
        )
        lines.append("\t".join(_cell(v) for v in row))
    return "\n".join(lines) + "\n"
