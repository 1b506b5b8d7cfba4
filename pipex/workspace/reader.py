"""Read-only views of a workspace: what ``show``, ``logs``, ``inspect`` and ``cat`` print.

Readers take no lock. They only look at ``state.json`` (replaced atomically) and committed runs (which
appear by one rename, complete), so they never see a half-written run; a live run is seen through its lock
holder and the marked staging directories (``live``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipex.errors import UsageError, WorkspaceError, WorkspaceNotFound
from pipex.model.suggest import did_you_mean
from pipex.workspace.atomic import read_json
from pipex.workspace.layout import Workspace
from pipex.workspace.live import Live, live
from pipex.workspace.state import RunEntry, load_state

Stream = Literal["stdout", "stderr", "both"]
STREAMS: tuple[Stream, ...] = ("stdout", "stderr", "both")


@dataclass(frozen=True, slots=True)
class StepSummary:
    """One row of ``show``: the step's last run (``running`` while a live run works on it)."""

    step: str
    status: str
    run_id: str | None
    duration_ms: int | None
    size: int | None
    finished_at: str | None
    last_success: str | None  # the run id of its last success (differs from run_id after a failure)
    outputs: Mapping[str, Any] = field(default_factory=dict)  # the step outputs of its last run

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "status": self.status,
            "runId": self.run_id,
            "durationMs": self.duration_ms,
            "size": self.size,
            "finishedAt": self.finished_at,
            "lastSuccess": self.last_success,
            "outputs": dict(self.outputs),
        }


@dataclass(frozen=True, slots=True)
class Summary:
    workspace: str
    steps: tuple[StepSummary, ...]
    live: Live | None

    def to_json(self) -> dict[str, Any]:
        holder = self.live.holder if self.live else None
        return {
            "workspace": self.workspace,
            "inUse": holder is not None,
            "holder": {"pid": holder.pid, "command": holder.command} if holder else None,
            "steps": [s.to_json() for s in self.steps],
        }


def summarize(ws: Workspace, step: str | None = None) -> Summary:
    """Every step the workspace remembers, in the order they last finished; live steps last, ``running``.
    ``step``: only its row, or a fan-out step's instances' (``WorkspaceNotFound`` when it has none)."""
    summary = _summarize(ws)
    if step is None:
        return summary
    rows = tuple(r for r in summary.steps if r.step == step or _instance_of(r.step, step))
    if not rows:
        step_entry(ws, step)  # says why, with the steps that have runs
    return Summary(summary.workspace, rows, summary.live)


def _instance_of(sid: str, step: str) -> bool:
    return sid.startswith(step + "[") and sid.endswith("]")


def _summarize(ws: Workspace) -> Summary:
    ws.require()
    state = _fresh_state(ws)
    current = live(ws)
    running = current.steps if current else {}
    rows: list[StepSummary] = []
    for step_id, st in state.steps.items():
        last = st.last
        if step_id in running or last is None:
            continue
        ok = st.last_success.run_id if st.last_success else None
        found = _outputs(ws, last.run_id) if last.has_outputs else {}
        rows.append(
            StepSummary(
                step_id, last.status, last.run_id, last.duration_ms, last.artifacts_size, last.finished_at, ok, found
            )
        )
    rows.sort(key=lambda r: (r.finished_at or "", r.step))
    for step_id, run_ids in running.items():
        st = state.steps.get(step_id)
        ok = st.last_success.run_id if st and st.last_success else None
        rows.append(StepSummary(step_id, "running", run_ids[-1], None, None, None, ok))
    return Summary(ws.name, tuple(rows), current)


def _outputs(ws: Workspace, run_id: str) -> Mapping[str, Any]:
    """The step outputs a run's meta.json holds (read only for runs the state says wrote some)."""
    try:
        found = ws.read_meta(run_id).get("outputs")
    except WorkspaceError:
        return {}
    return found if isinstance(found, dict) else {}


def _fresh_state(ws: Workspace) -> Any:
    return load_state(ws.state_path)  # not ws.state(): that one is cached for the writer's lifetime


def _instances(state: Any, step: str) -> list[str]:
    if step in state.steps or step.endswith("]"):
        return []
    # its own instances only: not the steps of a fanned sub-pipeline of that id (``etl[eu].convert[csv]``)
    return sorted(s for s in state.steps if s.endswith("]") and s.rpartition("[")[0] == step)


def instances_of(ws: Workspace, step: str) -> list[str]:
    """The instance ids (``convert[eu-csv]``, …) ``step`` ran as, when it is a fan-out step; else ``[]``."""
    ws.require()
    return _instances(_fresh_state(ws), step)


