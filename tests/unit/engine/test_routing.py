"""Routing: `if` over upstream outputs and status, joins after a switch, fingerprints of the readers."""

from __future__ import annotations

from pathlib import Path

from pipex.engine.events import StepStart, StepWouldRun
from pipex.testing import mock, run
from tests.unit.engine.test_engine_support import creates, of, write

SWITCH = """
id: switch
steps:
  - {id: check, image: alpine:3.20, cmd: [check], outputs: [route, n]}
  - id: fast
    image: alpine:3.20
    cmd: [fast]
    inputs: [{step: check}]
    if: steps.check.outputs.route == "fast"
  - id: slow
    image: alpine:3.20
    cmd: [slow]
    inputs: [{step: check}]
    if: steps.check.outputs.route == "slow" && steps.check.outputs.n > 2
  - id: merge
    image: alpine:3.20
    cmd: [merge]
    inputs: [{step: fast, optional: true}, {step: slow, optional: true}]
  - {id: archive, image: alpine:3.20, cmd: [archive], inputs: [{step: check}]}
"""


def test_exactly_the_matching_branch_runs_and_the_join_runs(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SWITCH)
    r = run(path, mocks=[mock("check", outputs={"route": "fast", "n": 5})], workdir=tmp_path / "wd")
    assert r.status == "success"
    assert r.ran("fast") and r.skipped("slow", "condition") and r.ran("merge") and r.ran("archive")
    slow = run(path, mocks=[mock("check", outputs={"route": "slow", "n": 5})], workdir=tmp_path / "wd", force=True)
    assert slow.skipped("fast", "condition") and slow.ran("slow") and slow.ran("merge")


def test_a_join_whose_inputs_were_all_skipped_by_conditions_is_skipped_for_a_condition(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SWITCH)
    r = run(path, mocks=[mock("check", outputs={"route": "none", "n": 0})], workdir=tmp_path / "wd")
    assert r.status == "success"
    assert r.skipped("fast", "condition") and r.skipped("slow", "condition")
    assert r.skipped("merge", "condition") and r.ran("archive")
    assert [s.labels["pipex.step"] for s in creates(r.runtime)] == ["check", "archive"]


def test_an_upstream_output_that_changes_reruns_exactly_its_readers(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SWITCH)
    wd = tmp_path / "wd"
    run(path, mocks=[mock("check", outputs={"route": "slow", "n": 3})], workdir=wd)
    # check runs again with the same outputs (and artifacts): early cutoff, nothing else runs
    same = run(path, mocks=[mock("check", outputs={"route": "slow", "n": 3})], workdir=wd, force=["check"])
    assert same.ran("check") and same.cached("slow") and same.cached("merge") and same.cached("archive")
    # n changes and slow still matches: slow (the reader of n) re-runs, archive (reads no output) stays cached
    changed = run(
        path, mocks=[mock("check", outputs={"route": "slow", "n": 4})], workdir=wd, force=["check"], explain=True
    )
    assert changed.ran("slow") and changed.cached("archive") and changed.skipped("fast", "condition")
    (start,) = of(changed, StepStart, "slow")
    assert start.reasons == ("steps.check.outputs.n changed",)
    assert changed.cached("merge")  # slow's artifacts are the same bytes: early cutoff downstream


def test_status_routes_on_an_optional_input_that_failed(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: status
        steps:
          - {id: build, image: alpine:3.20, cmd: [build]}
          - id: alert
            image: alpine:3.20
            cmd: [alert]
            inputs: [{step: build, optional: true}]
            if: steps.build.status == "failure"
          - id: publish
            image: alpine:3.20
            cmd: [publish]
            inputs: [{step: build, optional: true}]
            if: steps.build.status == "success"
        """,
    )
    failed = run(path, mocks=[mock("build", exit_code=1)], workdir=tmp_path / "wd")
    assert failed.status == "failed" and failed.ran("alert") and failed.skipped("publish", "condition")
    ok = run(path, workdir=tmp_path / "wd")
    assert ok.ran("build") and ok.skipped("alert", "condition") and ok.ran("publish")
    cached = run(path, workdir=tmp_path / "wd")
    assert cached.cached("build") and cached.cached("publish")  # a cached step's status is success


def test_a_skipped_upstream_has_status_skipped_and_no_outputs(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: skipped
        steps:
          - {id: maybe, image: alpine:3.20, cmd: [maybe], if: env.RUN == "yes"}
          - id: after
            image: alpine:3.20
            cmd: [after]
            inputs: [{step: maybe, optional: true}, {step: other}]
            if: steps.maybe.status == "skipped" && !steps.maybe.outputs.x
          - {id: other, image: alpine:3.20, cmd: [other]}
        """,
    )
    r = run(path, workdir=tmp_path / "wd", environ={})
    assert r.skipped("maybe", "condition") and r.ran("after")


def test_dry_run_says_when_an_upstream_result_is_not_known_yet(tmp_path: Path) -> None:
    path = write(tmp_path / "p", SWITCH)
    r = run(path, workdir=tmp_path / "wd", dry_run=True)
    (fast,) = of(r, StepWouldRun, "fast")
    assert fast.reasons == ("depends on steps.check.outputs.route (not known before check runs)",)
    assert r.outcome("merge").state == "would_run"
    # once check is cached, its outputs are known: the dry run evaluates the conditions
    run(path, mocks=[mock("check", outputs={"route": "fast", "n": 1})], workdir=tmp_path / "wd")
    again = run(path, workdir=tmp_path / "wd", dry_run=True)
    assert again.cached("check") and again.cached("fast") and again.skipped("slow", "condition")
