"""The scheduler against the fake runtime: DAG order, the ready queue, skips, optional inputs, targets, force."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import pipex
from pipex.engine.events import StepCached, StepEnd, StepSkipped, StepStart
from pipex.errors import UsageError
from pipex.runtime.base import ImageRef
from pipex.runtime.fake import FakeRuntime
from pipex.testing import mock, run
from tests.unit.engine.test_engine_support import creates, index, of, write

DIAMOND = """
    id: dag
    steps:
      - {id: a, image: alpine:3.20, cmd: [a]}
      - {id: b, image: alpine:3.20, cmd: [b], inputs: [{step: a}]}
      - {id: c, image: alpine:3.20, cmd: [c], inputs: [{step: a}]}
      - {id: d, image: alpine:3.20, cmd: [d], inputs: [{step: b}, {step: c}]}
"""


@pytest.mark.parametrize("concurrency", [1, 2])
def test_dag_order_and_peak_parallelism(tmp_path: Path, concurrency: int) -> None:
    path = write(tmp_path / "p", DIAMOND)
    mocks = [mock("b", delay=0.05), mock("c", delay=0.05)]
    r = run(path, mocks=mocks, workdir=tmp_path / "wd", concurrency=concurrency)
    assert r.status == "success"
    assert all(r.ran(s) for s in "abcd")
    ev = r.events
    assert index(ev, StepEnd, "a") < min(index(ev, StepStart, "b"), index(ev, StepStart, "c"))
    assert index(ev, StepStart, "d") > max(index(ev, StepEnd, "b"), index(ev, StepEnd, "c"))
    assert r.result.metrics.peak_parallelism == concurrency
    assert r.result.metrics.ran == 4


def test_ready_queue_not_level_barriers(tmp_path: Path) -> None:
    # fast → after_fast must start while slow (same level as fast) is still running.
    path = write(
        tmp_path / "p",
        """
        id: q
        steps:
          - {id: slow, image: alpine:3.20, cmd: [slow]}
          - {id: fast, image: alpine:3.20, cmd: [fast]}
          - {id: after_fast, image: alpine:3.20, cmd: [x], inputs: [{step: fast}]}
        """,
    )
    r = run(path, mocks=[mock("slow", delay=0.3)], workdir=tmp_path / "wd", concurrency=3)
    assert r.status == "success"
    assert index(r.events, StepEnd, "after_fast") < index(r.events, StepEnd, "slow")


class SlowLookups(FakeRuntime):
    """Looking up some images takes a while (as a pull would): those steps reach the slot queue last."""

    def image(self, reference: str) -> ImageRef | None:
        if reference != "alpine:3.20":
            time.sleep(0.05)
        return super().image(reference)


def test_ties_go_in_file_order_whatever_the_preparation_time(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: ties
        steps:
          - {id: z, image: alpine:3.20, cmd: [z]}
          - {id: y, image: busybox:1, cmd: [y]}
          - {id: x, image: alpine:3.20, cmd: [x]}
          - {id: w, image: debian:12, cmd: [w]}
        """,
    )
    rt = SlowLookups(images=["alpine:3.20", "busybox:1", "debian:12"])
    r = run(path, workdir=tmp_path / "wd", concurrency=1, runtime=rt, mocks=[mock("z", delay=0.15)])
    assert [e.step.id for e in of(r, StepStart)] == ["z", "y", "x", "w"]
    assert r.result.metrics.peak_parallelism == 1


CHAIN = """
    id: chain
    steps:
      - {id: a, image: alpine:3.20, cmd: [a]}
      - {id: b, image: alpine:3.20, cmd: [b], inputs: [{step: a}]}
      - {id: c, image: alpine:3.20, cmd: [c], inputs: [{step: b}]}
      - {id: d, image: alpine:3.20, cmd: [d]}
"""


def test_failure_skips_dependents_transitively_and_independent_branches_finish(tmp_path: Path) -> None:
    path = write(tmp_path / "p", CHAIN)
    r = run(path, mocks=[mock("a", exit_code=3, stderr=["boom"]), mock("d", delay=0.05)], workdir=tmp_path / "wd")
    assert r.status == "failed"
    assert r.failed("a") and r.ran("d") and not r.failed("d")
    assert r.skipped("b", "dependency") and r.skipped("c", "dependency")
    assert [(e.step.id, e.reason) for e in of(r, StepSkipped)] == [("b", "dependency"), ("c", "dependency")]
    assert r.result.failed_steps == ("a",)
    assert r.result.failure_kind == "step"
    assert r.result.error == "step a: exited with code 3"
    assert r.outcome("a").exit_code == 3 and r.outcome("a").tail == ("boom",)
    assert creates(r.runtime, "b") == [] and creates(r.runtime, "c") == []


OPTIONAL = """
    id: opt
    steps:
      - {id: up, image: alpine:3.20, cmd: [up], if: 'env.RUN_UP != "no"'}
      - id: down
        image: alpine:3.20
        cmd: [down]
        inputs: [{step: up, optional: true}, {step: ghost, optional: true}]
"""


