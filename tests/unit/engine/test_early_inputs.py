"""A dependent that cannot be a cache hit starts while its input's big artifacts are hashed (engine/early.py):
it mounts the staged run, the input's commit waits until its container has started, and its own fingerprint is
computed once the input is recorded — the same fingerprint the run without the hand-over gives."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pipex.engine.early import EarlyArtifacts
from pipex.engine.events import StepCached, StepEnd, StepStart
from pipex.engine.ready import ReadyQueue
from pipex.errors import WorkspaceError
from pipex.model.spec import InputSpec, StepSpec
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import run
from tests.unit.engine.test_engine_support import creates, index, meta, write

BIG = 256 << 20  # a sparse file: no disk, but its hash takes long enough for the dependent to start first
NEVER = 1 << 62  # early_bytes no tree reaches: the run without the hand-over


def _sparse(output: Path) -> None:
    with (output / "big.bin").open("wb") as file:
        file.truncate(BIG)


PIPELINE = """
id: early
steps:
  - id: produce
    image: alpine:3.20
    cmd: [make]
  - id: consume
    image: alpine:3.20
    inputs: [{step: produce}]
    cmd: [read]
"""


def _runtime() -> FakeRuntime:
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse))
    rt.script(step="consume", behaviour=Behaviour(files={"n.txt": "1"}))
    return rt


def _input_source(rt: FakeRuntime, step: str) -> Path:
    (spec,) = creates(rt, step)
    return next(b.source for b in spec.binds if b.target == "/input/produce")


def test_dependent_starts_on_the_staged_run_and_records_the_usual_fingerprint(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    rt = _runtime()
    r = run(path, workdir=tmp_path / "wd", runtime=rt, early_bytes=0)
    assert r.status == "success"
    # consume started before produce ended, on produce's staged run (its commit waited for that start)
    assert index(r.events, StepStart, "consume") < index(r.events, StepEnd, "produce")
    source = _input_source(rt, "consume")
    produced = meta(r, "produce")
    assert source == tmp_path / "wd" / "early" / "staging" / produced["runId"] / "artifacts"
    consumed = meta(r, "consume")
    assert consumed["inputs"][0]["runId"] == produced["runId"]
    assert consumed["inputs"][0]["digest"] == produced["artifactsDigest"]
    assert produced["artifactsSize"] == BIG
    # its own work ended while its input was still being hashed: the wait for that record is not its duration
    assert consumed["finishedAt"] < produced["finishedAt"]

    # the same pipeline without the hand-over: the same fingerprints
    rt2 = _runtime()
    plain = run(path, workdir=tmp_path / "wd2", runtime=rt2, early_bytes=NEVER)
    assert index(plain.events, StepEnd, "produce") < index(plain.events, StepStart, "consume")
    assert "staging" not in _input_source(rt2, "consume").parts
    assert meta(plain, "consume")["fingerprint"] == consumed["fingerprint"]
    assert meta(plain, "consume")["fingerprintParts"] == consumed["fingerprintParts"]

    # and the first run's record is what the next run is cached by
    again = run(path, workdir=tmp_path / "wd", runtime=_runtime(), early_bytes=0)
    assert {s: again.outcome(s).state for s in ("produce", "consume")} == {"produce": "cached", "consume": "cached"}


def test_a_dependent_that_could_be_cached_waits_for_the_digest(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    run(path, workdir=tmp_path / "wd", runtime=_runtime(), early_bytes=0)
    rt = _runtime()
    # produce runs again and writes the same bytes: consume, which has a run, is a cache hit, decided on the digest
    r = run(path, workdir=tmp_path / "wd", runtime=rt, early_bytes=0, force=["produce"])
    assert {s: r.outcome(s).state for s in ("produce", "consume")} == {"produce": "success", "consume": "cached"}
    assert index(r.events, StepEnd, "produce") < index(r.events, StepCached, "consume")
    assert creates(rt, "consume") == []


def test_a_forced_dependent_starts_early(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    run(path, workdir=tmp_path / "wd", runtime=_runtime(), early_bytes=0)
    r = run(path, workdir=tmp_path / "wd", runtime=_runtime(), early_bytes=0, force=True)
    assert r.status == "success"
    assert index(r.events, StepStart, "consume") < index(r.events, StepEnd, "produce")
    assert meta(r, "consume")["inputs"][0]["digest"] == meta(r, "produce")["artifactsDigest"]


def test_a_small_output_is_not_handed_over(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(files={"small.txt": "x" * 1000}))
    r = run(path, workdir=tmp_path / "wd", runtime=rt, early_bytes=1001)
    assert index(r.events, StepEnd, "produce") < index(r.events, StepStart, "consume")
    assert "staging" not in _input_source(rt, "consume").parts


def test_a_fan_out_dependent_waits_for_the_commit(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: early
        steps:
          - id: produce
            image: alpine:3.20
            cmd: [make]
          - id: each
            image: alpine:3.20
            matrix: {n: [a, b]}
            inputs: [{step: produce}]
            cmd: [read]
          - id: plain
            image: alpine:3.20
            inputs: [{step: produce}]
            cmd: [read]
        """,
    )
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse))
    r = run(path, workdir=tmp_path / "wd", runtime=rt, early_bytes=0)
    assert r.status == "success"
    ended = index(r.events, StepEnd, "produce")
    assert index(r.events, StepStart, "plain") < ended
    assert index(r.events, StepStart, "each[a]") > ended
    assert index(r.events, StepStart, "each[b]") > ended


