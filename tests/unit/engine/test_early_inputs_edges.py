"""The edges of the early hand-over (engine/early.py): a dependent that started on its input's staged run while the
input was hashed, then cancelled, retried, timed out, copying the input, routed on its outputs, chained, short of
slots; and producers that fail or cannot record their run. Each run ends as the user expects, with the records
(and fingerprints) a run without the hand-over gives."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import pipex
from pipex.engine.events import Event, StepEnd, StepRetry, StepSkipped, StepStart
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import TestResult, run
from pipex.workspace import records
from pipex.workspace.layout import Workspace
from tests.unit.engine.test_early_inputs import BIG, NEVER, PIPELINE
from tests.unit.engine.test_engine_support import creates, end, index, meta, state, write

WS = "early"
PAIR = PIPELINE


def _sparse(name: str = "big.bin") -> Callable[[Path], None]:
    def plant(output: Path) -> None:
        with (output / name).open("wb") as file:
            file.truncate(BIG)

    return plant


def _bounded(call: Callable[[], TestResult], seconds: float = 60) -> TestResult:
    """``call()`` in a thread, failing the test (instead of hanging the suite) when it has not returned in time."""
    box: list[TestResult | BaseException] = []

    def go() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # handed to the test's thread
            box.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(seconds)
    assert box, f"the run did not end within {seconds} s"
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _source(rt: FakeRuntime, step: str, upstream: str, attempt: int = 0) -> Path:
    spec = creates(rt, step)[attempt]
    return next(b.source for b in spec.binds if b.target == f"/input/{upstream}")


def _staged(wd: Path, result: TestResult, step: str) -> Path:
    return wd / WS / "staging" / meta(result, step)["runId"] / "artifacts"


def _clean(wd: Path, rt: FakeRuntime) -> None:
    assert rt.containers == {}  # every container removed
    assert list((wd / WS / "staging").iterdir()) == []


def _same_records(early: TestResult, plain: TestResult, steps: tuple[str, ...]) -> None:
    """The hand-over changed nothing recorded: each step's inputs (runs aside) and fingerprint are the plain run's."""
    for step in steps:
        got, want = meta(early, step), meta(plain, step)
        assert got["fingerprint"] == want["fingerprint"], step
        assert got["fingerprintParts"] == want["fingerprintParts"], step
        assert [i["digest"] for i in got["inputs"]] == [i["digest"] for i in want["inputs"]], step
        for inp in got["inputs"]:  # and each names the committed run it read, with its digest
            upstream = meta(early, inp["step"])
            assert (inp["runId"], inp["digest"]) == (upstream["runId"], upstream["artifactsDigest"]), step


# -- 1. Ctrl-C / cancel while the producer hashes and the dependent runs --------------------------------------------
@pytest.mark.parametrize("how", ["task", "interrupt", "at-start"])
def test_a_stop_while_the_input_is_hashed_ends_clean(tmp_path: Path, how: str) -> None:
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse()))
    rt.script(step="consume", behaviour=Behaviour(delay=30))
    wd = tmp_path / "wd"
    engine = pipex.Engine(workdir=wd, runtime=rt)
    pipeline = pipex.load(write(tmp_path / "p", PAIR))
    events: list[Event] = []

    async def main() -> None:
        async def consume() -> None:
            async for event in engine.run(pipeline, early_bytes=0):
                events.append(event)

        task = asyncio.create_task(consume())
        if how == "at-start":  # the dependent is told to start: its attempt may not have its container yet
            while not any(isinstance(e, StepStart) and e.step.id == "consume" for e in events):
                await asyncio.sleep(0.001)
            engine.interrupt()
            await task
            return
        while not any(c.state == "running" and c.spec.labels.get("pipex.step") == "consume"
                      for c in list(rt.containers.values())):  # fmt: skip
            await asyncio.sleep(0.01)
        assert not any(isinstance(e, StepEnd) for e in events)  # the producer is still hashing
        if how == "task":
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            engine.interrupt()
            await task

    asyncio.run(asyncio.wait_for(main(), 60))
    result = end(events).result
    assert result.status == ("cancelled" if how == "task" else "interrupted")
    assert result.outcome("produce").state == "success"  # its container had ended: its run is committed
    assert result.outcome("consume").state == "cancelled"
    assert [type(e).__name__ for e in events if isinstance(e, StepStart | StepEnd)] == [
        "StepStart", "StepStart", "StepEnd", "StepEnd"
    ]  # fmt: skip
    recorded = state(wd, WS)["steps"]
    produced = json.loads((wd / WS / "runs" / recorded["produce"]["lastSuccess"]["runId"] / "meta.json").read_text())
    consumed = json.loads((wd / WS / "runs" / recorded["consume"]["last"]["runId"] / "meta.json").read_text())
    assert (produced["status"], consumed["status"]) == ("success", "cancelled")
    assert consumed["inputs"][0]["digest"] == produced["artifactsDigest"]
    _clean(wd, rt)


# -- 2. a dependent retried, or timed out, on an input handed over early --------------------------------------------
RETRIED = """
id: early
steps:
  - id: produce
    image: alpine:3.20
    cmd: [make]
  - id: consume
    image: alpine:3.20
    inputs: [{step: produce}]
    cmd: [read]
    retries: 1
    retryDelayMs: 0
    timeoutSec: 0.5
