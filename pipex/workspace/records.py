"""Pipeline-run records: one JSON file per ``pipex run`` in ``<workspace>/pipeline-runs/<runId>.json``.

The engine writes a record while its run goes (each write replaces the file atomically: temp, fsync, rename)
and completes it at the end; ``pipex runs`` lists them and ``pipex report`` renders one. A record still marked
``running`` whose writer no longer holds the workspace lock belongs to a pipex that died (``kill -9``, power
loss): readers see it as ``interrupted``, with the steps it was running ``cancelled``. The schema is in the
README ("Reports"); ``version`` changes only when a field changes meaning.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipex.errors import WorkspaceError, WorkspaceNotFound
from pipex.workspace.atomic import write_bytes
from pipex.workspace.ids import is_run_id
from pipex.workspace.layout import Workspace
from pipex.workspace.lock import holder_of

VERSION = 1
DIRNAME = "pipeline-runs"
# The outcomes a step instance can have in a record, in the order counts are shown.
OUTCOMES = ("ran", "cached", "skipped", "failed", "cancelled", "waiting", "running")


def records_dir(ws: Workspace) -> Path:
    return ws.path / DIRNAME


def record_path(ws: Workspace, run_id: str) -> Path:
    if not is_run_id(run_id):
        raise WorkspaceError(f'invalid run id "{run_id}"', hint=f"`pipex runs {ws.name}` lists the run ids")
    return records_dir(ws) / f"{run_id}.json"


def write(ws: Workspace, record: Mapping[str, Any], *, durable: bool = True) -> None:
    """Replace the run's record (readers see the old or the new one, never a torn file)."""
    path = record_path(ws, str(record["runId"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    write_bytes(path, data.encode("utf-8"), durable=durable)


def run_ids(ws: Workspace) -> list[str]:
    """The recorded pipeline runs, oldest first (run ids sort by time)."""
    try:
        names = [e.name for e in os.scandir(records_dir(ws)) if e.name.endswith(".json")]
    except FileNotFoundError:
        return []
    return sorted(n[:-5] for n in names if is_run_id(n[:-5]))


def read(ws: Workspace, run_id: str | None = None) -> dict[str, Any]:
    """One record (``None``: the newest), as its writer left it but for a dead writer's ``running``."""
    ws.require()
    if run_id is None:
        ids = run_ids(ws)
        if not ids:
            raise WorkspaceNotFound(
                f'workspace "{ws.name}" has no recorded pipeline runs',
                hint=f"`pipex run` records every run; `pipex show {ws.name}` lists the steps' runs",
            )
        run_id = ids[-1]
    path = record_path(ws, run_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WorkspaceNotFound(
            f'pipeline run "{run_id}" is not recorded in workspace "{ws.name}"',
            hint=f"`pipex runs {ws.name}` lists the recorded runs",
        ) from exc
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise WorkspaceError(f"{path} is damaged", hint="delete it, or trim the records with `pipex prune --keep-runs`")
    return settle(ws, data)


def settle(ws: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    """A ``running`` record whose writer does not hold the workspace lock any more is ``interrupted``."""
    if data.get("status") != "running":
        data["live"] = False
        return data
    holder = holder_of(ws.lock_path)
    if holder is not None and holder.pid == data.get("pid"):
        data["live"] = True
        return data
    data["live"] = False
    data["status"] = "interrupted"
    for step in data["steps"]:
        if isinstance(step, dict) and step.get("outcome") == "running":
            step["outcome"] = "cancelled"
            step["reason"] = "interrupted"
    data["counts"] = count(data["steps"])
    return data


def count(steps: list[Any]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for step in steps:
        outcome = step.get("outcome") if isinstance(step, dict) else None
        if outcome in counts:
            counts[outcome] += 1
    return counts


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of ``pipex runs``."""

    run_id: str
    pipeline: str
    status: str
    started_at: str | None
    duration_ms: int | None
    counts: Mapping[str, int] = field(default_factory=dict)
    failure_kind: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "startedAt": self.started_at,
            "durationMs": self.duration_ms,
            "counts": dict(self.counts),
            "failureKind": self.failure_kind,
            "error": self.error,
        }


def summaries(ws: Workspace, limit: int | None = None) -> list[RunSummary]:
    """The recorded runs, newest first (at most ``limit``); a damaged record is listed as such, not fatal."""
    ws.require()
    ids = run_ids(ws)[::-1]
    if limit is not None:
        ids = ids[: max(0, limit)]
    found: list[RunSummary] = []
    for run_id in ids:
        try:
            data = read(ws, run_id)
        except WorkspaceError:
            found.append(RunSummary(run_id, "", "damaged", None, None))
            continue
        pipeline = data.get("pipeline") or {}
        found.append(
            RunSummary(
                run_id=run_id,
                pipeline=str(pipeline.get("id", "")) if isinstance(pipeline, dict) else "",
                status=str(data.get("status", "")),
                started_at=data.get("startedAt"),
                duration_ms=data.get("durationMs"),
                counts=data.get("counts") or count(data["steps"]),
                failure_kind=data.get("failureKind"),
                error=data.get("error"),
            )
        )
    return found


def trim(ws: Workspace, keep: int) -> tuple[list[str], int]:
    """Delete all records but the newest ``keep`` (the caller holds the workspace lock): (run ids, bytes)."""
    ids = run_ids(ws)
    gone = ids[: max(0, len(ids) - keep)]
    freed = 0
    for run_id in gone:
        path = records_dir(ws) / f"{run_id}.json"
        with contextlib.suppress(FileNotFoundError):
            freed += path.stat().st_size
            path.unlink()
    return gone, freed
