"""On each real engine: a dependent starts while its input's big artifacts are hashed, mounting the staged run,
whose commit (a rename) waits for that container to start — the container then reads every byte of it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, artifacts, engine_params, make_driver, meta

MIB = 256  # zeros: quick to write, but their hash outlasts the dependent's start
CONSUME = (
    "sha256sum /input/produce/big.bin | cut -d' ' -f1 > /output/sum.txt"
    " && cat /input/produce/small.txt > /output/small.txt"
)

PIPELINE = f"""
id: early
steps:
  - id: produce
    image: alpine:3.20
    cmd: [sh, -c, 'dd if=/dev/zero of=/output/big.bin bs=1M count={MIB} 2>/dev/null && echo hi > /output/small.txt']
  - id: consume
    image: alpine:3.20
    inputs: [{{step: produce}}]
    cmd: [sh, -c, {json.dumps(CONSUME)}]
"""


@pytest.fixture(params=engine_params())
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as made:
        yield made


def test_dependent_reads_the_staged_run_whole(driver: Driver) -> None:
    project = driver.project(PIPELINE)
    result = driver.api(project, early_bytes=0)
    assert result.status == "success", result.steps
    events = result.events
    started = next(n for n, e in enumerate(events) if e["event"] == "step_start" and e["step"]["id"] == "consume")
    ended = next(n for n, e in enumerate(events) if e["event"] == "step_end" and e["step"]["id"] == "produce")
    assert started < ended  # it did start on the staged run
    ws = driver.ws("early")
    produced = meta(ws, result.steps["produce"]["runId"])
    consumed = meta(ws, result.steps["consume"]["runId"])
    out = artifacts(ws, consumed["runId"])
    assert (out / "sum.txt").read_text().strip() == hashlib.sha256(bytes(MIB << 20)).hexdigest()
    assert (out / "small.txt").read_text() == "hi\n"
    assert consumed["inputs"][0]["digest"] == produced["artifactsDigest"]
    assert list((ws / "staging").iterdir()) == []

    again = driver.api(project, early_bytes=0)
    assert again.states() == {"produce": "cached", "consume": "cached"}
