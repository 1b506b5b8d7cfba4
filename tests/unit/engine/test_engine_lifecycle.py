"""The run's life: exactly one PipelineEnd whatever happens, cancelled runs on disk, back-pressure, the lock."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import pipex
from pipex.engine.emitter import QUEUE_SIZE
from pipex.engine.events import Event, PipelineEnd, StepLog, StepStart
from pipex.errors import WorkspaceBusy
from pipex.runtime.base import LogChunk, Stream
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.workspace.lock import FileLock
from tests.unit.engine.test_engine_support import calls, collect, end, write

TWO = """
    id: life
    steps:
      - {id: slow, image: alpine:3.20, cmd: [slow]}
      - {id: after, image: alpine:3.20, cmd: [after], inputs: [{step: slow}]}
"""


def setup(
    tmp_path: Path, slow: Behaviour | None = None, rt: FakeRuntime | None = None
) -> tuple[pipex.Engine, pipex.Pipeline, FakeRuntime]:
    rt = rt or FakeRuntime()
    rt.script(step="slow", behaviour=slow or Behaviour(delay=30, stdout="partial\n"))
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    return engine, pipex.load(write(tmp_path / "p", TWO)), rt


def committed(tmp_path: Path) -> list[dict[str, object]]:
    runs = sorted((tmp_path / "wd" / "life" / "runs").iterdir())
    return [json.loads((r / "meta.json").read_text()) for r in runs]


def assert_cleaned_up(tmp_path: Path, rt: FakeRuntime) -> None:
    assert rt.containers == {}  # every container removed
    assert list((tmp_path / "wd" / "life" / "staging").iterdir()) == []
    FileLock(tmp_path / "wd" / "life" / "lock", what="workspace").acquire().release()  # the lock was released


@pytest.mark.parametrize(("exit_code", "status"), [(0, "success"), (1, "failed")])
def test_one_pipeline_end_on_success_and_failure(tmp_path: Path, exit_code: int, status: str) -> None:
    engine, pipeline, _ = setup(tmp_path, Behaviour(exit_code=exit_code))
    events = collect(engine, pipeline)
    assert end(events).result.status == status
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len({e.run_id for e in events}) == 1


def test_whole_run_timeout_ends_with_status_timeout(tmp_path: Path) -> None:
    engine, pipeline, rt = setup(tmp_path)
    events = collect(engine, pipeline, timeout=0.2)
    result = end(events).result
    assert (result.status, result.failure_kind, result.exit_code) == ("timeout", "timeout", 1)
    assert [(o.id, o.state) for o in result.steps] == [("slow", "cancelled"), ("after", "cancelled")]
    assert [(m["stepId"], m["status"]) for m in committed(tmp_path)] == [("slow", "cancelled")]
    assert calls(rt, "stop")
    assert_cleaned_up(tmp_path, rt)


def test_cancelling_the_consumer_task_still_delivers_one_pipeline_end(tmp_path: Path) -> None:
    engine, pipeline, rt = setup(tmp_path)
    events: list[Event] = []

    async def main() -> None:
        async def consume() -> None:
            async for event in engine.run(pipeline):
                events.append(event)

        task = asyncio.create_task(consume())
        while not any(isinstance(e, StepStart) for e in events):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the step is inside its container now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(main(), 10))
    result = end(events).result
    assert result.status == "cancelled" and result.exit_code == 130
    assert result.outcome("slow").state == "cancelled" and result.outcome("after").state == "cancelled"
    slow = committed(tmp_path)
    assert [(m["stepId"], m["status"]) for m in slow] == [("slow", "cancelled")]
    assert (tmp_path / "wd" / "life" / "runs" / str(slow[0]["runId"]) / "stdout.log").read_bytes() == b"partial\n"
    assert_cleaned_up(tmp_path, rt)


def test_aclose_of_the_iterator_stops_the_run_and_records_it(tmp_path: Path) -> None:
    engine, pipeline, rt = setup(tmp_path)

    async def main() -> list[Event]:
        seen = []
        stream = engine.run(pipeline)
        async for event in stream:
            seen.append(event)
            if isinstance(event, StepStart):
                await asyncio.sleep(0.05)
                break
        await stream.aclose()  # type: ignore[attr-defined]
        return seen

    seen = asyncio.run(asyncio.wait_for(main(), 10))
    assert not any(isinstance(e, PipelineEnd) for e in seen)
    assert [(m["stepId"], m["status"]) for m in committed(tmp_path)] == [("slow", "cancelled")]
    assert_cleaned_up(tmp_path, rt)


class IgnoresSigterm(FakeRuntime):
    """Its containers ignore SIGTERM: a stop waits out its grace, or until something kills the container."""

    def stop(self, container: str, grace: float = 10.0) -> None:
        self._record("stop", container, grace)
        self._get(container).done.wait(grace)


@pytest.mark.parametrize("times", [1, 2])
def test_interrupt_ends_with_status_interrupted(tmp_path: Path, times: int) -> None:
    # Twice: the step ignores the first one's SIGTERM, so the second finds it running (with a step that obeys,
    # a loaded machine may end and remove the container before the second Ctrl-C: nothing left to kill).
    engine, pipeline, rt = setup(tmp_path, rt=IgnoresSigterm() if times == 2 else None)

    async def on_event(event: Event) -> None:
        if isinstance(event, StepStart):
            # Until the container runs, however loaded the machine (a fixed 0.5 s was not always enough):
            # interrupts that land before the create leave no container to kill.
            for _ in range(1000):
                if any(c.state == "running" for c in list(rt.containers.values())):
                    break
                await asyncio.sleep(0.01)
            for _ in range(times):
                engine.interrupt()

    events = collect(engine, pipeline, on_event)
    result = end(events).result
    assert (result.status, result.exit_code) == ("interrupted", 130)
    assert [(m["stepId"], m["status"]) for m in committed(tmp_path)] == [("slow", "cancelled")]
    assert bool(calls(rt, "kill")) is (times == 2)  # a second Ctrl-C kills at once
    assert_cleaned_up(tmp_path, rt)


LINES = 2 * QUEUE_SIZE


class CountingLogs(FakeRuntime):
    """Streams LINES log lines one chunk at a time, counting how many the engine has pulled."""

    pulled = 0

    def logs(self, container: str) -> Iterator[LogChunk]:
        self._record("logs", container)
        for n in range(LINES):
            self.pulled += 1
            yield LogChunk(Stream.STDOUT, b"line %d\n" % n)


def test_slow_consumer_applies_back_pressure(tmp_path: Path) -> None:
    rt = CountingLogs()
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    pipeline = pipex.load(write(tmp_path / "p", TWO))
    pulled_while_asleep: list[int] = []

    async def on_event(event: Event) -> None:
        if isinstance(event, StepStart) and not pulled_while_asleep:
            # Sleep until the producer stalls (or has produced everything): without back-pressure it never stalls.
            last = -1
            while rt.pulled != last and rt.pulled < LINES:
                last = rt.pulled
                await asyncio.sleep(0.1)
            pulled_while_asleep.append(rt.pulled)

    events = collect(engine, pipeline, on_event)
    assert end(events).result.status == "success"
    assert pulled_while_asleep[0] <= QUEUE_SIZE + 4 < LINES
    lines = [e.line for e in events if isinstance(e, StepLog) and e.step.id == "slow"]
    assert lines == [f"line {n}" for n in range(LINES)]


def test_workspace_busy_names_the_holder(tmp_path: Path) -> None:
    engine, pipeline, rt = setup(tmp_path, Behaviour())
    lock = tmp_path / "wd" / "life" / "lock"
    lock.parent.mkdir(parents=True)
    code = (
        "import sys, time; from pathlib import Path; from pipex.workspace.lock import FileLock; "
        f"FileLock(Path({str(lock)!r}), what='w', command='pipex run').acquire(); print('ready', flush=True); "
        "time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        with pytest.raises(WorkspaceBusy) as info:
            engine.run_sync(pipeline)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert re.fullmatch(
        rf'workspace "life" is in use by pid {holder.pid} \(pipex run, started \d\d:\d\d\)', info.value.message
    )
    assert [name for name, _ in rt.calls if name in ("create", "list")] == []


def test_staging_left_by_a_dead_run_is_cleared_at_the_next_start(tmp_path: Path) -> None:
    engine, pipeline, _ = setup(tmp_path, Behaviour())
    stale = tmp_path / "wd" / "life" / "staging" / "20260101T000000000Z-deadbeef"
    (stale / "artifacts").mkdir(parents=True)
    (stale / "artifacts" / "half.bin").write_bytes(b"x")
    assert engine.run_sync(pipeline).status == "success"
    assert list(stale.parent.iterdir()) == []