def test_a_failed_dependent_is_recorded_with_its_fingerprint(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse))
    rt.script(step="consume", behaviour=Behaviour(exit_code=3))
    r = run(path, workdir=tmp_path / "wd", runtime=rt, early_bytes=0)
    assert {s: r.outcome(s).state for s in ("produce", "consume")} == {"produce": "success", "consume": "failure"}
    consumed = meta(r, "consume")
    assert consumed["exitCode"] == 3
    assert consumed["inputs"][0]["digest"] == meta(r, "produce")["artifactsDigest"]
    assert consumed["fingerprint"].startswith("sha256:")


# -- the pieces ------------------------------------------------------------------------------------------------
def test_the_commit_waits_for_every_pin(tmp_path: Path) -> None:
    staged, final = tmp_path / "staging" / "r", tmp_path / "runs" / "r"
    staged.mkdir(parents=True)
    final.parent.mkdir()
    early = EarlyArtifacts("r", staged, final)
    assert early.pin() == staged
    committed = threading.Event()

    def commit() -> None:
        os.rename(staged, final)
        committed.set()

    publisher = threading.Thread(target=early.publish, args=(commit,))
    publisher.start()
    time.sleep(0.1)
    assert not committed.is_set()  # a dependent still chooses its mounts: the staged dir stays
    early.unpin()
    publisher.join(5)
    assert committed.is_set()
    assert early.pin() == final  # a pin after the commit gets the committed dir
    early.unpin()
    early.recorded_as("sha256:x")
    assert early.wait() == ("sha256:x", final)


def test_a_run_never_recorded_fails_the_wait(tmp_path: Path) -> None:
    early = EarlyArtifacts("r", tmp_path / "a", tmp_path / "b")
    early.failed(WorkspaceError("disk full"))
    early.failed(WorkspaceError("said once"))  # the first failure stands
    with pytest.raises(WorkspaceError, match="disk full"):
        early.wait()


def _spec(step_id: str, *inputs: str) -> StepSpec:
    return StepSpec(id=step_id, name=step_id, image="i", cmd=("c",), inputs=tuple(InputSpec(i) for i in inputs))


def test_release_wakes_only_the_steps_that_take_early_inputs() -> None:
    a, b, c = _spec("a"), _spec("b", "a"), _spec("c", "a")
    queue = ReadyQueue([a, b, c], early=lambda s: s.id == "b")
    assert queue.pop() is a
    assert queue.pop() is None  # b and c wait for a
    assert queue.release("a")
    assert queue.pop() is b
    assert queue.pop() is None  # c still waits: it takes no early input
    assert not queue.complete
    assert queue.settle("a")
    assert queue.pop() is c
