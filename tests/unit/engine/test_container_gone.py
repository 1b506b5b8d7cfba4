"""A container the engine no longer knows has ended: a stop or kill of it is not escalated, its removal is done.

The race these guard: a stop that a loaded machine runs late, after the step's container was stopped another way
and removed by its step's clean-up. It used to fail, be "escalated" to four kills over 3.5 s, and count as a
failed stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pipex
from pipex.errors import ContainerGone, EngineError
from pipex.executors.halt import halt, remove_each
from pipex.runtime.base import ContainerSpec
from pipex.runtime.fake import Behaviour, FakeRuntime
from tests.unit.engine.test_engine_support import calls, collect, end, write

ONE = """
    id: gone
    steps:
      - {id: a, image: alpine:3.20, cmd: [a]}
"""


def removed_container(rt: FakeRuntime) -> str:
    cid = rt.create(ContainerSpec(image="alpine:3.20", cmd=("x",)))
    rt.start(cid)
    rt.remove(cid)
    return cid


def test_the_fake_says_an_unknown_container_is_gone() -> None:
    rt = FakeRuntime()
    cid = removed_container(rt)
    for call in (lambda: rt.stop(cid), lambda: rt.kill(cid), lambda: rt.wait(cid, 0)):
        try:
            call()
        except ContainerGone as exc:
            assert exc.message == f"no such container {cid!r}"
        else:
            raise AssertionError("no ContainerGone")


def test_halt_of_a_removed_container_returns_at_once_without_a_kill() -> None:
    rt = FakeRuntime()
    cid = removed_container(rt)
    started = time.monotonic()
    assert halt(rt, cid, 10.0) is True
    assert time.monotonic() - started < 1.0
    assert [name for name, _ in calls(rt, "stop", "kill")] == ["stop"]


def test_a_kill_of_a_removed_container_is_not_retried() -> None:
    rt = FakeRuntime()
    cid = removed_container(rt)
    started = time.monotonic()
    assert halt(rt, cid, 10.0, kill=True) is True
    assert time.monotonic() - started < 0.5  # the first retry waits 0.5 s
    assert [name for name, _ in calls(rt, "stop", "kill")] == ["kill"]


def test_a_stop_that_fails_otherwise_is_still_escalated() -> None:
    rt = FakeRuntime()
    rt.script(image="alpine:3.20", behaviour=Behaviour(delay=30))
    cid = rt.create(ContainerSpec(image="alpine:3.20", cmd=("x",)))
    rt.start(cid)
    rt.fail("stop", EngineError("stop container failed: timed out"))
    assert halt(rt, cid, 10.0) is True
    assert [name for name, _ in calls(rt, "stop", "kill")] == ["stop", "kill"]


def test_removing_a_container_already_gone_counts_as_removed() -> None:
    rt = FakeRuntime()
    gone, stuck, fine = (rt.create(ContainerSpec(image="alpine:3.20", cmd=(n,))) for n in ("g", "s", "f"))
    # Podman's answer when another removal won the race (a 500, not the 404 the backends accept).
    rt.fail("remove", ContainerGone(f"remove container: no such container {gone!r}: no such container"))
    rt.fail("remove", EngineError("remove container failed: device busy"))
    done = remove_each(rt, [gone, stuck, fine])
    assert done.removed == (gone, fine)
    assert done.errors == (f"container {stuck[:12]}: remove container failed: device busy",)


class LateStop(FakeRuntime):
    """The run's stop of a container that was created but not started yet runs late, as on a loaded machine:
    ``start`` interrupts the run and goes on once that stop was sent; the engine answers it only after the
    container was stopped (by the executor's stop right after its start) and removed."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: pipex.Engine | None = None
        self.sent = threading.Event()
        self.removed = threading.Event()
        self.started: set[str] = set()

    def start(self, container: str) -> None:
        assert self.engine is not None
        self.engine.interrupt()
        assert self.sent.wait(10), "the run's stop never reached the container"
        super().start(container)
        self.started.add(container)

    def stop(self, container: str, grace: float = 10.0) -> None:
        if container not in self.started:
            self.sent.set()
            assert self.removed.wait(10), "the container was never removed"
        super().stop(container, grace)

    def remove(self, container: str) -> None:
        super().remove(container)
        self.removed.set()


def test_a_late_stop_of_a_removed_container_is_not_escalated_to_kills(tmp_path: Path) -> None:
    rt = LateStop()
    rt.script(step="a", behaviour=Behaviour(delay=30))
    engine = rt.engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    started = time.monotonic()
    result = end(collect(engine, pipex.load(write(tmp_path / "p", ONE)))).result
    took = time.monotonic() - started
    assert (result.status, result.outcome("a").state) == ("interrupted", "cancelled")
    (cid,) = rt.started
    ops = [name for name, args in rt.calls if args[:1] == (cid,) and name in ("start", "stop", "kill", "remove")]
    assert ops == ["start", "stop", "remove", "stop"]  # the late stop found it gone: no kill
    assert took < 3.0  # the kills' retries alone took 3.5 s
    assert rt.containers == {}


def test_containers_gone_at_their_removal_leave_no_error_in_the_result(tmp_path: Path) -> None:
    rt = FakeRuntime()
    # Every removal finds the container gone (a sweep of another pipex won the race): nothing is left behind.
    rt.fail("remove", ContainerGone("remove container: no such container: no such container"), times=None)
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    result = end(collect(engine, pipex.load(write(tmp_path / "p", ONE)))).result
    assert (result.status, result.errors) == ("success", ())
    assert calls(rt, "remove")
