"""`logs -f` on a live step (retries, commit), and the `graph --workspace` overlay states."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pipex.workspace.follow import follow
from pipex.workspace.layout import Workspace
from pipex.workspace.live import mark_staging, staging_runs


def test_follow_streams_a_live_step_across_a_retry_until_it_commits(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, "w")
    lock = ws.lock("pipex run")
    first, second = "20990101T000000000Z-00000001", "20990101T000000001Z-00000002"
    out: list[bytes] = []

    def runner() -> None:
        one = ws.new_staging(first)
        mark_staging(one, "s")
        (one / "stdout.log").write_bytes(b"try 1\n")
        time.sleep(0.3)
        two = ws.new_staging(second)
        mark_staging(two, "s")
        with (two / "stdout.log").open("ab") as fh:
            fh.write(b"try 2 ")
            fh.flush()
            time.sleep(0.3)
            fh.write(b"done\n")
        os.rename(two, ws.runs_dir / second)
        time.sleep(0.3)
        lock.release()

    thread = threading.Thread(target=runner)
    thread.start()
    followed = follow(ws, "s", "stdout", out.append, poll=0.02)
    thread.join()
    assert followed == second
    assert b"".join(out) == b"try 1\ntry 2 done\n"
    assert staging_runs(ws) == {"s": (first,)}  # the old attempt is not the step's anymore once committed


def test_follow_without_a_live_run_returns_none(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, "w")
    ws.create()
    assert follow(ws, "s", "both", lambda b: None) is None


def test_graph_overlay_states(tmp_path: Path) -> None:
    from pipex.engine.engine import Engine
    from pipex.engine.overlay import overlay_states
    from pipex.model import load
    from pipex.testing import mock, run

    (tmp_path / "pipeline.yml").write_text(
        "id: g\nsteps:\n"
        "  - {id: a, image: 'alpine:3.20', cmd: ['true']}\n"
        "  - {id: b, image: 'alpine:3.20', cmd: ['true'], inputs: [{step: a}]}\n"
        "  - {id: c, image: 'alpine:3.20', cmd: ['true']}\n"
    )
    result = run(tmp_path, mocks=[mock("b", exit_code=1)], workdir=tmp_path / "wd", runtime=None)
    assert result.status == "failed"
    pipeline = load(tmp_path)
    engine = Engine(tmp_path / "wd", runtime=result.runtime)
    ws = Workspace(tmp_path / "wd", "g")
    assert overlay_states(engine, pipeline, ws) == {"a": "cached", "b": "failed", "c": "cached"}
    (tmp_path / "pipeline.yml").write_text(
        (tmp_path / "pipeline.yml")
        .read_text()
        .replace("id: c, image: 'alpine:3.20', cmd: ['true']", "id: c, image: 'alpine:3.20', cmd: ['false']")
    )
    assert overlay_states(engine, load(tmp_path), ws)["c"] == "changed"
