"""A fan-out over a sub-pipeline on rootless Podman, through the CLI: every instance runs the whole child with its
values, a dependent fans in every instance's final steps, addressing an instance's step works, and adding an
instance runs only its steps (and the fan-in)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engines.test_engine_harness import Driver, artifacts, engine_params, json_lines, make_driver, state
from tests.subpipelines import CHILD_FILE, ended_scopes, started

PARENT = """
id: regions
steps:
  - id: download
    image: alpine:3.20
    cmd: [sh, -c, 'echo raw > /output/d.txt']
  - id: etl
    pipeline: ./etl
    inputs: [{step: download}]
    matrix: {region: [eu, us]}
    env: {LABEL: "r-${{ matrix.region }}"}
  - id: report
    image: alpine:3.20
    inputs: [{step: etl}]
    cmd: [sh, -c, 'cd /input/etl && cat */load/loaded.txt > /output/report.txt && ls > /output/keys.txt']
"""

CHILD = """
id: etl
steps:
  - id: extract
    image: alpine:3.20
    cmd: [sh, -c, 'echo "${{ matrix.region }} $MATRIX_REGION $LABEL" > /output/x.txt']
  - id: load
    image: alpine:3.20
    inputs: [{step: extract}]
    cmd: [sh, -c, 'cat /input/extract/x.txt /input/download/d.txt > /output/loaded.txt']
"""


@pytest.fixture(scope="module", params=engine_params(("rootless_podman",)))
def driver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path_factory.mktemp("subfan")) as d:
        yield d


def last_success(driver: Driver, step: str) -> str:
    return str(state(driver.ws("regions"))["steps"][step]["lastSuccess"]["runId"])


def test_each_instance_runs_the_whole_child_and_the_dependent_fans_in(driver: Driver) -> None:
    project = driver.project(PARENT, {CHILD_FILE: CHILD})
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    assert ended_scopes(json_lines(done.stdout)) == {
        "download": None,
        "etl[eu].extract": "etl[eu]",
        "etl[eu].load": "etl[eu]",
        "etl[us].extract": "etl[us]",
        "etl[us].load": "etl[us]",
        "report": None,
    }
    out = artifacts(driver.ws("regions"), last_success(driver, "report"))
    assert (out / "report.txt").read_text() == "eu eu r-eu\nraw\nus us r-us\nraw\n"
    assert (out / "keys.txt").read_text() == "eu\nus\n"

    logs = driver.cli(["logs", "regions", "etl[us].extract"], cwd=project)
    assert logs.returncode == 0, logs.stderr
    forced = driver.cli(["run", "--json", "--force", "etl[eu].extract"], cwd=project)
    assert forced.returncode == 0, forced.stderr
    assert started(json_lines(forced.stdout)) == ["etl[eu].extract"]  # the same artifacts: nothing downstream re-runs

    (project / "pipeline.yml").write_text(PARENT.replace("[eu, us]", "[eu, us, asia]"), encoding="utf-8")
    added = driver.cli(["run", "--json"], cwd=project)
    assert added.returncode == 0, added.stderr
    assert started(json_lines(added.stdout)) == ["etl[asia].extract", "etl[asia].load", "report"]
    out = artifacts(driver.ws("regions"), last_success(driver, "report"))
    assert (out / "keys.txt").read_text() == "asia\neu\nus\n"


DYNAMIC = """
id: listed
steps:
  - id: list
    image: alpine:3.20
    cmd: [sh, -c, 'echo "regions=[\\"eu\\",\\"us\\"]" >> "$PIPEX_OUTPUT"; echo raw > /output/d.txt']
  - id: etl
    pipeline: ./etl
    inputs: [{step: list}]
    foreach: steps.list.outputs.regions
    env: {LABEL: "r-${{ item }}"}
  - id: report
    image: alpine:3.20
    inputs: [{step: etl}]
    cmd: [sh, -c, 'cd /input/etl && cat */load/loaded.txt > /output/report.txt && ls > /output/keys.txt']
"""

DYNAMIC_CHILD = """
id: etl
steps:
  - id: extract
    image: alpine:3.20
    cmd: [sh, -c, 'echo "${{ item }} $ITEM $LABEL" > /output/x.txt']
  - id: load
    image: alpine:3.20
    inputs: [{step: extract}]
    cmd: [sh, -c, 'cat /input/extract/x.txt /input/list/d.txt > /output/loaded.txt']
"""


def test_a_list_output_runs_the_child_per_item_in_the_same_run(driver: Driver) -> None:
    project = driver.project(DYNAMIC, {CHILD_FILE: DYNAMIC_CHILD})
    dry = driver.cli(["run", "--dry-run"], cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert "? etl  would run (depends on steps.list.outputs.regions (not known before list runs))" in dry.stderr
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    events = json_lines(done.stdout)
    assert [e["event"] for e in events].count("pipeline_end") == 1
    assert len({e["runId"] for e in events}) == 1
    assert ended_scopes(events) == {
        "list": None,
        "etl[eu].extract": "etl[eu]",
        "etl[eu].load": "etl[eu]",
        "etl[us].extract": "etl[us]",
        "etl[us].load": "etl[us]",
        "report": None,
    }
    ws = driver.ws("listed")
    out = artifacts(ws, str(state(ws)["steps"]["report"]["lastSuccess"]["runId"]))
    assert (out / "report.txt").read_text() == "eu eu r-eu\nraw\nus us r-us\nraw\n"
    assert (out / "keys.txt").read_text() == "eu\nus\n"
    again = driver.cli(["run", "--json"], cwd=project)
    assert again.returncode == 0, again.stderr
    assert started(json_lines(again.stdout)) == []  # all cached
