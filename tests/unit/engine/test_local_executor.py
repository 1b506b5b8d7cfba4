"""The executor seam's local implementation on the fake runtime: submit, run to an outcome, stop, cleanup."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from pipex.executors.base import Copy, Outcome, SetupPhase, Task
from pipex.executors.local import LocalExecutor
from pipex.runtime.base import ContainerSpec, LogChunk
from pipex.runtime.fake import Behaviour, FakeRuntime


class Output:
    def __init__(self) -> None:
        self.chunks: list[LogChunk] = []
        self.flushes = 0

    def __call__(self, chunk: LogChunk) -> None:
        self.chunks.append(chunk)

    def flush_lines(self) -> None:
        self.flushes += 1


def never() -> bool:
    return False


def test_an_attempt_runs_to_its_exit_code_and_is_removed(tmp_path: Path) -> None:
    rt = FakeRuntime(images=["alpine"])
    rt.script(cmd=["work"], behaviour=Behaviour(exit_code=3, stdout="a\nb"))
    executor = LocalExecutor(rt)
    (tmp_path / "src").mkdir()
    task = Task("s", ContainerSpec(image="alpine", cmd=("work",)), tmp_path, sources=(Copy(tmp_path / "src", "/src"),))
    handle = executor.submit(task)
    output = Output()
    assert executor.run(handle, task, output, cancelled=never, interrupted=never) == Outcome(3, "run")
    assert b"".join(c.data for c in output.chunks if c.stream == "stdout") == b"a\nb"
    assert output.flushes == 1
    executor.cleanup(handle)
    assert [name for name, _ in rt.calls] == ["create", "copy_in", "start", "logs", "wait", "remove"]
    assert handle not in rt.containers


def test_a_cancel_before_the_start_starts_nothing(tmp_path: Path) -> None:
    rt = FakeRuntime(images=["alpine"])
    executor = LocalExecutor(rt)
    task = Task("s", ContainerSpec(image="alpine", cmd=("work",)), tmp_path)
    handle = executor.submit(task)
    assert executor.run(handle, task, Output(), cancelled=lambda: True, interrupted=never) == Outcome(None, "start")
    assert [name for name, _ in rt.calls] == ["create"]


def test_a_cancel_that_lands_while_the_container_starts_stops_it_right_after_the_start(tmp_path: Path) -> None:
    cancel = threading.Event()

    class Racing(FakeRuntime):
        def start(self, container: str) -> None:
            # The cancel lands here, after the executor's check: its stop reaches a container not yet running.
            cancel.set()
            self.stop(container)
            super().start(container)

    rt = Racing(images=["alpine"])
    rt.script(cmd=["work"], behaviour=Behaviour(delay=3600))
    executor = LocalExecutor(rt)
    task = Task("s", ContainerSpec(image="alpine", cmd=("work",)), tmp_path)
    handle = executor.submit(task)
    outcomes: list[Outcome] = []
    running = threading.Thread(
        target=lambda: outcomes.append(
            executor.run(handle, task, Output(), cancelled=cancel.is_set, interrupted=cancel.is_set)
        ),
        daemon=True,
    )
    running.start()
    running.join(30)  # bounded: unstopped, the container would run for an hour
    if running.is_alive():  # end it, or the test process waits for its thread
        rt.kill(handle)
        running.join(30)
    assert outcomes == [Outcome(143, "run")]
    assert [name for name, _ in rt.calls] == ["create", "stop", "start", "stop", "logs", "wait"]
    executor.cleanup(handle)
    assert rt.calls[-1] == ("remove", (handle,))
    assert handle not in rt.containers


def test_a_failed_setup_is_its_own_outcome_and_the_run_phase_never_starts(tmp_path: Path) -> None:
    rt = FakeRuntime(images=["alpine"])
    rt.script_exec(["prepare"], Behaviour(exit_code=5))
    held: list[bool] = []

    @contextlib.contextmanager
    def exclusive() -> Iterator[bool]:
        held.append(True)
        yield True

    setup = SetupPhase(cmd=("prepare",), run=("work",), drop_network=True, exclusive=exclusive)
    task = Task("s", ContainerSpec(image="alpine", cmd=("work",), hold=True), tmp_path, setup=setup)
    executor = LocalExecutor(rt)
    handle = executor.submit(task)
    outcome = executor.run(handle, task, Output(), cancelled=never, interrupted=never)
    assert (outcome.code, outcome.phase) == (5, "setup")
    assert outcome.setup_seconds >= 0
    assert held == [True]
    execs = [args for name, args in rt.calls if name == "exec"]
    assert len(execs) == 1  # the setup only: no run phase, and the network stays (the step failed anyway)
    assert not [name for name, _ in rt.calls if name == "disconnect_network"]


def test_stop_from_another_thread_ends_the_run(tmp_path: Path) -> None:
    rt = FakeRuntime(images=["alpine"])
    rt.script(cmd=["sleep"], behaviour=Behaviour(delay=60))
    executor = LocalExecutor(rt)
    task = Task("s", ContainerSpec(image="alpine", cmd=("sleep",)), tmp_path)
    handle = executor.submit(task)
    threading.Timer(0.05, executor.stop, args=(handle,)).start()
    assert executor.run(handle, task, Output(), cancelled=never, interrupted=never) == Outcome(143, "run")
