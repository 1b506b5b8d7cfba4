"""Fan-out on each real engine: a matrix, a foreach over an upstream output, routing on a computed value, fan-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver

PIPELINE = r"""
id: fanout
steps:
  - id: convert
    matrix: {region: [eu, us], format: [csv, json]}
    image: alpine:3.20
    cmd: [sh, -c, 'echo "${{ matrix.region }} $MATRIX_FORMAT" > /output/out.txt']
  - id: list
    image: alpine:3.20
    cmd: [sh, -c, 'echo "files=[\"a.txt\",\"b.txt\",\"c.txt\"]" >> "$PIPEX_OUTPUT"']
  - id: process
    foreach: steps.list.outputs.files
    inputs: [{step: list}]
    maxParallel: 2
    image: alpine:3.20
    cmd: [sh, -c, 'echo "$ITEM" > /output/${{ item }}; echo "size=${#ITEM}" >> "$PIPEX_OUTPUT"']
  - id: paired
    foreach: {step: convert}
    inputs: [{step: convert}]
    image: alpine:3.20
    cmd: [sh, -c, 'test "$(ls /input/convert)" = out.txt && echo "$ITEM: $(cat /input/convert/out.txt)" > /output/p']
  - id: merge
    image: alpine:3.20
    inputs: [{step: convert}, {step: process}, {step: paired}]
    cmd: [sh, -c, 'cat /input/convert/*/out.txt /input/process/*/*.txt /input/paired/*/p > /output/all.txt']
"""


@pytest.fixture(scope="module", params=engine_params())
def driver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path_factory.mktemp("fanout")) as made:
        yield made


def test_matrix_foreach_and_fan_in(driver: Driver) -> None:
    project = driver.project(PIPELINE, name="project")
    result = driver.api(project)
    assert result.status == "success", result.steps
    states = result.states()
    assert {k: v for k, v in states.items() if "[" in k} == {
        "convert[eu-csv]": "success",
        "convert[eu-json]": "success",
        "convert[us-csv]": "success",
        "convert[us-json]": "success",
        "process[a.txt]": "success",
        "process[b.txt]": "success",
        "process[c.txt]": "success",
        "paired[eu-csv]": "success",
        "paired[eu-json]": "success",
        "paired[us-csv]": "success",
        "paired[us-json]": "success",
    }
    (end,) = result.of("step_end", "process[b.txt]")
    assert end["outputs"] == {"size": 5}
    merged = driver.ws("fanout") / "runs" / result.steps["merge"]["runId"] / "artifacts" / "all.txt"
    assert merged.read_text().splitlines() == [
        *("eu csv", "eu json", "us csv", "us json"),
        *("a.txt", "b.txt", "c.txt"),
        *("eu-csv: eu csv", "eu-json: eu json", "us-csv: us csv", "us-json: us json"),
    ]
    again = driver.api(project)
    assert set(again.states().values()) == {"cached"}


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fan-out"


def test_the_fan_out_example_lists_fans_out_routes_and_merges(driver: Driver) -> None:
    files = {f"data/{p.name}": p.read_text() for p in sorted((EXAMPLE / "data").iterdir())}
    project = driver.project((EXAMPLE / "pipeline.yml").read_text(), files, name="example")
    result = driver.api(project)
    assert result.status == "success", result.steps
    assert result.state("large") == "success" and result.steps["small"]["reason"] == "condition"
    assert {k for k in result.states() if k.startswith("count[")} == {
        "count[fox.txt]",
        "count[hamlet.txt]",
        "count[pipelines.txt]",
    }
    report = driver.ws("fan-out") / "runs" / result.steps["report"]["runId"] / "artifacts" / "report.txt"
    assert report.read_text() == "fox.txt 9\nhamlet.txt 10\npipelines.txt 30\nlarge corpus: 3 files\n"
    (project / "data" / "more.txt").write_text("one more file\n")
    again = driver.api(project)
    # data/ changed: list and every count (they mount it) run again, now with one instance more
    assert again.state("list") == "success" and again.state("count[more.txt]") == "success"
    third = driver.api(project)
    assert set(third.states().values()) == {"cached", "skipped"}
