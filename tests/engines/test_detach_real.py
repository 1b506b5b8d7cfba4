"""Detached runs on rootful Podman: run -d, attach mid-run and after the end, cancel, busy workspace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver, state, wait_for

PIPELINE = """
id: slow
steps:
  - id: a
    image: alpine:3.20
    cmd: [sh, -c, 'echo start; sleep 3; echo done > /output/a.txt']
  - id: b
    image: alpine:3.20
    inputs: [{step: a}]
    cmd: [sh, -c, 'cat /input/a/a.txt; sleep 1']
"""


@pytest.fixture(params=engine_params(("rootful_podman",)))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as d:
        yield d


def shape(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["event"], (e.get("step") or {}).get("id"), e.get("status")) for e in lines if e["event"] != "step_log"]


def started(driver: Driver, project: Path, ws: str) -> str:
    done = driver.cli(["run", "-d", "-w", ws, "--force"], cwd=project)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_attach_mid_run_sees_what_a_foreground_run_emits(driver: Driver) -> None:
    project = driver.project(PIPELINE)
    fg = driver.cli(["run", "-w", "fg", "--json"], cwd=project)
    assert fg.returncode == 0, fg.stderr
    run_id = started(driver, project, "bg")
    attached = driver.cli(["attach", "bg", "--json"], cwd=project)
    assert attached.returncode == 0, attached.stderr
    got = [json.loads(line) for line in attached.stdout.splitlines()]
    assert got[0]["runId"] == run_id
    assert shape(got) == shape([json.loads(line) for line in fg.stdout.splitlines()])
    again = driver.cli(["attach", "bg", "--json"], cwd=project)  # after the end: a replay, same status
    assert again.returncode == 0 and again.stdout == attached.stdout


def test_cancel_stops_the_run_and_records_cancelled(driver: Driver) -> None:
    project = driver.project(PIPELINE)
    started(driver, project, "c")
    wait_for(lambda: bool(driver.containers()), 30, "the first container")
    busy = driver.cli(["run", "-d", "-w", "c"], cwd=project)
    assert busy.returncode == 4, busy.stderr
    assert busy.stderr.startswith('error: workspace "c" is in use by pid ')
    done = driver.cli(["cancel", "c"], cwd=project)
    assert done.returncode == 0, done.stderr
    assert driver.containers() == []
    attached = driver.cli(["attach", "c", "--json"], cwd=project)
    assert attached.returncode == 130
    assert json.loads(attached.stdout.splitlines()[-1])["status"] == "cancelled"
    runs = state(driver.ws("c"))["steps"]["a"]["last"]
    assert runs["status"] == "cancelled"


def test_a_refused_second_run_leaves_the_live_run_unharmed(driver: Driver) -> None:
    project = driver.project(PIPELINE)
    run_id = started(driver, project, "live")
    wait_for(lambda: bool(driver.containers()), 30, "the first container")
    for args in (["run", "-d", "-w", "live"], ["run", "-w", "live"]):  # detached and foreground alike
        busy = driver.cli(args, cwd=project)
        assert busy.returncode == 4, busy.stderr
        assert busy.stdout == ""
    attached = driver.cli(["attach", "live", "--json"], cwd=project)
    assert attached.returncode == 0, attached.stderr
    events = [json.loads(line) for line in attached.stdout.splitlines()]
    assert events[0]["runId"] == run_id
    assert events[-1]["event"] == "pipeline_end" and events[-1]["status"] == "success"
    steps = state(driver.ws("live"))["steps"]
    assert steps["a"]["lastSuccess"]["status"] == steps["b"]["lastSuccess"]["status"] == "success"
    assert driver.containers() == []
