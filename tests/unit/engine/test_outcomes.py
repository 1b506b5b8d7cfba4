"""A run's result from its steps' outcomes: allowed failures, the failure kind, pending steps of a stopped run."""

from __future__ import annotations

from pipex.engine.events import RunError, StepOutcome
from pipex.engine.outcomes import Outcomes
from pipex.model.spec import StepSpec


def specs() -> list[StepSpec]:
    return [
        StepSpec(id="a", name="A", image="i", cmd=("c",)),
        StepSpec(id="b", name="B", image="i", cmd=("c",), allow_failure=True),
        StepSpec(id="c", name="C", image="i", cmd=("c",)),
        StepSpec(id="d", name="D", image="i", cmd=("c",)),
    ]


def test_an_allowed_failure_does_not_fail_the_run() -> None:
    record = Outcomes(specs())
    record.by_step["b"] = StepOutcome("b", "B", "failure", reason="exit", exit_code=1, duration=2.0)
    record.by_step["a"] = StepOutcome("a", "A", "cached")
    assert record.status(None) == "success"
    assert record.failure() == (None, None, ())
    metrics = record.metrics(peak=1, pull_seconds=0.5)
    assert (metrics.ran, metrics.cached, metrics.failed, metrics.step_durations) == (1, 1, 1, {"b": 2.0})


def test_the_first_failed_step_in_file_order_names_the_kind() -> None:
    record = Outcomes(specs())
    record.by_step["d"] = StepOutcome("d", "D", "failure", reason="exit", message="exit code 2")
    record.by_step["c"] = StepOutcome("c", "C", "timeout", reason="timeout")
    assert record.status(None) == "failed"
    assert record.failure() == (
        "timeout",
        "step c: timeout",
        (RunError("c", "timeout", "user", "step c: timeout"), RunError("d", "exit", "user", "step d: exit code 2")),
    )
    result = record.result(
        run_id="r",
        workspace="w",
        duration=1.0,
        status="failed",
        metrics=record.metrics(peak=1, pull_seconds=0),
        dry_run=False,
    )
    assert result.failed_steps == ("c", "d") and result.failure_kind == "timeout"
    assert (result.failed_step, result.failure_source) == ("d", "user")  # d settled first
    assert [o.state for o in result.steps] == ["pending", "pending", "timeout", "failure"]


def test_a_stopped_run_keeps_its_status_and_marks_undecided_steps_cancelled() -> None:
    record = Outcomes(specs())
    record.by_step["a"] = StepOutcome("a", "A", "success")
    assert record.status("interrupted") == "interrupted"
    result = record.result(
        run_id="r",
        workspace="w",
        duration=1.0,
        status="interrupted",
        metrics=record.metrics(peak=1, pull_seconds=0),
        dry_run=False,
    )
    assert [o.state for o in result.steps] == ["success", "cancelled", "cancelled", "cancelled"]


def test_cancelled_steps_and_failed_pulls_did_not_run() -> None:
    record = Outcomes(specs())
    record.by_step["a"] = StepOutcome("a", "A", "failure", reason="image", message="cannot pull", run_id="ra")
    record.by_step["b"] = StepOutcome("b", "B", "cancelled", reason="cancelled", duration=1.0, run_id="rb")
    record.by_step["c"] = StepOutcome("c", "C", "failure", reason="exit", exit_code=1, duration=2.0, run_id="rc")
    record.by_step["d"] = StepOutcome("d", "D", "success", duration=3.0, run_id="rd")
    metrics = record.metrics(peak=2, pull_seconds=0)
    assert (metrics.ran, metrics.failed, metrics.cancelled) == (2, 2, 1)
    assert metrics.step_durations == {"c": 2.0, "d": 3.0}


def test_failure_sources_follow_the_first_failed_steps_reason() -> None:
    for reason, source in [
        ("exit", "user"),
        ("timeout", "user"),
        ("outputs", "user"),
        ("image", "dependency"),
        ("network", "dependency"),
        ("rejected", "dependency"),
        ("engine", "engine"),
        ("setup", "engine"),
    ]:
        record = Outcomes(specs())
        record.by_step["c"] = StepOutcome("c", "C", "failure", reason=reason, message="m")
        result = record.result(
            run_id="r",
            workspace="w",
            duration=0,
            status="failed",
            metrics=record.metrics(peak=0, pull_seconds=0),
            dry_run=False,
        )
        assert (result.failure_source, result.errors) == (source, (RunError("c", reason, source, "step c: m"),))


def test_waiting_gates_suspend_the_run_unless_something_failed() -> None:
    record = Outcomes(specs())
    record.by_step["a"] = StepOutcome("a", "A", "success")
    record.by_step["c"] = StepOutcome("c", "C", "waiting")
    assert record.status(None) == "suspended"
    assert record.waiting() == ("c",)
    record.by_step["d"] = StepOutcome("d", "D", "failure", reason="exit")
    assert record.status(None) == "failed"