@pytest.mark.parametrize(
    ("environ", "up_exit", "up_state"),
    [({}, 0, "success"), ({}, 1, "failure"), ({"RUN_UP": "no"}, 0, "skipped")],
)
def test_optional_inputs_mounted_only_when_provided(
    tmp_path: Path, environ: dict[str, str], up_exit: int, up_state: str
) -> None:
    path = write(tmp_path / "p", OPTIONAL)
    r = run(path, mocks=[mock("up", exit_code=up_exit)], workdir=tmp_path / "wd", environ=environ)
    assert r.outcome("up").state == up_state
    assert r.ran("down") and not r.failed("down")
    targets = {b.target: b for b in creates(r.runtime, "down")[0].binds}
    assert "/input/ghost" not in targets
    if up_state == "success":
        bind = targets["/input/up"]
        assert bind.read_only and bind.source == r.run_dir("up") / "artifacts"
    else:
        assert "/input/up" not in targets
    assert r.status == ("failed" if up_state == "failure" else "success")


def test_condition_false_skips_with_reason_condition(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: cond
        steps:
          - {id: deploy, image: alpine:3.20, cmd: [deploy], if: 'env.DEPLOY == "true"'}
          - {id: notify, image: alpine:3.20, cmd: [notify], inputs: [{step: deploy}]}
        """,
    )
    off = run(path, workdir=tmp_path / "wd", environ={"DEPLOY": "false"})
    assert off.status == "success"
    # notify's only input was skipped by its condition: the join rule skips it for a condition too
    assert off.skipped("deploy", "condition") and off.skipped("notify", "condition")
    assert creates(off.runtime) == []
    on = run(path, workdir=tmp_path / "wd", environ={"DEPLOY": "true"})
    assert on.ran("deploy") and on.ran("notify")


def test_condition_reads_env_file_over_environ(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: cond
        steps:
          - {id: deploy, image: alpine:3.20, cmd: [deploy], if: 'env.DEPLOY == "true"'}
        """,
    )
    env_file = tmp_path / "ci.env"
    env_file.write_text("DEPLOY=true\n")
    r = run(path, workdir=tmp_path / "wd", environ={"DEPLOY": "false"}, env_file=env_file)
    assert r.ran("deploy")
    r = run(path, workdir=tmp_path / "wd", environ={"DEPLOY": "false"})
    assert r.skipped("deploy", "condition")


TARGETS = """
    id: tgt
    steps:
      - {id: a, image: alpine:3.20, cmd: [a]}
      - {id: b, image: alpine:3.20, cmd: [b], inputs: [{step: a}]}
      - {id: c, image: alpine:3.20, cmd: [c], inputs: [{step: b}, {step: x, optional: true}]}
      - {id: x, image: alpine:3.20, cmd: [x]}
      - {id: y, image: alpine:3.20, cmd: [y]}
"""


def test_target_runs_only_targets_and_their_dependencies(tmp_path: Path) -> None:
    path = write(tmp_path / "p", TARGETS)
    r = run(path, workdir=tmp_path / "wd", target=["b"])
    assert [o.id for o in r.result.steps] == ["a", "b"]
    assert {s.labels["pipex.step"] for s in creates(r.runtime)} == {"a", "b"}
    r = run(path, workdir=tmp_path / "wd", target=["c"])
    assert [o.id for o in r.result.steps] == ["a", "b", "c", "x"]  # the optional input that exists comes along
    assert r.cached("a") and r.cached("b") and r.ran("c") and r.ran("x")


def test_force_all_and_force_list(tmp_path: Path) -> None:
    path = write(tmp_path / "p", CHAIN)
    wd = tmp_path / "wd"
    run(path, workdir=wd)
    again = run(path, workdir=wd)
    assert all(again.cached(s) for s in "abcd") and creates(again.runtime) == []
    forced = run(path, workdir=wd, force=True)
    assert all(forced.ran(s) for s in "abcd")
    some = run(path, workdir=wd, force=["b", "d"])
    assert some.cached("a") and some.ran("b") and some.ran("d")
    assert some.cached("c")  # b re-ran with the same (empty) output: early cutoff
    assert [e.step.id for e in of(some, StepCached)] == ["a", "c"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": ["bb"]}, '--target: unknown step "bb"; did you mean "b"?'),
        ({"force": ["a", "dd"]}, '--force: unknown step "dd"; did you mean "d"?'),
        ({"target": ["zzzzzz"]}, '--target: unknown step "zzzzzz"'),
        ({"concurrency": 0}, "--concurrency must be at least 1"),
    ],
)
def test_bad_options_are_usage_errors_before_anything_runs(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    path = write(tmp_path / "p", CHAIN)
    with pytest.raises(UsageError) as info:
        run(path, workdir=tmp_path / "wd", **kwargs)
    assert info.value.message == message
    assert not (tmp_path / "wd").exists()


def test_engine_run_sync_returns_the_record(tmp_path: Path) -> None:
    path = write(tmp_path / "p", CHAIN)
    result = pipex.Engine(workdir=tmp_path / "wd", runtime=FakeRuntime()).run_sync(pipex.load(path))
    assert result.status == "success" and result.metrics.ran == 4 and result.exit_code == 0
