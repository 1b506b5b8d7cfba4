"""Timeouts and retries on real engines."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver, meta


@pytest.fixture(params=engine_params())
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as driver:
        yield driver


def test_timeout_stops_the_container_and_records_124(driver: Driver) -> None:
    project = driver.project(
        """
id: slow
steps:
  - id: s
    image: alpine:3.20
    timeoutSec: 2
    cmd: [sh, -c, 'echo started; sleep 30']
"""
    )
    began = time.monotonic()
    result = driver.api(project)
    elapsed = time.monotonic() - began
    assert elapsed < 15
    assert result.status == "failed"
    assert result.steps["s"]["state"] == "timeout"
    m = meta(driver.ws("slow"), result.steps["s"]["runId"])
    assert (m["status"], m["reason"], m["exitCode"]) == ("timeout", "timeout", 124)
    assert 2000 <= m["durationMs"] < 13000
    assert (driver.ws("slow") / "runs" / m["runId"] / "stdout.log").read_text() == "started\n"
    # (the driver's teardown asserts that no container is left)


def test_retry_succeeds_on_the_second_attempt_and_keeps_the_first_logs(driver: Driver) -> None:
    project = driver.project(
        """
id: flaky
steps:
  - id: s
    image: alpine:3.20
    retries: 2
    retryDelayMs: 0
    caches: [{name: state, path: /state}]
    cmd:
      - sh
      - -c
      - 'n=$(( $(cat /state/n 2>/dev/null || echo 0) + 1 )); echo $n > /state/n;
         echo attempt $n; echo err $n >&2; test $n -ge 2'
"""
    )
    result = driver.api(project)
    assert result.states() == {"s": "success"}
    retries = result.of("step_retry", "s")
    assert [(e["attempt"], e["max"]) for e in retries] == [(2, 3)]
    ws = driver.ws("flaky")
    m = meta(ws, result.steps["s"]["runId"])
    assert (m["status"], m["attempt"]) == ("success", 2)
    run = ws / "runs" / m["runId"]
    assert (run / "attempt-1.stdout.log").read_text() == "attempt 1\n"
    assert (run / "attempt-1.stderr.log").read_text() == "err 1\n"
    assert (run / "stdout.log").read_text() == "attempt 2\n"
    assert sorted(p.name for p in (ws / "runs").iterdir()) == [m["runId"]]  # one committed run, no leftovers
    assert list((ws / "staging").iterdir()) == []
