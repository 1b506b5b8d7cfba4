"""``when: success|failure|always``: clean-up and notifications that run after a failure (see engine/when.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipex.errors import PipelineError
from pipex.model.pipeline import Pipeline
from pipex.runtime.fake import FakeRuntime
from pipex.runtime.labels import STEP
from pipex.testing import mock, run


def pipeline(*steps: dict[str, Any]) -> Pipeline:
    full = [{"image": "alpine:3.20", "cmd": ["true"], **s} for s in steps]
    return Pipeline.from_dict({"id": "w", "steps": full}, root=Path.cwd())


def input_mounts(rt: FakeRuntime, step: str) -> list[str]:
    specs = [args[0] for name, args in rt.calls if name == "create" and args[0].labels.get(STEP) == step]
    return sorted(b.target for b in specs[-1].binds if b.target.startswith("/input/"))


CHAIN = (
    {"id": "a"},
    {"id": "b", "inputs": [{"step": "a"}]},
    {"id": "c", "inputs": [{"step": "b"}]},
)


def test_always_runs_after_a_failure_and_sees_only_what_succeeded(tmp_path: Path) -> None:
    p = pipeline(*CHAIN, {"id": "cleanup", "when": "always", "inputs": [{"step": "a"}, {"step": "b"}]})
    done = run(
        p,
        mocks=[mock("a", files={"x": b"1"}), mock("b", exit_code=1), mock("cleanup", stdout=["cleaned"])],
        workdir=tmp_path,
    )
    assert done.ran("cleanup") and done.logs("cleanup") == ["cleaned"]
    assert done.skipped("c", "dependency")
    # the run still failed (b), and cleanup's own success does not hide it
    assert (done.status, done.result.failed_steps, done.result.exit_code) == ("failed", ("b",), 1)
    assert input_mounts(done.runtime, "cleanup") == ["/input/a"]


def test_always_runs_after_a_success_too(tmp_path: Path) -> None:
    p = pipeline(*CHAIN, {"id": "report", "when": "always", "inputs": [{"step": "c"}]})
    done = run(p, workdir=tmp_path)
    assert done.status == "success" and done.ran("report")


def test_failure_runs_only_below_a_failure_even_several_steps_down(tmp_path: Path) -> None:
    p = pipeline(*CHAIN, {"id": "notify", "when": "failure", "inputs": [{"step": "c"}]})
    ok = run(p, workdir=tmp_path / "ok")
    assert ok.status == "success" and ok.skipped("notify", "condition")
    broke = run(p, mocks=[mock("a", exit_code=3)], workdir=tmp_path / "broke")
    # c never ran (skipped below a), yet the chain broke: notify runs
    assert broke.skipped("c", "dependency") and broke.ran("notify")
    assert broke.status == "failed" and broke.result.failed_step == "a"


def test_failure_does_not_run_below_a_skip_by_condition(tmp_path: Path) -> None:
    p = pipeline(
        {"id": "a", "if": "env.NEVER == 'yes'"},
        {"id": "b", "inputs": [{"step": "a"}]},
        {"id": "notify", "when": "failure", "inputs": [{"step": "b"}]},
    )
    done = run(p, workdir=tmp_path, environ={})
    assert done.status == "success"
    # b: every input skipped by its condition is a skip by condition (dynamic.md, joins after a switch)
    assert done.skipped("a", "condition") and done.skipped("b", "condition") and done.skipped("notify", "condition")


def test_a_failed_always_step_fails_the_run(tmp_path: Path) -> None:
    p = pipeline({"id": "a"}, {"id": "cleanup", "when": "always", "inputs": [{"step": "a"}]})
    done = run(p, mocks=[mock("cleanup", exit_code=2)], workdir=tmp_path)
    assert done.status == "failed" and done.result.failed_steps == ("cleanup",)


def test_a_cached_always_step_stays_cached(tmp_path: Path) -> None:
    p = pipeline({"id": "a"}, {"id": "cleanup", "when": "always", "inputs": [{"step": "a"}]})
    run(p, workdir=tmp_path)
    again = run(p, workdir=tmp_path)
    assert again.cached("a") and again.cached("cleanup")


def test_when_failure_without_inputs_is_a_validation_error() -> None:
    with pytest.raises(PipelineError) as info:
        pipeline({"id": "notify", "when": "failure"})
    assert [str(p) for p in info.value.problems] == [
        'steps[0].when: "failure" needs inputs: the step runs only when one of its inputs failed '
        "(list the steps whose failure it handles in inputs)"
    ]


def test_an_unknown_when_is_a_validation_error() -> None:
    with pytest.raises(PipelineError) as info:
        pipeline({"id": "a", "when": "sometimes"})
    assert [str(p) for p in info.value.problems] == [
        'steps[0].when: expected one of "success", "failure", "always", got the string "sometimes"'
    ]
