"""Pipeline-run records: one per run, written as it goes, completed at the end, read back honestly."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import pipex
from pipex.engine.events import PipelineEnd, StepStart
from pipex.runtime.fake import FakeRuntime
from pipex.testing import mock, run
from pipex.workspace import records
from pipex.workspace.layout import Workspace

PIPELINE = """
id: demo
steps:
  - {id: a, image: alpine:3.20, cmd: [x], resources: {cpus: 1, memory: 64m}}
  - {id: b, image: alpine:3.20, cmd: [x], inputs: [{step: a}], retries: 1, retryDelayMs: 50}
  - {id: c, image: alpine:3.20, cmd: [x], inputs: [{step: b}]}
  - {id: d, image: alpine:3.20, cmd: [x], if: "env.NOPE == '1'"}
"""


def project(tmp: Path, text: str = PIPELINE) -> Path:
    root = tmp / "proj"
    root.mkdir(exist_ok=True)
    (root / "pipeline.yml").write_text(textwrap.dedent(text))
    return root


def record_files(workdir: Path, ws: str = "demo") -> list[Path]:
    return sorted((workdir / ws / "pipeline-runs").glob("*.json"))


def steps_of(rec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in rec["steps"]}


def test_a_successful_run_leaves_one_complete_record(tmp_path: Path) -> None:
    proj = project(tmp_path)
    result = run(proj, mocks=[mock("b", exit_code=1), mock("b", delay=0.05)], workdir=tmp_path / "wd")
    assert result.status == "success"
    [path] = record_files(tmp_path / "wd")
    assert path.name == f"{result.result.run_id}.json"
    rec = records.read(Workspace(tmp_path / "wd", "demo"))
    assert rec["status"] == "success" and rec["live"] is False
    assert rec["runId"] == result.result.run_id
    assert rec["pipeline"]["id"] == "demo"
    assert rec["pipeline"]["file"] == str(proj / "pipeline.yml")
    assert rec["pipeline"]["digest"].startswith("sha256:") and len(rec["pipeline"]["digest"]) == 71
    assert rec["options"] == {
        "force": False,
        "target": [],
        "executor": "local",
        "concurrency": None,
        "pull": "missing",
        "timeout": None,
        "explain": False,
        "strictLimits": False,
    }
    zero = dict.fromkeys(records.OUTCOMES, 0)
    assert rec["counts"] == {**zero, "ran": 3, "skipped": 1}
    s = steps_of(rec)
    assert [x["outcome"] for x in rec["steps"]] == ["ran", "ran", "ran", "skipped"]
    assert s["a"]["stepRunId"] == result.outcome("a").run_id
    assert s["a"]["resources"]["cpus"]["value"] == 1.0 and "enforced" in s["a"]["resources"]["cpus"]
    assert s["a"]["outputs"] == {} and s["a"]["exitCode"] == 0
    assert s["b"]["attempts"] == 2 and s["b"]["inputs"] == [{"step": "a", "optional": False, "copyToOutput": False}]
    phases = [seg["phase"] for seg in s["b"]["segments"]]
    assert phases == ["queued", "attempt", "delay", "run"]
    delay = s["b"]["segments"][2]
    assert delay["endMs"] - delay["startMs"] == 50
    assert s["b"]["timings"]["runningMs"] >= 90  # two attempts, the delay and the second's 50 ms
    assert s["d"]["reason"] == "condition" and s["d"]["conditional"] is True and s["d"]["segments"] == []
    # b was ready when a ended
    assert s["b"]["readyAt"] == s["a"]["endedAt"]


def test_failed_cached_and_skipped_steps_are_recorded(tmp_path: Path) -> None:
    proj = project(tmp_path)
    run(proj, workdir=tmp_path / "wd")
    again = run(proj, mocks=[mock("b", exit_code=4, stderr=["no"])], workdir=tmp_path / "wd", force=["b"])
    assert again.status == "failed"
    rec = records.read(Workspace(tmp_path / "wd", "demo"))
    s = steps_of(rec)
    assert (s["a"]["outcome"], s["b"]["outcome"], s["c"]["outcome"]) == ("cached", "failed", "skipped")
    assert s["a"]["stepRunId"] == again.outcome("a").run_id and s["a"]["segments"] == []
    assert s["b"]["status"] == "failure" and s["b"]["reason"] == "exit" and s["b"]["exitCode"] == 4
    assert s["b"]["attempts"] == 2  # retried once, failed twice
    assert s["c"]["reason"] == "dependency"
    assert rec["status"] == "failed" and rec["failureKind"] == "step" and rec["failedSteps"] == ["b"]
    assert rec["error"] == "step b: exited with code 4"
    assert rec["options"]["force"] == ["b"]
    assert [r.status for r in Workspace_handle(tmp_path).runs()] == ["failed", "success"]


def Workspace_handle(tmp_path: Path) -> Any:
    return pipex.Engine(workdir=tmp_path / "wd", runtime=FakeRuntime()).workspace("demo")


def test_setup_time_is_its_own_segment(tmp_path: Path) -> None:
    proj = project(
        tmp_path,
        """
        id: demo
        steps:
          - {id: s, image: alpine:3.20, cmd: [run], setup: {cmd: [prepare]}}
        """,
    )
    from pipex.runtime.fake import Behaviour

    rt = FakeRuntime()
    rt.script_exec(["prepare"], Behaviour(delay=0.1))
    result = run(proj, workdir=tmp_path / "wd", runtime=rt)
    assert result.status == "success"
    s = steps_of(records.read(Workspace(tmp_path / "wd", "demo")))["s"]
    assert s["timings"]["setupMs"] >= 100
    assert [seg["phase"] for seg in s["segments"]] == ["queued", "setup", "run"]


def test_dry_runs_and_exec_leave_no_record(tmp_path: Path) -> None:
    proj = project(tmp_path)
    run(proj, workdir=tmp_path / "wd", dry_run=True)
    assert record_files(tmp_path / "wd") == []

    async def exec_one() -> None:
        engine = pipex.Engine(workdir=tmp_path / "wd", runtime=FakeRuntime())
        async for _ in engine.exec(proj / "pipeline.yml", "scratch", step="a"):
            pass

    asyncio.run(exec_one())
    assert record_files(tmp_path / "wd", "scratch") == []


def test_the_record_exists_while_the_run_goes(tmp_path: Path) -> None:
    """After the first step settles the record is on disk, ``running`` and ``live`` (its writer holds the lock)."""
    proj = project(tmp_path)
    seen: list[dict[str, Any]] = []

    async def go() -> None:
        engine = pipex.Engine(workdir=tmp_path / "wd", runtime=_slow_runtime())
        async for event in engine.run(pipex.load(proj)):
            if isinstance(event, StepStart) and event.step.id == "c":
                await asyncio.sleep(0.8)  # the writer's interval is 0.5 s
                seen.append(records.read(Workspace(tmp_path / "wd", "demo")))
            if isinstance(event, PipelineEnd):
                break

    asyncio.run(go())
    [live] = seen
    assert live["status"] == "running" and live["live"] is True and live["endedAt"] is None
    assert steps_of(live)["a"]["outcome"] == "ran"
    assert steps_of(live)["c"]["outcome"] == "running"
    final = records.read(Workspace(tmp_path / "wd", "demo"))
    assert final["status"] == "success" and final["endedAt"] is not None


def _slow_runtime() -> FakeRuntime:
    from pipex.runtime.fake import Behaviour

    rt = FakeRuntime()
    rt.script(step="c", behaviour=Behaviour(delay=1.5))
    return rt


def test_a_running_record_without_its_writer_reads_as_interrupted(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "wd", "demo")
    ws.create()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    rec = {
        "version": 1,
        "runId": "20261204T101500123Z-1a2b3c4d",
        "status": "running",
        "pid": int(dead.stdout),
        "steps": [
            {"id": "a", "outcome": "ran"},
            {"id": "b", "outcome": "running"},
            {"id": "c", "outcome": "waiting"},
        ],
    }
    records.write(ws, rec)
    got = records.read(ws)
    assert got["status"] == "interrupted" and got["live"] is False
    assert [(s["outcome"], s.get("reason")) for s in got["steps"]] == [
        ("ran", None),
        ("cancelled", "interrupted"),
        ("waiting", None),
    ]
    assert got["counts"]["cancelled"] == 1 and got["counts"]["waiting"] == 1
    # while a process with the record's pid holds the lock, it is live
    rec["pid"] = os.getpid()
    records.write(ws, rec)
    with ws.lock("pipex run"):
        assert records.read(ws)["status"] == "running"
    assert records.read(ws)["status"] == "interrupted"


def test_a_killed_run_leaves_a_readable_interrupted_record(tmp_path: Path) -> None:
    proj = project(
        tmp_path,
        """
        id: demo
        steps:
          - {id: a, image: alpine:3.20, cmd: [x]}
          - {id: b, image: alpine:3.20, cmd: [x], inputs: [{step: a}]}
        """,
    )
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, pipex
        from pipex.runtime.fake import FakeRuntime, Behaviour
        rt = FakeRuntime()
        rt.script(step="b", behaviour=Behaviour(delay=30))
        async def go():
            engine = pipex.Engine(workdir={str(tmp_path / "wd")!r}, runtime=rt)
            async for event in engine.run(pipex.load({str(proj)!r})):
                if isinstance(event, pipex.StepStart) and event.step.id == "b":
                    await asyncio.sleep(1.0)
                    os.kill(os.getpid(), signal.SIGKILL)
        asyncio.run(go())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -9, done.stderr
    rec = records.read(Workspace(tmp_path / "wd", "demo"))
    assert rec["status"] == "interrupted"
    s = steps_of(rec)
    assert s["a"]["outcome"] == "ran"
    assert (s["b"]["outcome"], s["b"]["reason"]) == ("cancelled", "interrupted")


def test_an_interrupted_run_is_recorded_as_such(tmp_path: Path) -> None:
    proj = project(tmp_path)

    async def go() -> None:
        engine = pipex.Engine(workdir=tmp_path / "wd", runtime=_slow_runtime())
        async for event in engine.run(pipex.load(proj)):
            if isinstance(event, StepStart) and event.step.id == "c":
                engine.interrupt()

    asyncio.run(go())
    rec = records.read(Workspace(tmp_path / "wd", "demo"))
    assert rec["status"] == "interrupted" and rec["live"] is False
    assert steps_of(rec)["c"]["outcome"] == "cancelled"


def test_runs_lists_newest_first_with_a_limit_and_prune_trims(tmp_path: Path) -> None:
    proj = project(tmp_path)
    ids = [run(proj, workdir=tmp_path / "wd", force=True).result.run_id for _ in range(3)]
    handle = Workspace_handle(tmp_path)
    assert [r.run_id for r in handle.runs()] == ids[::-1]
    assert [r.run_id for r in handle.runs(limit=2)] == ids[:0:-1]
    first = handle.runs(limit=1)[0].to_json()
    assert first["status"] == "success" and first["pipeline"] == "demo" and first["counts"]["ran"] == 3
    assert isinstance(first["durationMs"], int)
    done = handle.prune(keep_runs=1)
    assert done.records == tuple(ids[:2])
    assert [r.run_id for r in handle.runs()] == ids[2:]
    assert handle.record()["runId"] == ids[2]


def test_damaged_or_unknown_records_are_errors_with_a_fix(tmp_path: Path) -> None:
    proj = project(tmp_path)
    run(proj, workdir=tmp_path / "wd")
    ws = Workspace(tmp_path / "wd", "demo")
    with pytest.raises(pipex.WorkspaceNotFound) as missing:
        records.read(ws, "20261204T101500123Z-1a2b3c4d")
    assert missing.value.message == 'pipeline run "20261204T101500123Z-1a2b3c4d" is not recorded in workspace "demo"'
    assert missing.value.hint == "`pipex runs demo` lists the recorded runs"
    with pytest.raises(pipex.WorkspaceError) as bad:
        records.read(ws, "../../etc/passwd")
    assert bad.value.message == 'invalid run id "../../etc/passwd"'
    path = record_files(tmp_path / "wd")[0]
    path.write_text("{not json")
    with pytest.raises(pipex.WorkspaceError):
        records.read(ws)
    assert [r.status for r in records.summaries(ws)] == ["damaged"]
    empty = Workspace(tmp_path / "wd", "empty")
    empty.create()
    with pytest.raises(pipex.WorkspaceNotFound) as none:
        records.read(empty)
    assert none.value.message == 'workspace "empty" has no recorded pipeline runs'


def test_the_record_is_compact_json(tmp_path: Path) -> None:
    proj = project(tmp_path)
    run(proj, workdir=tmp_path / "wd")
    text = record_files(tmp_path / "wd")[0].read_text()
    assert json.loads(text)["version"] == records.VERSION
    assert "\n" not in text.rstrip("\n")


def test_an_image_pull_is_its_own_segment(tmp_path: Path) -> None:
    proj = project(
        tmp_path,
        """
        id: demo
        steps:
          - {id: p, image: "example.org/new:1", cmd: [x]}
        """,
    )
    rt = FakeRuntime(images=())
    rt.pullable.add("example.org/new:1")
    result = run(proj, workdir=tmp_path / "wd", runtime=rt)
    assert result.status == "success"
    s = steps_of(records.read(Workspace(tmp_path / "wd", "demo")))["p"]
    assert [seg["phase"] for seg in s["segments"]] == ["queued", "pull", "run"]
    assert s["image"] == "example.org/new:1"
