"""Faults end cleanly: stops escalate to kills, clean-up never skips a container, a full disk or a too-long name
is one line, a cancel during create/start is a cancel, and rm/clean remove the containers of what they delete."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import pipex
from pipex.cli.commands.run import stop_notice
from pipex.engine.wsclean import ContainerSweeper
from pipex.errors import ContainerFailed, EngineError, NameTooLong
from pipex.executors.halt import halt, sweep
from pipex.runtime.base import ContainerSpec, LogChunk
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.runtime.labels import container_labels
from pipex.workspace.layout import Workspace
from pipex.workspace.maintenance import clean, remove_workspaces
from tests.unit.engine.test_engine_support import calls, collect, end, write

ONE = """
    id: faults
    steps:
      - {id: a, image: alpine:3.20, cmd: [a], timeoutSec: 0.2}
"""

TWO = """
    id: faults
    steps:
      - {id: a, image: alpine:3.20, cmd: [a]}
      - {id: b, image: alpine:3.20, cmd: [b]}
"""


def ws_dir(tmp_path: Path) -> Path:
    return tmp_path / "wd" / "faults"


def test_a_stop_that_fails_is_escalated_to_a_kill(tmp_path: Path) -> None:
    rt = FakeRuntime()
    rt.script(step="a", behaviour=Behaviour(delay=30))
    rt.fail("stop", EngineError("stop container failed: timed out"), times=None)
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    started = time.monotonic()
    result = end(collect(engine, pipex.load(write(tmp_path / "p", ONE)))).result
    assert time.monotonic() - started < 10
    assert (result.outcome("a").state, result.outcome("a").reason) == ("timeout", "timeout")
    assert [name for name, _ in calls(rt, "stop", "kill")] == ["stop", "kill"]
    assert rt.containers == {}


class HangingStop(FakeRuntime):
    """A stop request the engine never answers (a saturated machine)."""

    def __init__(self) -> None:
        super().__init__()
        self.never = threading.Event()

    def stop(self, container: str, grace: float = 10.0) -> None:
        self._record("stop", container, grace)
        self.never.wait(30)


def test_a_stop_that_hangs_is_escalated_to_a_kill_after_grace_and_slack() -> None:
    rt = HangingStop()
    rt.script(image="alpine:3.20", behaviour=Behaviour(delay=30))
    cid = rt.create(ContainerSpec(image="alpine:3.20", cmd=("x",)))
    rt.start(cid)
    started = time.monotonic()
    assert halt(rt, cid, 0.1, slack=0.2) is True
    assert 0.3 <= time.monotonic() - started < 3
    assert rt.containers[cid].state == "exited" and rt.containers[cid].exit_code == 137
    rt.never.set()


def test_a_kill_is_retried_and_a_second_ctrl_c_kills_at_once() -> None:
    rt = FakeRuntime()
    rt.script(image="alpine:3.20", behaviour=Behaviour(delay=30))
    cid = rt.create(ContainerSpec(image="alpine:3.20", cmd=("x",)))
    rt.start(cid)
    rt.fail("kill", EngineError("kill container failed: busy"), times=2)
    assert halt(rt, cid, 10.0, kill=True) is True
    assert [name for name, _ in calls(rt, "stop", "kill")] == ["kill", "kill", "kill"]


def test_a_removal_that_fails_is_retried_by_the_sweep_at_the_end_of_the_run(tmp_path: Path) -> None:
    rt = FakeRuntime()
    rt.fail("remove", EngineError("remove container failed: device busy"), times=1)
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    result = end(collect(engine, pipex.load(write(tmp_path / "p", TWO)))).result
    assert result.status == "success"
    assert len(calls(rt, "remove")) == 3  # a's failed, b's, then the sweep's
    assert rt.containers == {}


def test_sweep_removes_each_container_and_collects_the_errors(tmp_path: Path) -> None:
    rt = FakeRuntime()
    made = [
        rt.create(ContainerSpec(image="alpine:3.20", labels=container_labels(tmp_path, "w", "r", s, pid=1)))
        for s in ("a", "b", "c")
    ]
    other = rt.create(ContainerSpec(image="alpine:3.20", labels=container_labels(tmp_path, "x", "r", "a")))
    rt.fail("remove", EngineError("remove container failed: boom"), times=1)
    done = sweep(rt, tmp_path, "w")
    assert done.removed == tuple(made[1:])
    assert done.errors == (f"container {made[0][:12]}: remove container failed: boom",)
    assert set(rt.containers) == {made[0], other}


class CancelOn(FakeRuntime):
    """Cancels the run from inside ``create`` or ``start``, as a Ctrl-C landing then does, and fails that call
    the way an engine does when the container is stopped under it."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where
        self.engine: pipex.Engine | None = None

    def _cancel_and_fail(self) -> None:
        assert self.engine is not None
        self.engine.cancel()
        time.sleep(0.2)  # the loop runs the stop
        raise ContainerFailed(f"{self.where} container failed: container state improper")

    def create(self, spec: ContainerSpec) -> str:
        cid = super().create(spec)
        if self.where == "create":
            self._cancel_and_fail()
        return cid

    def start_attached(self, container: str, *, started: Callable[[], None] | None = None) -> Iterator[LogChunk]:
        if self.where == "start":
            self._cancel_and_fail()
        yield from super().start_attached(container, started=started)


