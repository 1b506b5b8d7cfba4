"""A DAG pipeline end to end on each real engine: data flow, isolation, environment, network, caching."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, Result, artifacts, engine_params, make_driver, meta, state
from tests.env import engine_api

CONSUME = r"""
set -u
cat /input/produce/data.txt /input/produce/sub/n.txt > /output/got.txt
if touch /input/produce/x 2>/dev/null; then echo input-writable >&2; exit 1; fi
if echo x > /data/f.txt 2>/dev/null; then echo mount-writable >&2; exit 1; fi
cat /data/f.txt > /output/mount.txt
echo changed > /src/s.txt && rm /src/gone.txt && cat /src/s.txt > /output/src.txt
echo run >> /cache/runs.txt
echo "$A $B $C" > /output/env.txt
awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev > /output/net.txt
ls /output > /output/listing.txt
"""

PIPELINE = f"""
id: dag
steps:
  - id: produce
    image: alpine:3.20
    env: {{GREETING: hello}}
    cmd: [sh, -c, 'echo $GREETING > /output/data.txt && mkdir /output/sub && echo nested > /output/sub/n.txt']
  - id: alt
    image: alpine:3.20
    outputPath: /results
    cmd: [sh, -c, 'echo alt > /results/alt.txt && test ! -e /output/alt.txt']
  - id: consume
    image: alpine:3.20
    inputs: [{{step: produce}}, {{step: alt, copyToOutput: true}}]
    mounts: [{{host: data, container: /data}}]
    sources: [{{host: src, container: /src}}]
    caches: [{{name: counter, path: /cache}}]
    envFile: step.env
    env: {{C: from-env}}
    cmd: [sh, -c, {json.dumps(CONSUME)}]
