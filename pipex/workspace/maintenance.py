"""Deleting things: ``prune``, ``rm-step``, ``rm`` and ``clean``. Each takes the workspace lock first.

Files a container wrote may belong to a subordinate uid under rootless Podman, which the user cannot delete;
``remove_tree`` (the runtime's ``remove_tree``, opened lazily by the caller) deletes them in that case.
A whole workspace is first renamed to a hidden tombstone, so a crash mid-way never leaves a half-deleted
workspace that looks real (``clean`` sweeps tombstones).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipex.errors import WorkspaceBusy, WorkspaceError, WorkspaceNotFound
from pipex.model.suggest import did_you_mean
from pipex.workspace import records
from pipex.workspace.atomic import read_json
from pipex.workspace.ids import check_step_id, is_run_id
from pipex.workspace.inventory import tree_size, workspace_names
from pipex.workspace.layout import Workspace, remove
from pipex.workspace.lock import FileLock, held, holder_of
from pipex.workspace.state import load_state

RemoveTree = Callable[[Path], None]
# Called for each workspace about to be deleted, with its lock held: the caller removes its containers (this
# layer knows no engine). It must not raise.
BeforeDrop = Callable[[Workspace], None]


@dataclass(frozen=True, slots=True)
class Removed:
    """What a deletion freed: run ids (or workspace names), bytes, and event logs of finished detached runs."""

    names: tuple[str, ...] = ()
    bytes: int = 0
    event_logs: int = 0
    records: tuple[str, ...] = ()  # pipeline-run records trimmed by ``prune --keep-runs``
    instances: tuple[str, ...] = ()  # state entries of fan-out instances ``prune`` forgot (their item is gone)


def prune(ws: Workspace, remove_tree: RemoveTree | None = None, *, keep_runs: int | None = None) -> Removed:
    """Delete every committed run no state entry refers to (``lastSuccess`` and ``last`` are both kept), after
    forgetting the instances whose item the newest run no longer made (``stale_instances``); ``keep_runs``: also
    delete all pipeline-run records but the newest N."""
    ws.require()
    with ws.lock("pipex prune"):
        stale = stale_instances(ws)
        for sid in stale:
            ws.forget_step(sid)
        keep = load_state(ws.state_path).referenced_runs()
        gone = [r for r in ws.run_ids() if r not in keep]
        freed = _delete([ws.runs_dir / r for r in gone], remove_tree)
        ws.clear_staging(remove_tree)  # nobody runs (we hold the lock): staging is a dead run's leftovers
        logs, log_bytes = _prune_event_logs(ws)
        trimmed, record_bytes = records.trim(ws, keep_runs) if keep_runs is not None else ([], 0)
    return Removed(tuple(gone), freed + log_bytes + record_bytes, logs, tuple(trimmed), tuple(stale))


def stale_instances(ws: Workspace) -> list[str]:
    """The state entries of fan-out instances (``convert[eu]``) that the newest recorded pipeline run did not make:
    their item was removed (or their matrix value), so nothing will read them again but a run that adds it back.

    Only a run that decided every instance tells: one that ended ``success``, not narrowed by ``--target
    'step[key]'``, and for each fan-out step only when all its instances ran or were cached (a failure may have
    left instances never started, ``failFast``). A fan-out step absent from that run (skipped, not targeted, its
    list unreadable) keeps every instance."""
    ids = records.run_ids(ws)
    if not ids:
        return []
    try:
        record = records.read(ws, ids[-1])
    except WorkspaceError:  # a damaged record tells nothing: keep everything
        return []
    options = record.get("options")
    targets = options.get("target") if isinstance(options, dict) else None
    if record.get("status") != "success" or any(isinstance(t, str) and t.endswith("]") for t in targets or ()):
        return []
    made: dict[str, set[str]] = {}
    undecided: set[str] = set()
    for step in record["steps"]:
        if not isinstance(step, dict) or not isinstance(step.get("group"), str) or not isinstance(step.get("id"), str):
            continue
        made.setdefault(step["group"], set()).add(step["id"])
        if step.get("outcome") not in ("ran", "cached"):
            undecided.add(step["group"])
    found = []
    for sid in load_state(ws.state_path).steps:
        group = sid.rpartition("[")[0] if sid.endswith("]") else ""
        if group in made and group not in undecided and sid not in made[group]:
            found.append(sid)
    return sorted(found)


def _prune_event_logs(ws: Workspace) -> tuple[int, int]:
    """Delete the event logs of detached runs but the latest (``pipex attach`` replays only that one).

    A log still held by its writer is kept: a detached run opens its log just before it takes the lock.
    """
    try:
        latest = read_json(ws.events_dir / "current").get("runId")
    except (OSError, ValueError, AttributeError):
        latest = None
    try:
        entries = list(os.scandir(ws.events_dir))
    except FileNotFoundError:
        return 0, 0
    runs: dict[str, list[os.DirEntry[str]]] = {}
    for entry in entries:
        run_id, dot, suffix = entry.name.rpartition(".")
        if dot and suffix in ("jsonl", "log") and is_run_id(run_id) and run_id != latest:
            runs.setdefault(run_id, []).append(entry)
    count = freed = 0
    for run_id, files in sorted(runs.items()):
        if held(ws.events_dir / f"{run_id}.jsonl"):
            continue
        for entry in files:
            with contextlib.suppress(FileNotFoundError):
                freed += entry.stat(follow_symlinks=False).st_size
                Path(entry.path).unlink()
        count += 1
    return count, freed


def remove_step(ws: Workspace, step: str, remove_tree: RemoveTree | None = None) -> Removed:
    """Forget a step (its next run starts afresh) and delete all of its runs."""
    ws.require()
    check_step_id(step)
    with ws.lock("pipex rm-step"):
        state = load_state(ws.state_path)
        # a fan-out step is all its instances (`convert` → `convert[eu]`, …); `convert[eu]` is one of them
        instances = [] if step.endswith("]") else [s for s in state.steps if _instance_of(s, step)]
        owners = {step, *instances}
        runs = [r for r in ws.run_ids() if _belongs(_step_of(ws, r), step, owners)]
        if step not in state.steps and not runs and not instances:
            close = did_you_mean(step, state.steps)
            raise WorkspaceNotFound(
                f'step "{step}" has no runs in workspace "{ws.name}"' + (f'; did you mean "{close}"?' if close else ""),
                hint=f"`pipex show {ws.name}` lists its steps",
            )
        for owner in owners:  # first: a crash after this leaves only orphan runs, which `prune` deletes
            ws.forget_step(owner)
        freed = _delete([ws.runs_dir / r for r in runs], remove_tree)
    return Removed(tuple(runs), freed)


def _belongs(owner: str | None, step: str, owners: set[str]) -> bool:
    """A run of ``owner`` is removed with ``step``: its own, or one of its instances' (also of an instance no
    longer in the state, its item removed since)."""
    if owner is None:
        return False
    return owner in owners or (not step.endswith("]") and _instance_of(owner, step))


def _instance_of(sid: str, step: str) -> bool:
    """``sid`` is an instance of the fan-out step ``step`` (``convert[eu]``; not ``etl[eu].convert[csv]`` of
    ``etl``, a fanned sub-pipeline's step)."""
    return sid.endswith("]") and sid.rpartition("[")[0] == step


def _step_of(ws: Workspace, run_id: str) -> str | None:
    try:
        value = ws.read_meta(run_id).get("stepId")
    except WorkspaceError:  # a damaged run belongs to no step we know; `prune` deletes it
        return None
    return value if isinstance(value, str) else None


def remove_workspaces(
    workdir: Path, names: Sequence[str], remove_tree: RemoveTree | None = None, before_drop: BeforeDrop | None = None
) -> Removed:
    """Delete workspaces: all names are checked and all locks taken before anything is deleted."""
    spaces = [Workspace(workdir, n) for n in dict.fromkeys(names)]
    missing = [ws.name for ws in spaces if not ws.exists()]
    if missing:
        quoted = ", ".join(f'"{m}"' for m in missing)
        noun = "workspace" if len(missing) == 1 else "workspaces"
        verb = "does" if len(missing) == 1 else "do"
        raise WorkspaceNotFound(
            f"{noun} {quoted} {verb} not exist in {workdir}; nothing was removed",
            hint="`pipex list` shows the workspaces; `--workdir` selects another workdir",
        )
    locks: list[FileLock] = []
    try:
        for ws in spaces:
            locks.append(ws.lock("pipex rm"))
        freed = sum(_drop(ws, remove_tree, before_drop) for ws in spaces)
    finally:
        for lock in locks:
            lock.release()
    return Removed(tuple(ws.name for ws in spaces), freed)


@dataclass(frozen=True, slots=True)
class Cleaned:
    removed: Removed
    busy: tuple[tuple[str, str], ...] = field(default=())  # (name, who holds it)


def clean(workdir: Path, remove_tree: RemoveTree | None = None, before_drop: BeforeDrop | None = None) -> Cleaned:
    """Delete every workspace no process holds; report the ones in use."""
    removed: list[str] = []
    busy: list[tuple[str, str]] = []
    freed = 0
    for name in workspace_names(workdir):
        ws = Workspace(workdir, name)
        try:
            lock = ws.lock("pipex clean")
        except WorkspaceBusy:
            holder = holder_of(ws.lock_path)
            busy.append((name, holder.describe() if holder else "another process"))
            continue
        try:
            freed += _drop(ws, remove_tree, before_drop)
        finally:
            lock.release()
        removed.append(name)
    for item in os.scandir(workdir) if workdir.is_dir() else ():
        if item.name.startswith(".") and ".removing-" in item.name:  # a crashed rm's tombstone
            remove(Path(item.path), remove_tree)
    return Cleaned(Removed(tuple(removed), freed), tuple(busy))


def _drop(ws: Workspace, remove_tree: RemoveTree | None, before_drop: BeforeDrop | None = None) -> int:
    """Rename the workspace to a tombstone (atomic: it is gone for readers at once), then delete it."""
    if before_drop is not None:
        before_drop(ws)
    size = tree_size(ws.path)
    tomb = ws.workdir / f".{ws.name}.removing-{os.getpid()}"
    os.rename(ws.path, tomb)
    remove(tomb, remove_tree)
    return size


def _delete(paths: Sequence[Path], remove_tree: RemoveTree | None) -> int:
    freed = 0
    for path in paths:
        freed += tree_size(path)
        remove(path, remove_tree)
    return freed
