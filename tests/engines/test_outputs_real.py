"""Step outputs and routing on each real engine: $PIPEX_OUTPUT written by the container (root and non-root
image users), a switch on a computed value, a join over the optional branches, outputs kept by the cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver, meta

PIPELINE = r"""
id: routing
steps:
  - id: count
    image: alpine:3.20
    outputs: [files, route, notes]
    cmd:
      - sh
      - -c
      - |
        printf 'a\nb\nc\n' > /output/list.txt
        n=$(wc -l < /output/list.txt)
        echo 'files=["a","b","c"]' >> "$PIPEX_OUTPUT"
        if [ "$n" -gt 2 ]; then echo route=big >> "$PIPEX_OUTPUT"; else echo route=small >> "$PIPEX_OUTPUT"; fi
        printf 'notes<<END\nline one\nline two\nEND\n' >> "$PIPEX_OUTPUT"
        test ! -e /output/output
  - id: big
    image: alpine:3.20
    inputs: [{step: count}]
    if: steps.count.outputs.route == "big" && "c" in steps.count.outputs.files
    cmd: [sh, -c, 'wc -l < /input/count/list.txt > /output/big.txt']
  - id: small
    image: alpine:3.20
    inputs: [{step: count}]
    if: steps.count.outputs.route == "small"
    cmd: [sh, -c, 'echo small > /output/small.txt']
  - id: merge
    image: alpine:3.20
    inputs: [{step: big, optional: true}, {step: small, optional: true}]
    cmd: [sh, -c, 'cat /input/*/*.txt > /output/merged.txt']
  - id: nonroot
    image: pipex-test/nonroot:latest
    cmd: [sh, -c, 'echo "uid=$(id -u)" >> "$PIPEX_OUTPUT"']
"""


@pytest.fixture(scope="module", params=engine_params())
def driver(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path_factory.mktemp("routing")) as made:
        yield made


def test_outputs_route_join_and_cache(driver: Driver) -> None:
    project = driver.project(PIPELINE, name="project")
    result = driver.api(project)
    assert result.status == "success", result.steps
    assert result.states() == {  # (the events, when not: what count wrote)
        "count": "success",
        "big": "success",
        "small": "skipped",
        "merge": "success",
        "nonroot": "success",
    }, [e.get("outputs") for e in result.of("step_end", "count")]
    assert result.steps["small"]["reason"] == "condition"
    (end,) = result.of("step_end", "count")
    written = {"files": ["a", "b", "c"], "route": "big", "notes": "line one\nline two"}
    assert end["outputs"] == written
    ws = driver.ws("routing")
    assert meta(ws, result.steps["count"]["runId"])["outputs"] == written
    (root_end,) = result.of("step_end", "nonroot")
    assert root_end["outputs"] == {"uid": 1000}
    merged = ws / "runs" / result.steps["merge"]["runId"] / "artifacts" / "merged.txt"
    assert merged.read_text().strip() == "3"

    again = driver.api(project)
    assert again.states() == {
        "count": "cached",
        "big": "cached",
        "small": "skipped",
        "merge": "cached",
        "nonroot": "cached",
    }
    (cached,) = again.of("step_cached", "count")
    assert cached["outputs"] == written
