"""``pipex run`` on real engines: exit codes, ``--json``, ``--dry-run`` touches nothing, a busy workspace."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, json_lines, make_driver, wait_for

PIPELINE = """
id: cli
steps:
  - id: hello
    image: alpine:3.20
    cmd: [sh, -c, 'echo "hello $WHO" > /output/hello.txt; echo "log line"']
    env: {WHO: world}
  - id: check
    image: alpine:3.20
    inputs: [{step: hello}]
    cmd: [sh, -c, 'grep -q world /input/hello/hello.txt']
"""


@pytest.fixture(params=engine_params(("rootful_podman",)))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as driver:
        yield driver


def tree_digest(root: Path) -> str:
    """Names, types, modes, sizes, mtimes and contents of everything under ``root`` (symlinks not followed)."""
    h = hashlib.sha256()
    if not root.exists():
        return "absent"
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath, name)
            st = path.lstat()
            h.update(f"{path.relative_to(root)}|{st.st_mode}|{st.st_size}|{st.st_mtime_ns}\n".encode())
            if path.is_file() and not path.is_symlink():
                h.update(path.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", engine_params(("rootful_podman", "rootless_podman")))
def test_exit_codes_and_json_lines(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(PIPELINE)
        done = driver.cli(["run", str(project), "--json", "--verbose"], cwd=project)
        assert done.returncode == 0, done.stderr
        events = json_lines(done.stdout)  # every stdout line is JSON
        kinds = [e["event"] for e in events]
        assert kinds[0] == "pipeline_start" and kinds[-1] == "pipeline_end"
        assert kinds.count("step_start") == 2 and kinds.count("step_end") == 2
        assert {"stream": "stdout", "line": "log line"}.items() <= next(
            e for e in events if e["event"] == "step_log"
        ).items()
        end = events[-1]
        assert (end["status"], end["failedSteps"], end["counts"]["ran"]) == ("success", [], 2)

        (project / "pipeline.yml").write_text(PIPELINE.replace("WHO: world", "WHO: nobody"))
        done = driver.cli(["run", str(project), "--json"], cwd=project)
        assert done.returncode == 1, done.stderr
        end = json_lines(done.stdout)[-1]
        assert (end["event"], end["status"], end["failedSteps"]) == ("pipeline_end", "failed", ["check"])


def test_dry_run_touches_nothing(driver: Driver) -> None:
    project = driver.project(PIPELINE)
    done = driver.cli(["run", str(project), "--dry-run"], cwd=project)
    assert done.returncode == 0, done.stderr
    assert not driver.workdir.exists()  # not even the workspace is created
    assert driver.cli(["run", str(project)], cwd=project).returncode == 0
    (project / "pipeline.yml").write_text(PIPELINE.replace("WHO: world", "WHO: there"))
    before = tree_digest(driver.workdir)
    done = driver.cli(["run", str(project), "--dry-run", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    would = {e["step"]["id"]: e["reason"] for e in json_lines(done.stdout) if e["event"] == "step_would_run"}
    assert would == {"hello": "env: WHO changed", "check": "input hello would run"}
    assert tree_digest(driver.workdir) == before
    assert driver.containers() == []


def test_busy_workspace_exits_4_naming_the_holder(driver: Driver) -> None:
    project = driver.project(
        "id: busy\nsteps:\n  - id: s\n    image: alpine:3.20\n    cmd: [sleep, '30']\n", name="busy"
    )
    first = driver.popen(["run", str(project), "--json"], cwd=project)
    try:
        wait_for(lambda: any(c["State"] == "running" for c in driver.containers()), 30, "the first run's step")
        second = driver.cli(["run", str(project)], cwd=project)
        assert second.returncode == 4
        lines = second.stderr.splitlines()
        assert re.fullmatch(
            rf'error: workspace "busy" is in use by pid {first.pid} \(pipex run, started \d\d:\d\d\)', lines[0]
        ), second.stderr
        assert lines[1].startswith("hint: ")
        assert second.stdout == ""
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 130
