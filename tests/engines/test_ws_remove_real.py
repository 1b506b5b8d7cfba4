"""`rm` and `clean` delete what a non-root image user wrote under rootless Podman (subordinate uids included)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver

PIPELINE = """
id: {name}
steps:
  - id: write
    image: pipex-test/nonroot:latest
    caches: [{{name: shared, path: /cache}}]
    cmd:
      - sh
      - -c
      - >-
        mkdir -m 700 /output/private /cache/deep && echo s > /output/private/s && chmod 400 /output/private/s
        && echo c > /cache/deep/c && chmod 500 /cache/deep
"""


@pytest.fixture(params=engine_params(("rootless_podman",)))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as made:
        yield made


def test_rm_and_clean_delete_outputs_of_a_nonroot_image_user(driver: Driver) -> None:
    for name in ("one", "two", "three"):
        project = driver.project(PIPELINE.format(name=name), name=f"proj-{name}")
        done = driver.cli(["run", str(project)], cwd=project)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (driver.ws(name) / "caches" / "shared" / "deep").is_dir()
    done = driver.cli(["rm", "one"], cwd=driver.base)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('removed workspace "one" (')
    assert not driver.ws("one").exists()
    done = driver.cli(["clean", "--yes"], cwd=driver.base)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("removed 2 workspaces (")
    assert sorted(p.name for p in driver.workdir.iterdir()) == []