"""

FILES = {
    "data/f.txt": "host data\n",
    "src/s.txt": "original\n",
    "src/gone.txt": "still here\n",
    "step.env": "B=from-step-file\nC=from-step-file\n",
    "cli.env": "A=from-cli\nB=from-cli\nC=from-cli\n",
}


@pytest.fixture(scope="module", params=engine_params())
def dag(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Driver, Path]]:
    """A driver with the DAG project, after a first run (state carries over from test to test, in order)."""
    yield from _with_project(request, tmp_path_factory.mktemp("dag"))


def _with_project(request: pytest.FixtureRequest, tmp: Path) -> Iterator[tuple[Driver, Path]]:
    with make_driver(request, request.param, tmp) as driver:
        yield driver, driver.project(PIPELINE, FILES, name="project")


def run(driver: Driver, project: Path, **kwargs: object) -> Result:
    return driver.api(project, env_file=str(project / "cli.env"), **kwargs)


def test_first_run_moves_data_and_isolates_the_host(dag: tuple[Driver, Path]) -> None:
    driver, project = dag
    result = run(driver, project)
    assert result.status == "success", result.steps
    assert result.states() == {"produce": "success", "alt": "success", "consume": "success"}
    ws = driver.ws("dag")
    out = artifacts(ws, result.steps["consume"]["runId"])
    assert (out / "got.txt").read_text() == "hello\nnested\n"
    assert (out / "mount.txt").read_text() == "host data\n"
    assert (out / "src.txt").read_text() == "changed\n"
    assert (out / "env.txt").read_text() == "from-cli from-step-file from-env\n"
    assert (out / "net.txt").read_text() == "lo\n"
    assert (out / "alt.txt").read_text() == "alt\n"  # copyToOutput
    assert "alt.txt" in (out / "listing.txt").read_text().split()
    assert (artifacts(ws, result.steps["alt"]["runId"]) / "alt.txt").read_text() == "alt\n"  # outputPath /results
    # The host is untouched: mounts are read-only, sources are copies.
    assert (project / "data" / "f.txt").read_text() == "host data\n"
    assert (project / "src" / "s.txt").read_text() == "original\n"
    assert (project / "src" / "gone.txt").read_text() == "still here\n"
    assert (ws / "caches" / "counter" / "runs.txt").read_text() == "run\n"
    m = meta(ws, result.steps["consume"]["runId"])
    assert (m["status"], m["exitCode"], m["stepId"]) == ("success", 0, "consume")
    assert m["runtime"]["rootless"] is driver.engine.rootless
    assert [i["step"] for i in m["inputs"]] == ["produce", "alt"]
    assert list((ws / "staging").iterdir()) == []


def test_second_run_is_fully_cached(dag: tuple[Driver, Path]) -> None:
    driver, project = dag
    before = state(driver.ws("dag"))
    result = run(driver, project)
    assert result.states() == {"produce": "cached", "alt": "cached", "consume": "cached"}
    assert result.of("step_start") == []
    assert state(driver.ws("dag")) == before


def test_forced_step_reruns_and_the_cache_persists(dag: tuple[Driver, Path]) -> None:
    driver, project = dag
    result = run(driver, project, force=["consume"])
    assert result.states() == {"produce": "cached", "alt": "cached", "consume": "success"}
    assert (driver.ws("dag") / "caches" / "counter" / "runs.txt").read_text() == "run\nrun\n"


def test_early_cutoff_keeps_dependents_cached(dag: tuple[Driver, Path]) -> None:
    driver, project = dag
    old = state(driver.ws("dag"))["steps"]["produce"]["lastSuccess"]["runId"]
    result = run(driver, project, force=["produce"])
    assert result.states() == {"produce": "success", "alt": "cached", "consume": "cached"}
    assert result.steps["produce"]["runId"] != old


def test_moving_the_project_keeps_the_cache(dag: tuple[Driver, Path]) -> None:
    driver, project = dag
    moved = project.with_name("moved")
    shutil.move(project, moved)
    try:
        result = run(driver, moved)
        assert result.states() == {"produce": "cached", "alt": "cached", "consume": "cached"}
        (moved / "data" / "f.txt").write_text("new data\n")  # ...but a content change is seen
        result = run(driver, moved, explain=True)
        assert result.states() == {"produce": "cached", "alt": "cached", "consume": "success"}
        assert result.of("step_start", "consume")[0]["reasons"] == ["mount /data: f.txt changed"]
    finally:
        shutil.move(moved, project)


def test_force_all_reruns_everything(dag: tuple[Driver, Path]) -> None:
    driver, project = dag
    result = run(driver, project, force=True)
    assert result.states() == {"produce": "success", "alt": "success", "consume": "success"}


MOVING = "docker.io/pipex-test/moving:1"


@pytest.mark.parametrize("name", engine_params())
def test_image_id_change_reruns_with_the_reason(
    request: pytest.FixtureRequest, name: str, tmp_path: Path, test_rootfs: bytes
) -> None:
    with make_driver(request, name, tmp_path) as driver:
        sock, kind = driver.engine.socket, driver.engine.kind
        engine_api.tag_image(sock, "docker.io/library/alpine:3.20", MOVING)
        project = driver.project(f'id: moving\nsteps:\n  - id: s\n    image: {MOVING}\n    cmd: ["true"]\n')
        assert driver.api(project).states() == {"s": "success"}
        assert driver.api(project).states() == {"s": "cached"}
        # The same tag, another image ID (a changed config is enough to make a new image).
        changes = [f"ENV {engine_api.IMAGE_PATH}", "ENV MOVED=1", 'CMD ["/bin/sh"]']
        engine_api.import_image(sock, kind, test_rootfs, MOVING, changes)
        result = driver.api(project, explain=True)
        assert result.states() == {"s": "success"}
        new_id = meta(driver.ws("moving"), result.steps["s"]["runId"])["imageId"]
        short = "sha256:" + new_id.removeprefix("sha256:")[:12]
        assert result.of("step_start", "s")[0]["reasons"] == [f"image {MOVING} now resolves to {short}"]
