"""What a live run is doing right now, seen from outside it without taking the lock.

The runner writes the step id into ``staging/<runId>/step`` when it makes an attempt's staging directory, so a
reader (``show``, ``logs --follow``) can tell which in-flight run belongs to which step. The lock file says who
runs; the kernel's flock says whether that process is still alive (see ``lock.holder_of``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipex.workspace.ids import is_run_id
from pipex.workspace.layout import Workspace
from pipex.workspace.lock import Holder, holder_of

STEP_FILE = "step"


def mark_staging(run_dir: Path, step_id: str) -> None:
    """Record which step a staging directory belongs to (called by the runner right after creating it)."""
    (run_dir / STEP_FILE).write_text(step_id + "\n", encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Live:
    """The process holding the workspace lock and the in-flight runs of each step (oldest attempt first)."""

    holder: Holder
    steps: dict[str, tuple[str, ...]]


def staging_runs(ws: Workspace) -> dict[str, tuple[str, ...]]:
    """Step id → its in-flight run ids, sorted (a retried step has one per attempt until it commits)."""
    found: dict[str, list[str]] = {}
    try:
        entries = list(os.scandir(ws.staging_dir))
    except FileNotFoundError:
        return {}
    for entry in entries:
        if not is_run_id(entry.name):
            continue
        try:
            step = (Path(entry.path) / STEP_FILE).read_text(encoding="utf-8").strip()
        except OSError:  # not marked yet, or committed (renamed) meanwhile
            continue
        found.setdefault(step, []).append(entry.name)
    return {step: tuple(sorted(ids)) for step, ids in sorted(found.items())}


def live(ws: Workspace) -> Live | None:
    """The live run of ``ws``, or ``None`` when nobody holds its lock (staging leftovers of a dead run are ignored)."""
    holder = holder_of(ws.lock_path)
    if holder is None:
        return None
    return Live(holder, staging_runs(ws))