"""


def _retried(first: Behaviour) -> FakeRuntime:
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse()))
    rt.script(step="consume", behaviour=[first, Behaviour(files={"n.txt": "2"})])
    return rt


@pytest.mark.parametrize("first", [Behaviour(exit_code=1), Behaviour(delay=30)], ids=["fails", "times-out"])
def test_a_retried_dependent_mounts_the_input_where_it_is(tmp_path: Path, first: Behaviour) -> None:
    path = write(tmp_path / "p", RETRIED)
    rt = _retried(first)
    wd = tmp_path / "wd"
    r = _bounded(lambda: run(path, workdir=wd, runtime=rt, early_bytes=0))
    assert r.status == "success"
    assert r.outcome("consume").state == "success" and meta(r, "consume")["attempt"] == 2
    assert index(r.events, StepStart, "consume") < index(r.events, StepEnd, "produce")
    assert _source(rt, "consume", "produce", 0) == _staged(wd, r, "produce")
    # the second attempt mounts the staged run while it is pinned, else the committed one: never a path gone
    second = _source(rt, "consume", "produce", 1)
    assert second in (_staged(wd, r, "produce"), r.run_dir("produce") / "artifacts")
    if index(r.events, StepEnd, "produce") < index(r.events, StepRetry, "consume"):  # recorded before the retry
        assert second == r.run_dir("produce") / "artifacts"
    plain = run(path, workdir=tmp_path / "wd2", runtime=_retried(first), early_bytes=NEVER)
    _same_records(r, plain, ("produce", "consume"))
    _clean(wd, rt)


def test_a_timed_out_dependent_is_recorded_with_its_input(tmp_path: Path) -> None:
    path = write(tmp_path / "p", RETRIED.replace("retries: 1", "retries: 0"))
    rt = _retried(Behaviour(delay=30))
    wd = tmp_path / "wd"
    r = _bounded(lambda: run(path, workdir=wd, runtime=rt, early_bytes=0))
    assert r.outcome("consume").state == "timeout" and r.outcome("produce").state == "success"
    assert _source(rt, "consume", "produce") == _staged(wd, r, "produce")
    plain = run(path, workdir=tmp_path / "wd2", runtime=_retried(Behaviour(delay=30)), early_bytes=NEVER)
    _same_records(r, plain, ("produce", "consume"))
    _clean(wd, rt)


# -- 3. copyToOutput from an input handed over early ---------------------------------------------------------------
def test_copy_to_output_copies_the_whole_input(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p", PAIR.replace("inputs: [{step: produce}]", "inputs: [{step: produce, copyToOutput: true}]")
    )

    def runtime() -> FakeRuntime:
        rt = FakeRuntime()
        rt.script(step="produce", behaviour=Behaviour(files={"sub/a.txt": "a", "z.txt": "z"}, plant=_sparse()))
        rt.script(step="consume", behaviour=Behaviour(files={"own.txt": "mine"}))
        return rt

    rt = runtime()
    wd = tmp_path / "wd"
    r = _bounded(lambda: run(path, workdir=wd, runtime=rt, early_bytes=0))
    assert r.status == "success"
    assert index(r.events, StepStart, "consume") < index(r.events, StepEnd, "produce")
    assert _source(rt, "consume", "produce") == _staged(wd, r, "produce")
    copied = r.run_dir("consume") / "artifacts"
    assert (copied / "big.bin").stat().st_size == BIG
    assert {p.relative_to(copied).as_posix() for p in copied.rglob("*")} == {
        "big.bin", "sub", "sub/a.txt", "z.txt", "own.txt"
    }  # fmt: skip
    assert (copied / "sub" / "a.txt").read_text() == "a"
    plain = run(path, workdir=tmp_path / "wd2", runtime=runtime(), early_bytes=NEVER)
    _same_records(r, plain, ("produce", "consume"))
    assert meta(r, "consume")["artifactsDigest"] == meta(plain, "consume")["artifactsDigest"]
    _clean(wd, rt)


# -- 4. conditions on the producer's outputs, and `when: always` ----------------------------------------------------
ROUTED = """
id: early
steps:
  - id: produce
    image: alpine:3.20
    cmd: [make]
  - id: big
    image: alpine:3.20
    inputs: [{step: produce}]
    if: steps.produce.outputs.route == "big" && steps.produce.status == "success"
    cmd: [big]
  - id: small
    image: alpine:3.20
    inputs: [{step: produce}]
    if: steps.produce.outputs.route == "small"
    cmd: [small]
  - id: always
    image: alpine:3.20
    inputs: [{step: produce}]
    when: always
    cmd: [always]