@pytest.mark.parametrize("where", ["create", "start"])
def test_a_cancel_during_create_or_start_is_recorded_cancelled(tmp_path: Path, where: str) -> None:
    rt = CancelOn(where)
    engine = rt.engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    result = end(collect(engine, pipex.load(write(tmp_path / "p", TWO)), concurrency=1)).result
    assert (result.status, result.exit_code) == ("cancelled", 130)
    assert (result.outcome("a").state, result.outcome("a").reason) == ("cancelled", "cancelled")
    assert result.outcome("b").state == "cancelled"
    assert rt.containers == {}


class CancelWhileStarting(FakeRuntime):
    """A cancel that lands after the executor's last "cancelled?" check, before the container runs: ``start``
    cancels the run and goes on only once the run's stop has reached the container — while it was created, not
    running, so that stop did nothing (as on an engine)."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: pipex.Engine | None = None
        self.stopped_early = threading.Event()
        self.started: set[str] = set()

    def start(self, container: str) -> None:
        assert self.engine is not None
        self.engine.cancel()
        assert self.stopped_early.wait(10), "the run's stop never reached the container"
        super().start(container)
        self.started.add(container)

    def stop(self, container: str, grace: float = 10.0) -> None:
        super().stop(container, grace)
        if container not in self.started:
            self.stopped_early.set()


def test_a_cancel_while_a_container_starts_stops_it_at_once_and_removes_it(tmp_path: Path) -> None:
    rt = CancelWhileStarting()
    rt.script(step="a", behaviour=Behaviour(delay=3600))  # would run for an hour once started
    engine = rt.engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    events: list[pipex.Event] = []
    runner = threading.Thread(
        target=lambda: events.extend(collect(engine, pipex.load(write(tmp_path / "p", TWO)), concurrency=1)),
        daemon=True,
    )
    runner.start()
    runner.join(30)  # bounded: left running, the container would hold the run for an hour
    left_running = runner.is_alive()
    if left_running:  # end it, or the test process waits for the run's threads
        for cid in rt.started:
            rt.kill(cid)
        runner.join(30)
    assert not left_running, "the started container was not stopped"
    result = end(events).result
    assert (result.status, result.outcome("a").state, result.outcome("b").state) == ("cancelled",) * 3
    (cid,) = rt.started
    ops = [name for name, args in rt.calls if args[:1] == (cid,)]
    assert ops[ops.index("start") :][:2] == ["start", "stop"]  # stopped right after its start, not left to run
    assert ops[-1] == "remove"
    assert rt.containers == {}


def test_a_full_disk_while_a_step_writes_ends_the_run_with_one_line(tmp_path: Path) -> None:
    rt = FakeRuntime()
    rt.script(step="a", behaviour=Behaviour())
    # /dev/full answers every write with ENOSPC: the host side of a step's output on a full disk.
    rt.script(step="b", behaviour=Behaviour(files={"/dev/full": b"x"}))
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    pipeline = pipex.load(write(tmp_path / "p", TWO))
    result = end(collect(engine, pipeline, concurrency=1)).result
    assert (result.status, result.exit_code, result.failure_kind) == ("failed", 1, "engine")
    assert tuple(e.message for e in result.errors) == (
        "no space left on the device while running step 'b'; free space there (`pipex prune`, "
        "`pipex clean`) or choose a larger --workdir, then run again: steps that finished are reused",
    )
    assert rt.containers == {}
    assert list((ws_dir(tmp_path) / "staging").iterdir()) == []
    state = json.loads((ws_dir(tmp_path) / "state.json").read_text())
    assert set(state["steps"]) == {"a"}  # a's success is committed and reused by the next run
    rt.script(step="b", behaviour=Behaviour())
    again = end(collect(engine, pipeline)).result
    assert [(o.id, o.state) for o in again.steps] == [("a", "cached"), ("b", "success")]


def test_a_name_too_long_for_the_filesystem_is_one_line_before_the_run(tmp_path: Path) -> None:
    # workspace names are at most 128 characters (validated), so the workdir brings the name past NAME_MAX
    engine = pipex.Engine(workdir=tmp_path / ("d" * 300), runtime=FakeRuntime())
    with pytest.raises(NameTooLong) as info:
        engine.run_sync(pipex.load(write(tmp_path / "p", TWO)), workspace="w")
    assert info.value.message.startswith("a name is too long for the filesystem while ")
    assert info.value.hint == "use shorter workspace and step ids, or a workdir with a shorter path"
    assert info.value.exit_code == 2


def test_a_name_too_long_written_by_a_step_is_one_line(tmp_path: Path) -> None:
    rt = FakeRuntime()
    rt.script(step="a", behaviour=Behaviour(files={"n" * 300: b"x"}))
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    result = end(collect(engine, pipex.load(write(tmp_path / "p", TWO)))).result
    assert result.status == "failed" and result.errors[0].message.startswith(
        "a name is too long for the filesystem while running step 'a' ("
    )
    assert rt.containers == {}


def leftover(tmp_path: Path, rt: FakeRuntime, name: str) -> str:
    """A workspace a killed pipex left: a staged run and its container."""
    ws = Workspace(tmp_path / "wd", name)
    ws.create()
    (ws.staging_dir / "20260101T000000000Z-deadbeef" / "artifacts").mkdir(parents=True)
    labels = container_labels(ws.workdir, name, "20260101T000000000Z-deadbeef", "a", pid=999_999_999)
    return rt.create(ContainerSpec(image="alpine:3.20", labels=labels))


def test_rm_and_clean_remove_the_containers_of_the_workspaces_they_delete(tmp_path: Path) -> None:
    rt = FakeRuntime()
    one, two = leftover(tmp_path, rt, "one"), leftover(tmp_path, rt, "two")
    kept = leftover(tmp_path, rt, "kept")
    sweeper = ContainerSweeper(runtime=rt)
    remove_workspaces(tmp_path / "wd", ["one"], before_drop=sweeper)
    assert sweeper.removed == [one] and one not in rt.containers
    Workspace(tmp_path / "wd", "kept").lock("pipex run")  # in use: clean keeps it and its container
    clean(tmp_path / "wd", before_drop=sweeper)
    assert sweeper.removed == [one, two]
    assert set(rt.containers) == {kept}
    assert sweeper.warnings == []


def test_rm_asks_no_engine_for_a_workspace_without_leftovers(tmp_path: Path) -> None:
    rt = FakeRuntime()
    Workspace(tmp_path / "wd", "tidy").create()
    sweeper = ContainerSweeper(runtime=rt)
    remove_workspaces(tmp_path / "wd", ["tidy"], before_drop=sweeper)
    assert rt.calls == []  # not even a list: the engine is not opened


def test_rm_without_an_engine_warns_and_still_deletes_the_files(tmp_path: Path) -> None:
    rt = FakeRuntime()
    leftover(tmp_path, rt, "gone")
    sweeper = ContainerSweeper("podman", f"unix://{tmp_path}/no.sock")
    remove_workspaces(tmp_path / "wd", ["gone"], before_drop=sweeper)
    assert not (tmp_path / "wd" / "gone").exists()
    assert len(sweeper.warnings) == 1
    assert sweeper.warnings[0].startswith(
        'cannot remove the containers of workspace "gone" (no Podman engine answers; tried: unix://'
    )
    assert sweeper.warnings[0].endswith(
        "); remove them with `podman rm -f $(podman ps -aq --filter label=pipex.workspace=gone)` once the engine runs"
    )


def test_interrupt_says_how_many_steps_it_stops() -> None:
    assert stop_notice(3, 1) == "pipex: stopping 3 running steps (Ctrl-C again kills them at once)"
    assert stop_notice(1, 1) == "pipex: stopping 1 running step (Ctrl-C again kills them at once)"
    assert stop_notice(2, 2) == "pipex: killing 2 running steps now"


def test_containers_that_cannot_be_removed_are_said_in_the_result(tmp_path: Path) -> None:
    rt = FakeRuntime()
    rt.fail("remove", EngineError("remove container failed: busy"), times=None)
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    result = end(collect(engine, pipex.load(write(tmp_path / "p", TWO)), concurrency=1)).result
    assert result.status == "success"
    first = next(iter(rt.containers))
    assert tuple(e.message for e in result.errors) == (
        f"2 container(s) could not be removed (container {first[:12]}: remove container failed: busy); "
        "the next run removes them",
    )
