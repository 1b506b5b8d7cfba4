"""A run committed and recorded without waiting (a shared-cache hit) reaches state.json with the next write or
``flush``, and a ``state.json`` never names a run that is not in ``runs/``."""

from __future__ import annotations

import json
from pathlib import Path

from pipex.workspace.layout import Workspace
from pipex.workspace.state import RunEntry


def _entry(run_id: str) -> RunEntry:
    return RunEntry(run_id, "success", "sha256:" + "0" * 64, "2026-12-04T00:00:00Z", 1, "sha256:" + "1" * 64, 0)


def _on_disk(ws: Workspace) -> dict[str, str]:
    if not ws.state_path.exists():
        return {}
    steps = json.loads(ws.state_path.read_text())["steps"]
    return {step: value["lastSuccess"]["runId"] for step, value in steps.items()}


def _commit(ws: Workspace, run_id: str, *, wait: bool) -> None:
    ws.new_staging(run_id)
    ws.commit(run_id, {"runId": run_id}, wait=wait)


def test_a_deferred_entry_is_written_by_flush_or_by_the_next_write(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, "ws")
    ws.create()
    a, b, c = "20261204T000000Z-0000000a", "20261204T000000Z-0000000b", "20261204T000000Z-0000000c"
    _commit(ws, a, wait=False)
    ws.record("a", _entry(a), wait=False)
    assert _on_disk(ws) == {}  # only in memory (and the step's link) so far
    assert ws.state().steps["a"].last_success == _entry(a)
    assert (ws.step_runs_dir / "a").resolve() == ws.run_dir(a).resolve()
    ws.flush()
    assert _on_disk(ws) == {"a": a}
    _commit(ws, b, wait=False)
    ws.record("b", _entry(b), wait=False)
    _commit(ws, c, wait=True)
    ws.record("c", _entry(c))  # a waited-for write carries the deferred entry too
    assert _on_disk(ws) == {"a": a, "b": b, "c": c}
    for run_id in (a, b, c):
        assert json.loads((ws.run_dir(run_id) / "meta.json").read_text()) == {"runId": run_id}
    assert list(ws.staging_dir.iterdir()) == []
    ws.flush()  # nothing left to write: a no-op
    assert _on_disk(ws) == {"a": a, "b": b, "c": c}