"""


def _routed() -> FakeRuntime:
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse(), outputs="route=big\n"))
    return rt


def test_conditions_and_when_always_are_decided_on_the_hand_over(tmp_path: Path) -> None:
    path = write(tmp_path / "p", ROUTED)
    wd = tmp_path / "wd"
    rt = _routed()
    # enough slots for the producer and its three readers at once: each reader starts as soon as it is decided
    r = _bounded(lambda: run(path, workdir=wd, runtime=rt, early_bytes=0, concurrency=4))
    assert r.status == "success"
    states = {s: r.outcome(s).state for s in ("produce", "big", "small", "always")}
    assert states == {"produce": "success", "big": "success", "small": "skipped", "always": "success"}
    assert r.outcome("small").reason == "condition"
    ended = index(r.events, StepEnd, "produce")
    assert index(r.events, StepStart, "big") < ended and index(r.events, StepStart, "always") < ended
    assert index(r.events, StepSkipped, "small") < ended
    assert meta(r, "big")["fingerprintParts"]["reads"]  # what the condition read is in the fingerprint
    plain = run(path, workdir=tmp_path / "wd2", runtime=_routed(), early_bytes=NEVER, concurrency=4)
    _same_records(r, plain, ("produce", "big", "always"))
    _clean(wd, rt)


# -- 5. a chain of big steps -----------------------------------------------------------------------------------------
CHAIN = """
id: early
steps:
  - {id: a, image: alpine:3.20, cmd: [a]}
  - {id: b, image: alpine:3.20, cmd: [b], inputs: [{step: a}]}
  - {id: c, image: alpine:3.20, cmd: [c], inputs: [{step: b}]}