def step_entry(ws: Workspace, step: str, *, success: bool = False) -> RunEntry:
    """The step's last run (``success``: its last successful run), or ``WorkspaceNotFound`` with what exists."""
    ws.require()
    state = _fresh_state(ws)
    st = state.steps.get(step)
    instances = _instances(state, step)
    if instances:  # a fan-out step: its runs are its instances'
        shown = ", ".join(instances[:5]) + (f" and {len(instances) - 5} more" if len(instances) > 5 else "")
        raise WorkspaceNotFound(
            f'step "{step}" ran as {len(instances)} instances: {shown}',
            hint=f"name one, quoted for the shell: '{instances[0]}'",
        )
    if st is None or st.last is None:
        known = sorted(state.steps)
        groups = {s.rpartition("[")[0] for s in known if s.endswith("]") and "[" in s}  # a fan-out step's own id
        close = did_you_mean(step, sorted(groups | set(known)))
        listing = ", ".join(known) if known else "none"
        raise WorkspaceNotFound(
            f'step "{step}" has no runs in workspace "{ws.name}"' + (f'; did you mean "{close}"?' if close else ""),
            hint=f"steps with runs: {listing} (`pipex show {ws.name}`)",
        )
    if not success:
        return st.last  # type: ignore[no-any-return]
    if st.last_success is None:
        raise WorkspaceNotFound(
            f'step "{step}" has no successful run in workspace "{ws.name}" (its last run {st.last.run_id} '
            f"ended with {st.last.status})",
            hint=f"add --run {st.last.run_id} to read that run",
        )
    return st.last_success  # type: ignore[no-any-return]


def run_of(ws: Workspace, step: str, run_id: str | None = None, *, success: bool = False) -> str:
    """The run to read for ``step``: ``run_id`` when given (it must be one of the step's), else from the state."""
    if run_id is None:
        return step_entry(ws, step, success=success).run_id
    meta = ws.read_meta(run_id)
    if meta.get("stepId") != step:
        raise UsageError(
            f'run {run_id} belongs to step "{meta.get("stepId")}", not "{step}"',
            hint=f"`pipex inspect {ws.name} {meta.get('stepId')} --run {run_id}`",
        )
    return run_id


def log_files(run_dir: Path, stream: Stream, attempt: int | None = None) -> list[Path]:
    """The log files to print, stdout first; ``attempt`` selects an earlier attempt's kept logs."""
    if stream not in STREAMS:
        raise UsageError(f'unknown stream "{stream}"', hint="use stdout, stderr or both")
    names = ("stdout", "stderr") if stream == "both" else (stream,)
    if attempt is not None and attempt == _final_attempt(run_dir):
        attempt = None  # the final attempt's logs are the run's own
    prefix = "" if attempt is None else f"attempt-{attempt}."
    files = [run_dir / f"{prefix}{name}.log" for name in names]
    if attempt is not None and not any(f.exists() for f in files):
        kept = sorted({p.name.split(".")[0] for p in run_dir.glob("attempt-*.std*.log")})
        final = _final_attempt(run_dir)
        raise WorkspaceNotFound(
            f"run {run_dir.name} has no logs of attempt {attempt}",
            hint=(f"earlier attempts kept: {', '.join(kept)}; " if kept else "")
            + f"the run's own logs are attempt {final} (omit --attempt)",
        )
    return files


def _final_attempt(run_dir: Path) -> int:
    try:
        return int(read_json(run_dir / "meta.json").get("attempt", 1))
    except (OSError, ValueError, AttributeError):
        return 1


def read_logs(files: list[Path]) -> bytes:
    chunks: list[bytes] = []
    for path in files:
        try:
            chunks.append(path.read_bytes())
        except FileNotFoundError:
            continue
    return b"".join(chunks)


TAIL_BYTES = 64 * 1024  # a failure's tail is read from at most this many bytes at the end of a log


def log_tail(ws: Workspace, run_id: str, lines: int = 20) -> tuple[str, list[bytes]]:
    """The last ``lines`` lines of a committed run's stderr (its stdout when stderr is empty) and which stream:
    raw bytes, for the caller to decode and escape. Only the end of a huge log is read; a run that is gone
    (pruned) has no tail. Log files are opened with ``O_NOFOLLOW``: nothing outside the run is ever read."""
    run_dir = ws.run_dir(run_id)
    for stream in ("stderr", "stdout"):
        try:
            fd = os.open(run_dir / f"{stream}.log", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        with os.fdopen(fd, "rb") as fh:
            size = os.fstat(fd).st_size
            fh.seek(max(0, size - TAIL_BYTES))
            data = fh.read(TAIL_BYTES)
        found = data.splitlines()
        if size > TAIL_BYTES and found:
            found = found[1:]  # the first line was cut
        if found:
            return stream, found[-lines:]
    return "stderr", []
