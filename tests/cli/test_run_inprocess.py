"""``pipex run`` and detached runs in-process, on the fake runtime (``main(argv, runtime=...)``, ``run_detached``).

The detached run's double fork is exercised by the engine tests (tests/engines/test_detach_real.py); here the
background process's entry function runs in the test process, from the same serialized request.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

import pipex.daemon
from pipex.cli.main import main
from pipex.daemon.child import run_detached
from pipex.daemon.request import DetachedRequest
from pipex.engine.engine import Engine
from pipex.engine.events import Event, PipelineEnd
from pipex.engine.options import RunOptions
from pipex.errors import UsageError
from pipex.kits.check import load
from pipex.runtime.fake import Behaviour, FakeRuntime

PIPELINE = """\
id: demo
steps:
  - id: hello
    image: alpine:3.20
    cmd: [echo, hi]
  - id: two
    image: alpine:3.20
    cmd: [cat, /input/hello/a.txt]
    inputs: [{step: hello}]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    here = tmp_path / "project"
    here.mkdir()
    (here / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.chdir(here)
    return here


@pytest.fixture
def runtime() -> FakeRuntime:
    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(step="hello", behaviour=Behaviour(stdout="hi\n", files={"a.txt": b"1"}))
    return rt


def pipex_cli(args: list[str], runtime: FakeRuntime) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["--no-color", *args], runtime=runtime)
    code = exited.value.code
    assert isinstance(code, int)
    return code


def test_run_then_a_cached_rerun(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = str(tmp_path / "wd")
    assert pipex_cli(["--workdir", workdir, "run", "--json"], runtime) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["event"], e.get("step", {}).get("id")) for e in events] == [
        ("pipeline_start", None),
        ("step_start", "hello"),
        ("step_log", "hello"),
        ("step_end", "hello"),
        ("step_start", "two"),
        ("step_end", "two"),
        ("pipeline_end", None),
    ]
    assert events[2]["line"] == "hi"
    assert events[-1]["counts"] == {"ran": 2, "cached": 0, "skipped": 0, "failed": 0, "wouldRun": 0, "cancelled": 0}
    created = len([c for c in runtime.calls if c[0] == "create"])

    assert pipex_cli(["--workdir", workdir, "run", "--json"], runtime) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in again] == ["pipeline_start", "step_cached", "step_cached", "pipeline_end"]
    assert len([c for c in runtime.calls if c[0] == "create"]) == created  # no container for a cached step


def test_a_failed_step_exits_1_with_its_output(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime.script(step="two", behaviour=Behaviour(exit_code=3, stderr="bad\n"))
    assert pipex_cli(["--workdir", str(tmp_path / "wd"), "run"], runtime) == 1
    err = re.sub(r"\d+\.\d+s", "Ts", capsys.readouterr().err)
    assert err.splitlines() == [
        "pipeline demo · workspace demo · 2 steps",
        "▶ hello  started",
        "✓ hello  Ts 1 B",
        "▶ two  started",
        "✗ two  exit 3 Ts",
        "",
        "✗ two  exit 3",
        "  │ bad",
        "  all output: pipex logs demo two",
        "✗ failed after Ts: 2 ran, 0 cached, 1 failed, 0 skipped",
    ]


def test_run_options_reach_the_engine(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pipex_cli(["--workdir", str(tmp_path / "wd"), "run", "-t", "hello", "-w", "other", "--json"], runtime) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {e["workspace"] for e in events} == {"other"}
    assert [e["step"]["id"] for e in events if e["event"] == "step_end"] == ["hello"]


def test_a_runtime_object_cannot_be_detached(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pipex_cli(["--workdir", str(tmp_path / "wd"), "run", "-d"], runtime) == 2
    assert capsys.readouterr().err == (
        "error: a detached run needs the runtime by name (auto, podman or docker), not a Runtime object\n"
    )


def test_options_and_keywords_together_are_refused(project: Path, runtime: FakeRuntime) -> None:
    engine = Engine(project / "wd", runtime)
    with pytest.raises(UsageError) as caught:
        engine.run(load(), RunOptions(), workspace="x", dry_run=True)
    assert caught.value.message == (
        "give a run's options either as a RunOptions or as keywords, not both: workspace, dry_run"
    )


def test_run_options_survive_json() -> None:
    options = RunOptions(
        workspace="w",
        force=("a", "b"),
        target=("c",),
        concurrency=3,
        env_file=Path("/x/.env"),
        timeout=2.5,
        pull="never",
        explain=True,
        strict_limits=True,
        logs="last",
    )
    assert RunOptions.from_json(json.loads(json.dumps(options.to_json()))) == options
    assert RunOptions.from_json(RunOptions(force=True).to_json()) == RunOptions(force=True)


def detached_request(project: Path, workdir: Path, **options: object) -> DetachedRequest:
    request = DetachedRequest(
        pipeline=project / "pipeline.yml",
        cwd=project,
        workdir=workdir,
        runtime="auto",
        host=None,
        options=replace(RunOptions(workspace="bg"), **options),  # type: ignore[arg-type]
    )
    again = DetachedRequest.from_json(json.loads(json.dumps(request.to_json())))  # as the child reads it
    assert again == request
    return again


def test_a_detached_run_reports_its_start_then_its_events_replay(
    project: Path, runtime: FakeRuntime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "wd"
    read_end, write_end = os.pipe()
    code = run_detached(detached_request(project, workdir), write_end, runtime=runtime, redirect_stdio=False)
    assert code == 0
    with os.fdopen(read_end, "rb") as status:
        started = json.loads(status.readline())
    assert started["ok"] is True
    assert (started["workspace"], started["pid"]) == ("bg", os.getpid())
    assert Path(started["events"]).is_file()

    async def replay() -> list[Event]:
        return [event async for event in pipex.daemon.attach(Engine(workdir), "bg")]

    events = asyncio.run(replay())
    assert {e.run_id for e in events} == {started["runId"]}
    end = events[-1]
    assert isinstance(end, PipelineEnd)
    assert (end.result.status, end.result.metrics.ran) == ("success", 2)

    assert pipex_cli(["--workdir", str(workdir), "attach", "bg", "--json"], runtime) == 0
    attached = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["seq"] for e in attached] == [e.seq for e in events]


def test_a_detached_run_that_cannot_start_says_why_on_the_status_pipe(
    project: Path, runtime: FakeRuntime, tmp_path: Path
) -> None:
    read_end, write_end = os.pipe()
    request = detached_request(project, tmp_path / "wd", target=("nope",))
    assert run_detached(request, write_end, runtime=runtime, redirect_stdio=False) == 2
    with os.fdopen(read_end, "rb") as status:
        message = json.loads(status.readline())
    assert message == {
        "ok": False,
        "error": "UsageError",
        "message": '--target: unknown step "nope"',
        "hint": "the step ids are: hello, two",
        "exitCode": 2,
    }
    assert not (tmp_path / "wd" / "bg").exists()  # it touched nothing
