"""Approval gates (engine/gates.py): a gate waits, holds its dependents, suspends the run (exit code 5); an
approval bound to its inputs' fingerprint lets the next run (its resumption) go on without redoing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipex.errors import PipelineError
from pipex.model.pipeline import Pipeline
from pipex.testing import TestResult, mock, run
from pipex.workspace.approvals import Approvals


def pipeline(*steps: dict[str, Any]) -> Pipeline:
    full = [s if "approval" in s else {"image": "alpine:3.20", "cmd": ["true"], **s} for s in steps]
    return Pipeline.from_dict({"id": "g", "steps": full}, root=Path.cwd())


GATED = pipeline(
    {"id": "report"},
    {"id": "publish-ok", "approval": {"message": "Publish the quarterly report?"}, "inputs": [{"step": "report"}]},
    {"id": "publish", "inputs": [{"step": "publish-ok"}, {"step": "report"}]},
    {"id": "archive", "inputs": [{"step": "report"}]},
)


def decide(workdir: Path, step: str, *, approved: bool, text: str = "") -> None:
    store = Approvals(workdir / "g")
    store.decide(step, approved=approved, text=text, fingerprint=store.waiting[step].fingerprint, by="ann")
    store.save()


def first(workdir: Path) -> TestResult:
    return run(GATED, mocks=[mock("report", files={"r.txt": b"q3"})], workdir=workdir)


def test_a_gate_waits_holds_its_dependents_and_suspends_the_run(tmp_path: Path) -> None:
    done = first(tmp_path)
    r = done.result
    assert (r.status, r.exit_code, r.waiting) == ("suspended", 5, ("publish-ok",))
    assert done.ran("report") and done.ran("archive")  # what does not depend on the gate runs
    assert done.outcome("publish-ok").state == "waiting"
    assert done.outcome("publish").state == "pending" and not done.ran("publish")
    waits = [e.to_json() for e in done.events if e.kind == "step_waiting"]
    assert [(w["step"]["id"], w["message"]) for w in waits] == [("publish-ok", "Publish the quarterly report?")]
    store = Approvals(tmp_path / "g")
    assert store.suspended == r.run_id and store.waiting["publish-ok"].run_id == r.run_id


def test_an_approved_gate_resumes_without_redoing_upstream_work(tmp_path: Path) -> None:
    suspended = first(tmp_path).result
    decide(tmp_path, "publish-ok", approved=True, text="looks good")
    again = run(GATED, workdir=tmp_path)
    assert again.status == "success"
    assert again.cached("report") and again.cached("archive") and again.ran("publish")
    assert again.outcome("publish-ok").message is not None
    assert again.outcome("publish-ok").message.startswith("approved by ann at ")
    start, end = again.events[0].to_json(), again.events[-1].to_json()
    assert start["resumedFrom"] == end["resumedFrom"] == suspended.run_id
    assert Approvals(tmp_path / "g").suspended is None
    third = run(GATED, workdir=tmp_path)
    assert third.status == "success" and third.cached("publish") and "resumedFrom" not in third.events[0].to_json()


def test_a_rejected_gate_fails_as_a_dependency(tmp_path: Path) -> None:
    first(tmp_path)
    decide(tmp_path, "publish-ok", approved=False, text="numbers are off")
    again = run(GATED, workdir=tmp_path)
    r = again.result
    assert (r.status, r.exit_code, r.failed_step, r.failure_source) == ("failed", 1, "publish-ok", "dependency")
    assert again.outcome("publish-ok").reason == "rejected"
    assert again.skipped("publish", "dependency")


def test_an_approval_is_bound_to_the_inputs_it_was_given_for(tmp_path: Path) -> None:
    first(tmp_path)
    decide(tmp_path, "publish-ok", approved=True)
    changed = run(GATED, mocks=[mock("report", files={"r.txt": b"q3, revised"})], force=["report"], workdir=tmp_path)
    assert changed.status == "suspended"
    assert changed.outcome("publish-ok").message == (
        "Publish the quarterly report? (its inputs changed since the last decision)"
    )


def test_run_approve_decides_in_advance(tmp_path: Path) -> None:
    done = run(GATED, approve=["publish-ok"], workdir=tmp_path)
    assert done.status == "success" and done.ran("publish")
    assert Approvals(tmp_path / "g").decisions["publish-ok"].text == "pipex run --approve"


def test_a_dry_run_says_the_gate_would_wait_and_writes_nothing(tmp_path: Path) -> None:
    done = run(GATED, dry_run=True, workdir=tmp_path)
    assert done.outcome("publish-ok").state == "waiting"
    assert not (tmp_path / "g" / "approvals.json").exists()


def test_a_gate_runs_no_container_and_has_no_container_fields(tmp_path: Path) -> None:
    done = first(tmp_path)
    assert not [a for n, a in done.runtime.calls if n == "create" and a[0].labels.get("pipex.step") == "publish-ok"]
    with pytest.raises(PipelineError) as info:
        pipeline({"id": "ok", "approval": {}, "image": "alpine:3.20"})
    assert [str(p) for p in info.value.problems] == [
        'steps[0].image: an approval gate cannot set "image" (a gate runs no container)'
    ]


def test_an_always_step_below_a_waiting_gate_is_held_too(tmp_path: Path) -> None:
    p = pipeline(
        {"id": "a"},
        {"id": "ok", "approval": {}, "inputs": [{"step": "a"}]},
        {"id": "tidy", "when": "always", "inputs": [{"step": "ok"}]},
    )
    done = run(p, workdir=tmp_path)
    assert done.status == "suspended" and done.outcome("tidy").state == "pending" and done.calls("tidy") == 0
    assert done.outcome("ok").message == "waiting for approval"


def test_approve_names_a_known_step(tmp_path: Path) -> None:
    from pipex.errors import UsageError

    with pytest.raises(UsageError) as info:
        run(GATED, approve=["publish-k"], workdir=tmp_path)
    assert info.value.message == '--approve: unknown step "publish-k"; did you mean "publish-ok"?'


def test_the_run_record_keeps_the_terminal_record(tmp_path: Path) -> None:
    from pipex.workspace import records
    from pipex.workspace.layout import Workspace

    held = first(tmp_path).result
    rec = records.read(Workspace(tmp_path, "g"), held.run_id)
    assert (rec["status"], rec["waiting"], rec["failureSource"], rec["resumedFrom"]) == (
        "suspended",
        ["publish-ok"],
        None,
        None,
    )
    decide(tmp_path, "publish-ok", approved=False)
    again = run(GATED, workdir=tmp_path).result
    rec = records.read(Workspace(tmp_path, "g"), again.run_id)
    assert (rec["failedStep"], rec["failureSource"], rec["resumedFrom"]) == ("publish-ok", "dependency", held.run_id)
