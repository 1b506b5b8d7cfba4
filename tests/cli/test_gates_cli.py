"""Approval gates on the command line: a suspended run (exit 5) says what to type next; ``approve``/``reject``;
``resume`` (also of a detached run) and ``run --approve``."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest

import pipex.daemon
from pipex.cli.main import main
from pipex.daemon.child import run_detached
from pipex.daemon.request import DetachedRequest
from pipex.engine.engine import Engine
from pipex.engine.events import Event, PipelineEnd
from pipex.engine.options import RunOptions
from pipex.runtime.fake import Behaviour, FakeRuntime

PIPELINE = """\
id: rel
steps:
  - id: report
    image: alpine:3.20
    cmd: [sh, -c, "echo q3 > /output/r.txt"]
  - id: publish-ok
    approval: {message: "Publish the quarterly report?"}
    inputs: [{step: report}]
  - id: publish
    image: alpine:3.20
    cmd: [ls, /input]
    inputs: [{step: publish-ok}, {step: report}]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    here = tmp_path / "project"
    here.mkdir()
    (here / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.chdir(here)
    monkeypatch.setenv("USER", "ann")
    return here


@pytest.fixture
def runtime() -> FakeRuntime:
    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(step="report", behaviour=Behaviour(files={"r.txt": b"q3"}))
    return rt


def cli(args: list[str], runtime: FakeRuntime) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["--no-color", *args], runtime=runtime)
    assert isinstance(exited.value.code, int)
    return exited.value.code


def created(runtime: FakeRuntime) -> list[str]:
    return [args[0].labels["pipex.step"] for name, args in runtime.calls if name == "create"]


def test_suspend_approve_resume(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wd = ["--workdir", str(tmp_path / "wd")]
    assert cli([*wd, "run"], runtime) == 5
    err = re.sub(r"\d+(\.\d+)?m?s\b", "T", capsys.readouterr().err)
    assert err.splitlines()[-7:] == [
        "⏸ publish-ok  waiting for approval: Publish the quarterly report?",
        "",
        "⏸ publish-ok  waiting for approval",
        "  approve: pipex approve rel publish-ok",
        "  then:    pipex resume rel   (or pipex run again)",
        "  or:      pipex reject rel publish-ok -m REASON",
        "⏸ suspended after T: 1 ran, 0 cached, 0 failed, 0 skipped, 1 waiting for approval",
    ]
    assert cli([*wd, "approve", "rel", "publish-ok", "-m", "checked"], runtime) == 0
    assert capsys.readouterr().err == 'approved publish-ok in workspace "rel" as ann; go on: pipex resume rel\n'
    assert cli([*wd, "resume", "rel", "--json"], runtime) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["resumedFrom"] == events[-1]["resumedFrom"] is not None
    assert [e["event"] for e in events if e.get("step", {}).get("id") == "report"] == ["step_cached"]
    assert created(runtime) == ["report", "publish"]  # report ran once, publish after the approval


def test_a_rejected_gate_fails_the_resumed_run(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wd = ["--workdir", str(tmp_path / "wd")]
    assert cli([*wd, "run"], runtime) == 5
    assert cli([*wd, "reject", "rel", "publish-ok", "-m", "numbers are off"], runtime) == 0
    capsys.readouterr()
    assert cli([*wd, "resume", "rel", "--json"], runtime) == 1
    end = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (end["failedStep"], end["failureSource"]) == ("publish-ok", "dependency")
    assert end["errors"][0]["kind"] == "rejected" and "numbers are off" in end["errors"][0]["message"]
    assert created(runtime) == ["report"]


def test_approving_what_does_not_wait_says_how_to_approve_in_advance(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wd = ["--workdir", str(tmp_path / "wd")]
    assert cli([*wd, "run", "--approve", "publish-ok"], runtime) == 0
    capsys.readouterr()
    assert cli([*wd, "approve", "rel", "publish-ok"], runtime) == 2
    assert capsys.readouterr().err.splitlines() == [
        'error: step "publish-ok" is not an approval gate waiting in workspace "rel" (waiting: none)',
        "hint: to approve a gate before a run reaches it: pipex run --approve publish-ok",
    ]
    assert cli([*wd, "resume", "nothing-here"], runtime) == 1
    assert capsys.readouterr().err.startswith('error: workspace "nothing-here" does not exist in ')


def test_a_detached_run_suspends_then_resumes_in_the_background(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "wd"
    request = DetachedRequest(
        pipeline=project / "pipeline.yml", cwd=project, workdir=workdir, runtime="auto", host=None,
        options=RunOptions(workspace="bg"),
    )  # fmt: skip
    read_end, write_end = os.pipe()
    assert run_detached(request, write_end, runtime=runtime, redirect_stdio=False) == 5
    os.close(read_end)
    assert cli(["--workdir", str(workdir), "attach", "bg"], runtime) == 5
    assert "pipex approve bg publish-ok" in capsys.readouterr().err
    assert cli(["--workdir", str(workdir), "approve", "bg", "publish-ok"], runtime) == 0

    async def events() -> list[Event]:
        return [event async for event in pipex.daemon.attach(Engine(workdir), "bg")]

    read_end, write_end = os.pipe()
    resumed = DetachedRequest(
        pipeline=project / "pipeline.yml", cwd=project, workdir=workdir, runtime="auto", host=None,
        options=RunOptions(workspace="bg"),
    )  # fmt: skip
    assert run_detached(resumed, write_end, runtime=runtime, redirect_stdio=False) == 0
    os.close(read_end)
    end = asyncio.run(events())[-1]
    assert isinstance(end, PipelineEnd) and end.result.status == "success" and end.result.resumed_from
    assert created(runtime) == ["report", "publish"]
