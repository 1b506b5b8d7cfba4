"""The terminal record (``RunResult``): the first failure in time, whose problem it is, errors as records, and the
``--json`` ``pipeline_end`` that carries them — also for a pipeline that does not validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipex.cli.main import main
from pipex.engine.events import RunError
from pipex.model.pipeline import Pipeline
from pipex.runtime.fake import FakeRuntime
from pipex.testing import mock, run


def two_steps() -> Pipeline:
    steps = [{"id": name, "image": "alpine:3.20", "cmd": ["false"]} for name in ("slow", "fast")]
    return Pipeline.from_dict({"id": "two", "steps": steps}, root=Path.cwd())


def test_a_failed_command_is_the_users_and_the_first_to_fail_is_named(tmp_path: Path) -> None:
    result = run(
        two_steps(),
        mocks=[mock("slow", exit_code=2, delay=0.3), mock("fast", exit_code=1)],
        workdir=tmp_path,
    ).result
    assert (result.status, result.exit_code) == ("failed", 1)
    assert result.failed_steps == ("slow", "fast")  # file order
    assert (result.failed_step, result.failure_source, result.failure_kind) == ("fast", "user", "step")
    assert result.errors == (
        RunError("slow", "exit", "user", "step slow: exited with code 2"),
        RunError("fast", "exit", "user", "step fast: exited with code 1"),
    )


def test_a_missing_image_is_a_dependency(tmp_path: Path) -> None:
    result = run(two_steps(), runtime=FakeRuntime(images=[]), workdir=tmp_path).result
    assert (result.failure_kind, result.failure_source) == ("image", "dependency")
    assert [(e.step, e.kind, e.source) for e in result.errors] == [
        ("slow", "image", "dependency"),
        ("fast", "image", "dependency"),
    ]


def test_the_json_pipeline_end_carries_the_record(tmp_path: Path) -> None:
    end = run(two_steps(), mocks=[mock("fast", exit_code=1)], workdir=tmp_path).events[-1].to_json()
    assert {k: end[k] for k in ("status", "failedStep", "failureSource", "failureKind", "waiting")} == {
        "status": "failed",
        "failedStep": "fast",
        "failureSource": "user",
        "failureKind": "step",
        "waiting": [],
    }
    assert end["errors"] == [
        {"step": "fast", "kind": "exit", "source": "user", "message": "step fast: exited with code 1"}
    ]


def test_an_invalid_pipeline_under_run_json_still_ends_with_one_pipeline_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pipeline.yml").write_text(
        'id: bad\nsteps:\n  - id: a\n    image: alpine:3.20\n    cmd: ["true"]\n    inputs: [{step: nope}]\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["--no-color", "--workdir", str(tmp_path / "wd"), "run", "--json"], runtime=FakeRuntime())
    assert exited.value.code == 2
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert len(lines) == 1
    end = lines[0]
    assert (end["event"], end["status"], end["failureKind"], end["failureSource"]) == (
        "pipeline_end",
        "failed",
        "validation",
        "user",
    )
    assert [(e["step"], e["kind"], e["source"]) for e in end["errors"]] == [(None, "validation", "user")]
    assert "nope" in end["errors"][0]["message"] and "error:" in out.err