"""


def _chain() -> FakeRuntime:
    rt = FakeRuntime()
    for step in ("a", "b", "c"):
        rt.script(step=step, behaviour=Behaviour(plant=_sparse(f"{step}.bin")))
    return rt


def test_a_chain_of_big_steps_hands_each_over(tmp_path: Path) -> None:
    path = write(tmp_path / "p", CHAIN)
    wd = tmp_path / "wd"
    rt = _chain()
    # a slot each: b, still waiting for a's record, holds its slot; c would otherwise wait for a's
    r = _bounded(lambda: run(path, workdir=wd, runtime=rt, early_bytes=0, concurrency=3))
    assert r.status == "success"
    assert index(r.events, StepStart, "b") < index(r.events, StepEnd, "a")
    assert index(r.events, StepStart, "c") < index(r.events, StepEnd, "b")
    assert _source(rt, "b", "a") == _staged(wd, r, "a")
    assert _source(rt, "c", "b") == _staged(wd, r, "b")
    plain = run(path, workdir=tmp_path / "wd2", runtime=_chain(), early_bytes=NEVER)
    _same_records(r, plain, ("a", "b", "c"))
    _clean(wd, rt)
    again = _bounded(lambda: run(path, workdir=wd, runtime=_chain(), early_bytes=0))
    assert {s: again.outcome(s).state for s in ("a", "b", "c")} == dict.fromkeys("abc", "cached")


# -- 6. fewer slots than steps ----------------------------------------------------------------------------------------
FAN = """
id: early
steps:
  - {id: produce, image: alpine:3.20, cmd: [make]}
  - {id: one, image: alpine:3.20, cmd: [one], inputs: [{step: produce}]}
  - {id: two, image: alpine:3.20, cmd: [two], inputs: [{step: produce}]}
