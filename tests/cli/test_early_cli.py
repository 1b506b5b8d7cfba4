"""``pipex run`` when a dependent starts while its input's big artifacts are hashed (engine/early.py, at the default
``early_bytes``): its ``step_start`` comes before its input's ``step_end``, and every reporter copes."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from pipex.cli.reporters.live import LiveReporter
from pipex.engine.events import (
    Event,
    Metrics,
    PipelineEnd,
    PipelineStart,
    RunResult,
    StepEnd,
    StepOutcome,
    StepRef,
    StepStart,
)
from pipex.engine.options import RunOptions
from pipex.runtime.fake import Behaviour, FakeRuntime
from tests.cli.test_run_inprocess import pipex_cli
from tests.unit.engine.test_early_inputs import BIG, _sparse

PIPELINE = """\
id: demo
steps:
  - {id: produce, image: alpine:3.20, cmd: [make]}
  - {id: consume, image: alpine:3.20, cmd: [read], inputs: [{step: produce}]}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    here = tmp_path / "project"
    here.mkdir()
    (here / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    monkeypatch.chdir(here)
    return here


def _cli(args: list[str]) -> int:
    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse))  # sparse, well above the default threshold
    return pipex_cli(args, rt)


def test_json_stream_with_a_dependent_started_before_its_input_ended(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert RunOptions().early_bytes <= BIG  # the default threshold hands this tree over
    assert _cli(["--workdir", str(tmp_path / "wd"), "run", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["event"], e.get("step", {}).get("id")) for e in events] == [
        ("pipeline_start", None),
        ("step_start", "produce"),
        ("step_start", "consume"),
        ("step_end", "produce"),
        ("step_end", "consume"),
        ("pipeline_end", None),
    ]
    assert events[-1]["status"] == "success"


def test_plain_output_with_a_dependent_started_before_its_input_ended(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["--workdir", str(tmp_path / "wd"), "run"]) == 0
    err = capsys.readouterr().err
    shown = [re.sub(r"\d+\.\ds", "Ns", line) for line in err.splitlines()]
    assert shown == [
        "pipeline demo · workspace demo · 2 steps",
        "▶ produce  started",
        "▶ consume  started",
        "✓ produce  Ns 256.0 MB",
        "✓ consume  Ns",
        "✓ succeeded in Ns: 2 ran, 0 cached, 0 failed, 0 skipped",
    ]


def test_live_view_with_a_dependent_started_before_its_input_ended() -> None:
    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    produce, consume = StepRef("produce", "produce"), StepRef("consume", "consume")
    seq = iter(range(1, 100))

    def ev(cls: type[Event], at: float, **fields: object) -> Event:
        return cls(run_id="r1", seq=next(seq), ts=t0 + timedelta(seconds=at), workspace="ws", **fields)

    def end(step: StepRef, at: float) -> Event:
        return ev(StepEnd, at, step=step, status="success", exit_code=0, reason=None, step_run_id=step.id,
                  duration=at, artifacts_size=BIG)  # fmt: skip

    result = RunResult(
        run_id="r1",
        workspace="ws",
        status="success",
        steps=(StepOutcome("produce", "produce", "success"), StepOutcome("consume", "consume", "success")),
        duration=3.0,
        metrics=Metrics(ran=2),
    )
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, height=20, _environ={"TERM": "xterm"})
    reporter = LiveReporter(console, workspace="ws", auto_refresh=False, now=lambda: t0 + timedelta(seconds=2))
    reporter.handle(ev(PipelineStart, 0, pipeline="demo", steps=(produce, consume)))
    reporter.handle(ev(StepStart, 0, step=produce, image="alpine:3.20"))
    reporter.handle(ev(StepStart, 1, step=consume, image="alpine:3.20"))
    reporter.refresh()
    assert "0/2 done · 2 running" in _text(out)
    reporter.handle(end(produce, 2))
    reporter.refresh()
    assert "1/2 done · 1 running · 1 ok" in _text(out)
    reporter.handle(end(consume, 3))
    reporter.handle(ev(PipelineEnd, 3, result=result))
    reporter.close()
    assert "✓ succeeded in 3.0s: 2 ran" in _text(out)


def _text(out: io.StringIO) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
