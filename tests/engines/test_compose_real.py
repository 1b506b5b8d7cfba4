"""Composing and pausing pipelines on each real engine, through the CLI: a sub-pipeline, an approval gate that
suspends then resumes after ``approve`` without redoing upstream work, a rejected gate, ``when: always`` after a
failure, and ``resume`` of a detached suspended run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engines.test_engine_harness import Driver, artifacts, engine_params, json_lines, make_driver, state
from tests.subpipelines import CHILD_FILE, ended_scopes

PARENT = """
id: parent
steps:
  - id: download
    image: alpine:3.20
    cmd: [sh, -c, 'echo raw > /output/d.txt']
  - id: etl
    pipeline: ./etl
    inputs: [{step: download}]
    env: {REGION: eu}
  - id: report
    image: alpine:3.20
    inputs: [{step: etl}]
    cmd: [sh, -c, 'cat /input/etl/load/loaded.txt > /output/report.txt']
"""

CHILD = """
id: etl
steps:
  - id: extract
    image: alpine:3.20
    cmd: [sh, -c, 'cat /input/download/d.txt > /output/x.txt; echo "$REGION" >> /output/x.txt']
  - id: load
    image: alpine:3.20
    inputs: [{step: extract}]
    cmd: [sh, -c, 'cat /input/extract/x.txt /input/download/d.txt > /output/loaded.txt']
"""

GATED = """
id: rel
steps:
  - id: report
    image: alpine:3.20
    cmd: [sh, -c, 'echo q3 > /output/r.txt']
  - id: publish-ok
    approval: {message: "Publish the quarterly report?"}
    inputs: [{step: report}]
  - id: publish
    image: alpine:3.20
    inputs: [{step: publish-ok}, {step: report}]
    cmd: [sh, -c, 'cp /input/report/r.txt /output/published.txt']
"""

ALWAYS = """
id: tidy
steps:
  - id: good
    image: alpine:3.20
    cmd: [sh, -c, 'echo ok > /output/g.txt']
  - id: bad
    image: alpine:3.20
    inputs: [{step: good}]
    cmd: [sh, -c, 'echo broken >&2; exit 3']
  - id: cleanup
    image: alpine:3.20
    when: always
    inputs: [{step: good}, {step: bad}]
    cmd: [sh, -c, 'ls /input > /output/seen.txt']
"""


@pytest.fixture(scope="module", params=engine_params())
def driver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path_factory.mktemp("compose")) as d:
        yield d


def last_success(driver: Driver, ws: str, step: str) -> str:
    return str(state(driver.ws(ws))["steps"][step]["lastSuccess"]["runId"])


def test_a_sub_pipeline_runs_inlined_and_caches(driver: Driver) -> None:
    project = driver.project(PARENT, {CHILD_FILE: CHILD})
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    ends = ended_scopes(json_lines(done.stdout))
    assert ends == {"download": None, "etl.extract": "etl", "etl.load": "etl", "report": None}
    report = artifacts(driver.ws("parent"), last_success(driver, "parent", "report")) / "report.txt"
    assert report.read_text() == "raw\neu\nraw\n"
    again = driver.cli(["run", "--json"], cwd=project)
    assert again.returncode == 0, again.stderr
    assert {e["event"] for e in json_lines(again.stdout) if "step" in e} == {"step_cached"}
    logs = driver.cli(["logs", "parent", "etl.load"], cwd=project)
    assert logs.returncode == 0, logs.stderr


def test_a_gate_suspends_then_resumes_after_approve_without_redoing_upstream(driver: Driver) -> None:
    project = driver.project(GATED)
    first = driver.cli(["run"], cwd=project)
    assert first.returncode == 5, first.stderr
    assert "pipex approve rel publish-ok" in first.stderr and "pipex resume rel" in first.stderr
    report_run = last_success(driver, "rel", "report")
    approved = driver.cli(["approve", "rel", "publish-ok", "-m", "ok"], cwd=project)
    assert approved.returncode == 0, approved.stderr
    resumed = driver.cli(["resume", "rel", "--json"], cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    events = json_lines(resumed.stdout)
    assert events[0]["resumedFrom"] is not None
    assert [e["event"] for e in events if e.get("step", {}).get("id") == "report"] == ["step_cached"]
    assert last_success(driver, "rel", "report") == report_run
    published = artifacts(driver.ws("rel"), last_success(driver, "rel", "publish")) / "published.txt"
    assert published.read_text() == "q3\n"


def test_a_rejected_gate_fails_the_next_run(driver: Driver) -> None:
    project = driver.project(GATED.replace("id: rel", "id: rej"))
    assert driver.cli(["run"], cwd=project).returncode == 5
    rejected = driver.cli(["reject", "rej", "publish-ok", "-m", "not yet"], cwd=project)
    assert rejected.returncode == 0, rejected.stderr
    again = driver.cli(["run", "--json"], cwd=project)
    assert again.returncode == 1, again.stderr
    end = json_lines(again.stdout)[-1]
    assert (end["status"], end["failedStep"], end["failureSource"]) == ("failed", "publish-ok", "dependency")
    assert "publish" not in state(driver.ws("rej"))["steps"]


def test_when_always_runs_after_a_failure(driver: Driver) -> None:
    project = driver.project(ALWAYS)
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 1, done.stderr
    end = json_lines(done.stdout)[-1]
    assert (end["failedStep"], end["failureSource"], end["failedSteps"]) == ("bad", "user", ["bad"])
    seen = artifacts(driver.ws("tidy"), last_success(driver, "tidy", "cleanup")) / "seen.txt"
    assert seen.read_text() == "good\n"


def test_resume_of_a_detached_suspended_run(driver: Driver) -> None:
    project = driver.project(GATED.replace("id: rel", "id: bg"))
    started = driver.cli(["run", "-d"], cwd=project)
    assert started.returncode == 0, started.stderr
    attached = driver.cli(["attach", "bg"], cwd=project)
    assert attached.returncode == 5, attached.stderr
    assert "pipex approve bg publish-ok" in attached.stderr
    assert driver.cli(["approve", "bg", "publish-ok"], cwd=project).returncode == 0
    resumed = driver.cli(["resume", "bg", "-d"], cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    followed = driver.cli(["attach", "bg", "--json"], cwd=project)
    assert followed.returncode == 0, followed.stderr
    events = json_lines(followed.stdout)
    assert events[-1]["status"] == "success" and events[-1]["resumedFrom"] is not None
    assert [e["event"] for e in events if e.get("step", {}).get("id") == "report"] == ["step_cached"]
