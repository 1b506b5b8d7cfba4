"""The setup phase on real engines: same container as cmd, failures, the network taken away, cache locks."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import (
    Driver,
    artifacts,
    engine_params,
    json_lines,
    make_driver,
    meta,
    wait_for,
)

NET = "awk -F: 'NR > 2 { gsub(/ /, \"\", $1); print $1 }' /proc/net/dev | sort"


@pytest.fixture(params=engine_params())
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as driver:
        yield driver


def test_setup_runs_first_in_the_same_container(driver: Driver) -> None:
    project = driver.project(
        """
id: setup
steps:
  - id: ok
    image: alpine:3.20
    setup: {cmd: [sh, -c, 'echo from-setup > /marker && echo setup-out']}
    cmd: [sh, -c, 'cat /marker > /output/seen.txt && echo run-out']
  - id: broken
    image: alpine:3.20
    setup: {cmd: [sh, -c, 'echo setup-fails >&2; exit 3']}
    cmd: [sh, -c, 'touch /output/ran']
"""
    )
    result = driver.api(project)
    assert result.status == "failed"
    assert result.states() == {"ok": "success", "broken": "failure"}
    ws = driver.ws("setup")
    run = ws / "runs" / result.steps["ok"]["runId"]
    assert (run / "artifacts" / "seen.txt").read_text() == "from-setup\n"
    assert (run / "stdout.log").read_text() == "setup-out\nrun-out\n"
    broken = meta(ws, result.steps["broken"]["runId"])
    assert (broken["status"], broken["reason"], broken["exitCode"]) == ("failure", "setup", 3)
    assert list(artifacts(ws, broken["runId"]).iterdir()) == []  # cmd never ran
    assert (ws / "runs" / broken["runId"] / "stderr.log").read_text() == "setup-fails\n"


# Not dockerd: the test daemon runs without a bridge, so no container there ever has a network to take away.
@pytest.mark.parametrize("name", engine_params(("rootful_podman", "rootless_podman")))
def test_setup_network_is_removed_before_the_run(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(
            f"""
id: net
steps:
  - id: s
    image: alpine:3.20
    setup: {{cmd: [sh, -c, {json.dumps(NET + " > /setup-net")}], allowNetwork: true}}
    cmd: [sh, -c, {json.dumps("cp /setup-net /output/setup.txt && " + NET + " > /output/run.txt")}]
"""
        )
        result = driver.api(project)
        assert result.states() == {"s": "success"}, result.steps
        out = artifacts(driver.ws("net"), result.steps["s"]["runId"])
        setup_ifaces = (out / "setup.txt").read_text().split()
        assert "lo" in setup_ifaces and len(setup_ifaces) > 1  # the setup had a network interface
        assert (out / "run.txt").read_text() == "lo\n"  # ...which the run phase no longer has


def test_exclusive_cache_setups_never_overlap_within_a_run(driver: Driver) -> None:
    steps = "\n".join(
        f"""  - id: s{n}
    image: alpine:3.20
    setup:
      caches: [{{name: pkgs, path: /pkgs, exclusive: true}}]
      cmd: [sh, -c, 'echo start-{n} >> /pkgs/log; sleep 0.5; echo end-{n} >> /pkgs/log']
    cmd: ["true"]"""
        for n in range(2)
    )
    project = driver.project(f"id: excl\nsteps:\n{steps}\n")
    result = driver.api(project, concurrency=2)
    assert result.states() == {"s0": "success", "s1": "success"}
    log = (driver.ws("excl") / "caches" / "pkgs" / "log").read_text().split()
    assert sorted([log[0:2], log[2:4]]) == [["start-0", "end-0"], ["start-1", "end-1"]], log


@pytest.mark.parametrize("name", engine_params(("rootful_podman",)))
def test_exclusive_cache_lock_holds_across_processes(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    """Another process holding the cache's lock file keeps the setup waiting; its release lets it go."""
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(
            """
id: xproc
steps:
  - id: s
    image: alpine:3.20
    setup:
      caches: [{name: pkgs, path: /pkgs, exclusive: true}]
      cmd: [sh, -c, 'date +%s > /pkgs/setup-ran']
    cmd: ["true"]
"""
        )
        caches = driver.ws("xproc") / "caches"
        caches.mkdir(parents=True)
        fd = os.open(caches / "pkgs.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            proc = driver.popen(["run", str(project), "--json"], cwd=project)
            wait_for((caches / "pkgs").is_dir, 30, "the step's container")
            time.sleep(2)
            assert not (caches / "pkgs" / "setup-ran").exists(), "setup ran while another process held the cache"
            released = time.time()
        finally:
            os.close(fd)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert int((caches / "pkgs" / "setup-ran").read_text()) >= int(released)
        assert json_lines(out)[-1]["status"] == "success"
