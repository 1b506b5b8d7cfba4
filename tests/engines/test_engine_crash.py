"""``kill -9`` of pipex mid-step and mid-commit, and Ctrl-C: the workspace stays consistent, nothing is left running."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import (
    Driver,
    assert_consistent,
    engine_params,
    json_lines,
    kill9,
    make_driver,
    meta,
    state,
    wait_for,
)

CRASH_ENGINES = engine_params(("rootful_podman", "rootless_podman"))


@pytest.fixture(params=CRASH_ENGINES)
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as driver:
        yield driver


def step_containers(driver: Driver, step: str, state_: str | None = None) -> list[dict[str, object]]:
    return [
        c
        for c in driver.containers()
        if c["Labels"].get("pipex.step") == step and (state_ is None or c["State"] == state_)
    ]


def complete_lines(text: str) -> str:
    return text[: text.rfind("\n") + 1]


def test_kill9_during_a_step_then_the_next_run_reaps_and_reuses(driver: Driver) -> None:
    project = driver.project(
        """
id: crash
steps:
  - id: quick
    image: alpine:3.20
    cmd: [sh, -c, 'echo q > /output/q']
  - id: slow
    image: alpine:3.20
    inputs: [{step: quick}]
    caches: [{name: c, path: /c}]
    cmd: [sh, -c, 'test -e /c/fast || sleep 60; echo s > /output/s']
"""
    )
    proc = driver.popen(["run", str(project), "--json"], cwd=project)
    wait_for(lambda: bool(step_containers(driver, "slow", "running")), 60, "the slow step to run")
    kill9(proc)
    ws = driver.ws("crash")
    st = assert_consistent(ws)
    assert st["steps"]["quick"]["lastSuccess"]["status"] == "success"
    assert "slow" not in st["steps"]
    assert step_containers(driver, "slow", "running")  # orphaned until the next start
    assert list((ws / "staging").iterdir())  # the killed step's staging dir is still there

    (ws / "caches" / "c" / "fast").write_text("")  # (caches are not fingerprinted: same pipeline)
    done = driver.cli(["run", str(project), "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    events = json_lines(done.stdout)
    assert [e["step"]["id"] for e in events if e["event"] == "step_cached"] == ["quick"]
    assert [e["step"]["id"] for e in events if e["event"] == "step_start"] == ["slow"]
    assert list((ws / "staging").iterdir()) == []
    assert_consistent(ws)
    # (the driver's teardown asserts that the orphan was reaped: no container of this workdir is left)


MANY = """
id: commit
steps:
  - id: first
    image: alpine:3.20
    cmd: [sh, -c, 'echo 1 > /output/one']
  - id: many
    image: alpine:3.20
    inputs: [{step: first}]
    cmd: [sh, -c, 'i=0; while [ $i -lt 4000 ]; do echo $i > /output/f$i; i=$((i+1)); done']
  - id: after
    image: alpine:3.20
    inputs: [{step: many}]
    cmd: [sh, -c, 'ls /input/many | wc -l > /output/count']
"""


def test_kill9_during_commits_leaves_a_consistent_workspace(driver: Driver) -> None:
    project = driver.project(MANY)
    ws = driver.ws("commit")
    delays = [0.0, 0.05, 0.09, 0.12, 0.3] if not driver.engine.rootless else [0.0, 0.1, 0.3]
    for delay in delays:
        before = assert_consistent(ws)
        committed = {s for s, e in before["steps"].items() if e.get("lastSuccess")}
        proc = driver.popen(["run", str(project), "--json", "--force=many"], cwd=project)
        # The container is removed right before the run is committed: kill somewhere in the commit.
        wait_for(lambda: bool(step_containers(driver, "many")), 60, "the many-files step")
        wait_for(lambda: not step_containers(driver, "many"), 60, "the end of the many-files step")
        time.sleep(delay)
        out = kill9(proc)
        started = {e["step"]["id"] for e in json_lines(complete_lines(out)) if e["event"] == "step_start"}
        assert not (started & committed - {"many"}), "a committed success was run again"
        assert_consistent(ws)
    done = driver.cli(["run", str(project), "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    final = assert_consistent(ws)
    events = json_lines(done.stdout)
    cached = {e["step"]["id"] for e in events if e["event"] == "step_cached"}
    assert "first" in cached
    assert list((ws / "staging").iterdir()) == []
    for step in ("first", "many", "after"):
        run_id = final["steps"][step]["lastSuccess"]["runId"]
        assert meta(ws, run_id)["status"] == "success"
    assert (
        ws / "runs" / final["steps"]["after"]["lastSuccess"]["runId"] / "artifacts" / "count"
    ).read_text() == "4000\n"


LONG = """
id: long
steps:
  - id: done
    image: alpine:3.20
    cmd: [sh, -c, 'echo ok > /output/ok']
  - id: long
    image: alpine:3.20
    inputs: [{step: done}]
    cmd: [sh, -c, '%s']
"""


def test_ctrl_c_stops_cleanly_with_130(driver: Driver) -> None:
    project = driver.project(LONG % "sleep 60")
    proc = driver.popen(["run", str(project), "--json"], cwd=project)
    wait_for(lambda: bool(step_containers(driver, "long", "running")), 60, "the long step to run")
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - began < 12  # sleep dies on SIGTERM: no need for the 10 s grace
    assert driver.containers() == []
    end = json_lines(out)[-1]
    assert (end["event"], end["status"]) == ("pipeline_end", "interrupted")
    st = assert_consistent(driver.ws("long"))
    assert st["steps"]["done"]["lastSuccess"]["status"] == "success"
    last = st["steps"]["long"]["last"]
    assert last["status"] == "cancelled"
    assert st["steps"]["long"]["lastSuccess"] is None
    assert meta(driver.ws("long"), last["runId"])["status"] == "cancelled"
    assert list((driver.ws("long") / "staging").iterdir()) == []


@pytest.mark.parametrize("name", engine_params(("rootful_podman",)))
def test_second_ctrl_c_kills_at_once(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    with make_driver(request, name, tmp_path) as driver:
        # The step ignores SIGTERM: the first Ctrl-C would wait the whole 10 s grace.
        project = driver.project(LONG % 'trap "" TERM; sleep 60')
        proc = driver.popen(["run", str(project), "--json"], cwd=project)
        wait_for(lambda: bool(step_containers(driver, "long", "running")), 60, "the long step to run")
        proc.send_signal(signal.SIGINT)
        time.sleep(1)
        assert proc.poll() is None  # still in the grace period
        began = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert time.monotonic() - began < 5
        assert proc.returncode == 130, err
        assert driver.containers() == []
        assert json_lines(out)[-1]["status"] == "interrupted"
        assert state(driver.ws("long"))["steps"]["long"]["last"]["status"] == "cancelled"
