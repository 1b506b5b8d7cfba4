"""``Engine.exec`` against the fake runtime: one step in a workspace, inputs from its runs, cache, --ephemeral."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pipex.cli.commands.exec import exit_status
from pipex.engine.engine import Engine
from pipex.engine.events import Event, PipelineEnd, RunResult, StepCached, StepLog, StepStart
from pipex.errors import PipelineError, UsageError, WorkspaceError
from pipex.runtime.base import ContainerSpec
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import mock, run
from tests.unit.engine.test_engine_support import write

PIPELINE = """
id: ex
steps:
  - id: download
    image: alpine:3.20
    cmd: [download]
  - id: report
    image: alpine:3.20
    cmd: [report]
    inputs: [{step: download}]
"""

STEP = """
id: peek
image: alpine:3.20
cmd: [peek]
"""


def exec_(engine: Engine, source: object, ws: str = "ex", **kwargs: object) -> tuple[RunResult, list[Event]]:
    async def collect() -> list[Event]:
        return [e async for e in engine.exec(source, ws, **kwargs)]  # type: ignore[arg-type]

    events = asyncio.run(collect())
    end = events[-1]
    assert isinstance(end, PipelineEnd)
    return end.result, events


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    write(root, PIPELINE)
    write(root, STEP, name="peek.yml")
    return root


@pytest.fixture
def rt() -> FakeRuntime:
    return FakeRuntime()


def state(ws: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ws / "state.json").read_text())
    return data


def seeded(project: Path, wd: Path) -> None:
    first = run(project, mocks=[mock("download", files={"x.txt": b"data"})], workdir=wd)
    assert first.status == "success"


def binds(rt: FakeRuntime, step: str) -> dict[str, str]:
    specs = [c[1][0] for c in rt.calls if c[0] == "create" and isinstance(c[1][0], ContainerSpec)]
    spec = [s for s in specs if s.labels.get("pipex.step") == step][-1]
    return {b.target: b.source.parent.name for b in spec.binds if b.target.startswith("/input/")}


def test_exec_mounts_an_aliased_input_and_is_cached_the_second_time(
    project: Path, tmp_path: Path, rt: FakeRuntime
) -> None:
    wd = tmp_path / "wd"
    seeded(project, wd)
    download_run = state(wd / "ex")["steps"]["download"]["lastSuccess"]["runId"]
    engine = Engine(workdir=wd, runtime=rt)
    result, events = exec_(engine, project / "peek.yml", inputs=["data=download"])
    assert result.status == "success"
    assert [type(e) for e in events if isinstance(e, StepStart)] == [StepStart]
    assert binds(rt, "peek") == {"/input/data": download_run}
    assert state(wd / "ex")["steps"]["peek"]["lastSuccess"]["runId"] == result.outcome("peek").run_id

    again, events = exec_(engine, project / "peek.yml", inputs=["data=download"])
    assert [e.step.id for e in events if isinstance(e, StepCached)] == ["peek"]
    assert again.outcome("peek").state == "cached"


def test_exec_of_a_pipeline_step_reads_its_inputs_from_the_workspace(
    project: Path, tmp_path: Path, rt: FakeRuntime
) -> None:
    wd = tmp_path / "wd"
    seeded(project, wd)
    engine = Engine(workdir=wd, runtime=rt)
    result, _ = exec_(engine, project / "pipeline.yml", step="report")
    assert result.outcome("report").state == "cached"  # the pipeline's run of report is the same step
    result, _ = exec_(engine, project / "pipeline.yml", step="report", force=True)
    assert result.outcome("report").state == "success"
    assert list(binds(rt, "report")) == ["/input/download"]


def test_exec_names_an_input_without_a_successful_run(project: Path, tmp_path: Path, rt: FakeRuntime) -> None:
    with pytest.raises(WorkspaceError) as caught:
        exec_(Engine(workdir=tmp_path / "wd", runtime=rt), project / "peek.yml", inputs=["download"])
    assert caught.value.message == 'input "download" has no successful run in workspace "ex"'
    assert rt.calls == []


def test_exec_needs_step_for_a_file_of_several(project: Path, tmp_path: Path, rt: FakeRuntime) -> None:
    with pytest.raises(UsageError) as caught:
        exec_(Engine(workdir=tmp_path / "wd", runtime=rt), project / "pipeline.yml")
    assert caught.value.message.endswith("pipeline.yml holds 2 steps (download, report); choose one")
    assert caught.value.hint == "pass --step ID"


def test_exec_rejects_an_invalid_step_file(project: Path, tmp_path: Path, rt: FakeRuntime) -> None:
    write(project, "id: bad\nimage: alpine:3.20\n", name="bad.yml")
    with pytest.raises(PipelineError):
        exec_(Engine(workdir=tmp_path / "wd", runtime=rt), project / "bad.yml")


def test_ephemeral_streams_stdout_keeps_nothing_and_exits_with_the_step_status(
    project: Path, tmp_path: Path, rt: FakeRuntime
) -> None:
    wd = tmp_path / "wd"
    seeded(project, wd)
    before = state(wd / "ex")
    runs = sorted(p.name for p in (wd / "ex" / "runs").iterdir())
    rt.script(step="peek", behaviour=Behaviour(exit_code=7, stdout=b"one\ntwo\n"))
    result, events = exec_(Engine(workdir=wd, runtime=rt), project / "peek.yml", ephemeral=True)
    assert [e.line for e in events if isinstance(e, StepLog) and e.stream == "stdout"] == ["one", "two"]
    assert exit_status(result, ephemeral=True) == 7
    assert exit_status(result, ephemeral=False) == 1
    assert state(wd / "ex") == before
    assert sorted(p.name for p in (wd / "ex" / "runs").iterdir()) == runs
    assert list((wd / "ex" / "staging").iterdir()) == []


def test_ephemeral_stdout_is_copied_byte_for_byte(project: Path, tmp_path: Path, rt: FakeRuntime) -> None:
    wd = tmp_path / "wd"
    seeded(project, wd)
    raw = bytes(range(256)) + b"no newline at the end"
    rt.script(step="peek", behaviour=Behaviour(stdout=raw, stderr=b"not on stdout\n"))
    out = io.BytesIO()
    result, _ = exec_(Engine(workdir=wd, runtime=rt), project / "peek.yml", ephemeral=True, stdout=out)
    assert result.status == "success"
    assert out.getvalue() == raw


def test_exec_honours_if(project: Path, tmp_path: Path, rt: FakeRuntime) -> None:
    write(project, STEP + "if: env.GO == 'yes'\n", name="cond.yml")
    result, _ = exec_(Engine(workdir=tmp_path / "wd", runtime=rt, environ={"GO": "no"}), project / "cond.yml")
    assert result.outcome("peek").state == "skipped"
    assert rt.calls == [] or all(c[0] != "create" for c in rt.calls)


def test_a_failed_exec_keeps_its_failed_run(project: Path, tmp_path: Path, rt: FakeRuntime) -> None:
    wd = tmp_path / "wd"
    rt.script(step="peek", behaviour=Behaviour(exit_code=2, stderr=b"bad\n"))
    result, _ = exec_(Engine(workdir=wd, runtime=rt), project / "peek.yml")
    run_id = result.outcome("peek").run_id
    assert result.status == "failed" and run_id is not None
    assert (wd / "ex" / "runs" / run_id / "stderr.log").read_bytes() == b"bad\n"
    assert state(wd / "ex")["steps"]["peek"]["last"]["status"] == "failure"


def test_ephemeral_stderr_goes_to_stderr_and_no_logs_command(project: Path, tmp_path: Path, rt: FakeRuntime) -> None:
    from pipex.cli.reporters.base import render
    from pipex.cli.reporters.summary import summary_lines

    wd = tmp_path / "wd"
    seeded(project, wd)
    rt.script(step="peek", behaviour=Behaviour(exit_code=3, stdout=b"out\n", stderr=b"warn: \xff bad\n"))
    out, err = io.BytesIO(), io.BytesIO()
    result, _ = exec_(Engine(workdir=wd, runtime=rt), project / "peek.yml", ephemeral=True, stdout=out, stderr=err)
    assert (out.getvalue(), err.getvalue()) == (b"out\n", b"warn: \xff bad\n")
    text = [render(line, color=False) for line in summary_lines(result, "ex", kept=False)]
    assert text[:2] == ["", "✗ peek  exit 3"]
    assert text[2].startswith("✗ failed after ") and text[2].endswith(": 1 ran, 0 cached, 1 failed, 0 skipped")
    assert len(text) == 3
    assert not any("pipex logs" in line for line in text)
