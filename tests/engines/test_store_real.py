"""The shared cache on rootless Podman, as the test user: a pipeline run in one workdir fills a store; the same
pipeline from another project directory in a fresh workdir is served from it (no container), with identical
artifacts; `pipex cache verify` finds the store whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engines.test_engine_harness import Driver, make_driver

pytestmark = [pytest.mark.engine, pytest.mark.rootless_podman]

PIPELINE = """
id: shared
steps:
  - id: make
    image: alpine:3.20
    cmd: [sh, -c, 'echo made > /output/a.txt && mkdir /output/sub && printf x > /output/sub/b.txt && echo hi']
  - id: use
    image: alpine:3.20
    inputs: [{step: make}]
    cmd: [sh, -c, 'cat /input/make/a.txt /input/make/sub/b.txt > /output/c.txt']
"""


@pytest.fixture
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, "rootless_podman", tmp_path) as made:
        yield made


def _events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _tree(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_a_fresh_workdir_is_served_from_the_store(driver: Driver) -> None:
    store = driver.base / "store"
    first_project = driver.project(PIPELINE)
    first = driver.cli(["run", "--json", "--cache-store", str(store)], cwd=first_project)
    assert first.returncode == 0, first.stderr
    assert [e["step"]["id"] for e in _events(first.stdout) if e["event"] == "step_end"] == ["make", "use"]

    fresh = driver.base / "wd-fresh"
    second_project = driver.project(PIPELINE, name="elsewhere")
    second = driver.cli(["run", "--json", "--workdir", str(fresh), "--cache-store", str(store)], cwd=second_project)
    assert second.returncode == 0, second.stderr
    events = _events(second.stdout)
    assert [e for e in events if e["event"] == "step_start"] == []  # no container at all
    assert {e["step"]["id"]: e["source"] for e in events if e["event"] == "step_cached"} == {
        "make": "store",
        "use": "store",
    }
    for step in ("make", "use"):
        old = driver.workdir / "shared" / "step-runs" / step
        new = fresh / "shared" / "step-runs" / step
        old_meta, new_meta = (json.loads((d / "meta.json").read_text()) for d in (old, new))
        assert new_meta["artifactsDigest"] == old_meta["artifactsDigest"]
        assert new_meta["source"] == "store" and new_meta["stored"]["runId"] == old_meta["runId"]
        assert _tree(new / "artifacts") == _tree(old / "artifacts")
        assert (new / "stdout.log").read_bytes() == (old / "stdout.log").read_bytes()

    verified = driver.cli(["cache", "verify", "--json", "--cache-store", str(store)], cwd=second_project)
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["entries"] == 2