"""


def _fan() -> FakeRuntime:
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse()))
    return rt


@pytest.mark.parametrize("slots", [1, 2])
def test_dependents_short_of_slots_never_deadlock(tmp_path: Path, slots: int) -> None:
    path = write(tmp_path / "p", FAN)
    wd = tmp_path / "wd"
    rt = _fan()
    r = _bounded(lambda: run(path, workdir=wd, runtime=rt, early_bytes=0, concurrency=slots))
    assert r.status == "success"
    ended = index(r.events, StepEnd, "produce")
    if slots == 1:  # the producer holds the one slot while it hashes: both wait for its end
        assert index(r.events, StepStart, "one") > ended and index(r.events, StepStart, "two") > ended
    else:  # one dependent gets the other slot at once; the second waits for a slot
        assert index(r.events, StepStart, "one") < ended
    plain = run(path, workdir=tmp_path / "wd2", runtime=_fan(), early_bytes=NEVER, concurrency=slots)
    _same_records(r, plain, ("produce", "one", "two"))
    _clean(wd, rt)


# -- 7. producers that fail hand nothing over -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (Behaviour(exit_code=1, plant=_sparse()), "exit"),
        (Behaviour(outputs="not an output\n", plant=_sparse()), "outputs"),
    ],
    ids=["exit-1", "bad-outputs"],
)
def test_a_failed_producer_hands_nothing_over(tmp_path: Path, behaviour: Behaviour, reason: str) -> None:
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=behaviour)
    wd = tmp_path / "wd"
    r = _bounded(lambda: run(write(tmp_path / "p", ROUTED), workdir=wd, runtime=rt, early_bytes=0))
    assert r.status == "failed"
    assert r.outcome("produce").state == "failure" and r.outcome("produce").reason == reason
    assert r.skipped("big", "dependency") and r.skipped("small", "dependency")
    assert r.outcome("always").state == "success"  # when: always runs after the failure, on the failed run
    assert index(r.events, StepStart, "always") > index(r.events, StepEnd, "produce")
    assert creates(rt, "big") == [] and creates(rt, "small") == []
    _clean(wd, rt)


# -- 8. a producer whose run cannot be recorded -----------------------------------------------------------------
class TakesTheRunId(FakeRuntime):
    """The dependent's start puts something where the producer's run is to be committed: the commit's rename then
    fails (as on a full or broken disk), after the dependent started on the staged run."""

    def start(self, container: str) -> None:
        spec = self._get(container).spec
        for bind in spec.binds:
            if bind.target == "/input/produce" and bind.source.parent.parent.name == "staging":
                taken = bind.source.parent.parent.parent / "runs" / bind.source.parent.name / "taken"
                taken.mkdir(parents=True)
        super().start(container)


def test_a_producer_that_cannot_record_its_run_ends_the_run(tmp_path: Path) -> None:
    rt = TakesTheRunId()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse()))
    wd = tmp_path / "wd"
    r = _bounded(lambda: run(write(tmp_path / "p", PAIR), workdir=wd, runtime=rt, early_bytes=0))
    assert r.status == "failed"
    assert r.result.failure_kind == "engine"
    staged = _source(rt, "consume", "produce").parent  # the dependent started on it
    assert r.result.error == f"Directory not empty while recording step 'produce' ({staged})"
    # the producer's run was never recorded: not shown as a success; the dependent, which could not be recorded
    # with a fingerprint, is recorded as cancelled, naming why
    assert r.outcome("produce").state == "pending"
    assert "produce" not in state(wd, WS)["steps"]
    # (its outcome is "pending" when the fault ends the run before its attempt's end is seen, as for any step
    # running when a fault ends a run)
    assert r.outcome("consume").state in ("cancelled", "pending")
    consumed = state(wd, WS)["steps"]["consume"]["last"]
    assert consumed["status"] == "cancelled"
    said = json.loads((wd / WS / "runs" / consumed["runId"] / "meta.json").read_text())
    assert said["message"] == f"an input's run was not recorded: {r.result.error}"  # the run's error, not an OSError
    assert said["fingerprint"] is None  # never known: its input's digest never was
    _clean(wd, rt)


def _hostile(output: Path) -> None:
    _sparse()(output)
    os.mkfifo(output / "fifo")
    (output / "dangling").symlink_to("/nowhere/at/all")
    locked = output / "locked.txt"
    locked.write_text("x")
    locked.chmod(0)


def test_what_a_container_leaves_does_not_fail_the_digest(tmp_path: Path) -> None:
    # A FIFO and a link are hashed by kind and target, never opened; as root (these tests) a mode-000 file is read
    # too: no planted tree makes the digest raise here, so the record that fails above is the commit's.
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_hostile))
    wd = tmp_path / "wd"
    r = _bounded(lambda: run(write(tmp_path / "p", PAIR), workdir=wd, runtime=rt, early_bytes=0))
    assert r.status == "success"
    assert index(r.events, StepStart, "consume") < index(r.events, StepEnd, "produce")
    assert meta(r, "consume")["inputs"][0]["digest"] == meta(r, "produce")["artifactsDigest"]
    _clean(wd, rt)


def test_the_run_record_has_an_early_dependent_ready_when_it_started(tmp_path: Path) -> None:
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse()))
    wd = tmp_path / "wd"
    r = _bounded(lambda: run(write(tmp_path / "p", PAIR), workdir=wd, runtime=rt, early_bytes=0))
    assert index(r.events, StepStart, "consume") < index(r.events, StepEnd, "produce")
    steps = {s["id"]: s for s in records.read(Workspace(wd, WS))["steps"]}
    consumed = steps["consume"]
    # its input was handed over before it ended: the step was never ready after it started
    assert consumed["readyAt"] == consumed["startedAt"] < steps["produce"]["endedAt"]
    assert consumed["timings"]["queuedMs"] == 0


def test_a_dependent_ends_after_its_input_even_when_the_input_is_pushed_to_a_store(tmp_path: Path) -> None:
    # The producer pushes its 256 MiB to the cache store after its run is recorded; the dependent, which uses a
    # secret (never shared, so it starts early), is recorded meanwhile: its step_end still follows its input's,
    # as when it waited for it.
    text = PAIR + "    secrets: [API_TOKEN]\n"
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_sparse()))
    wd = tmp_path / "wd"
    store, environ = tmp_path / "store", {"API_TOKEN": "t0k"}
    path = write(tmp_path / "p", text)
    r = _bounded(lambda: run(path, workdir=wd, runtime=rt, early_bytes=0, cache_store=store, environ=environ))
    assert r.status == "success"
    assert index(r.events, StepStart, "consume") < index(r.events, StepEnd, "produce")
    assert index(r.events, StepEnd, "produce") < index(r.events, StepEnd, "consume")
    _clean(wd, rt)
