"""Ownership of outputs: whatever the image's USER, the invoking user can read and delete every output file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, artifacts, engine_params, make_driver, state
from tests.env import users

WRITE = (
    "mkdir -p /output/open/deep && echo a > /output/open/deep/f && "
    "mkdir -m 700 /output/private && echo secret > /output/private/s && chmod 600 /output/private/s && "
    "echo top > /output/top.txt && echo ro > /output/ro.txt && chmod 400 /output/ro.txt && id -u > /output/uid"
)

PIPELINE = f"""
id: owners
steps:
  - id: root
    image: alpine:3.20
    cmd: [sh, -c, "{WRITE}"]
  - id: nonroot
    image: pipex-test/nonroot:latest
    inputs: [{{step: root}}]
    caches: [{{name: shared, path: /cache}}]
    cmd: [sh, -c, "{WRITE} && cat /input/root/top.txt > /output/from-root && echo x > /cache/c"]
"""


@pytest.fixture(params=engine_params())
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as driver:
        yield driver


def test_outputs_of_root_and_nonroot_images_belong_to_the_invoking_user(driver: Driver) -> None:
    project = driver.project(PIPELINE)
    done = driver.cli(["run", str(project)], cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    ws = driver.ws("owners")
    steps = state(ws)["steps"]
    expected_uid = {"root": "0", "nonroot": "1000"}
    for step in ("root", "nonroot"):
        out = artifacts(ws, steps[step]["lastSuccess"]["runId"])
        assert (out / "uid").read_text() == expected_uid[step] + "\n"
        assert (out / "private" / "s").read_text() == "secret\n"
        assert (out.stat().st_mode & 0o777) == 0o755
    assert (artifacts(ws, steps["nonroot"]["lastSuccess"]["runId"]) / "from-root").read_text() == "top\n"
    if driver.as_user:
        user = users.get_test_user()
        # Every file and dir under the workspace is the user's own (rootless: container root and keep-id).
        for dirpath, dirnames, filenames in os.walk(ws):
            for name in [*dirnames, *filenames]:
                st = (Path(dirpath) / name).lstat()
                assert (st.st_uid, st.st_gid) == (user.uid, user.gid), f"{dirpath}/{name}"
        listing = users.run_as_test_user(["sh", "-c", f"cat $(find {ws}/runs -type f) > /dev/null"], cwd=Path("/"))
        assert listing.returncode == 0, listing.stderr
        removal = users.run_as_test_user(["rm", "-rf", str(driver.workdir)], cwd=Path("/"))
        assert (removal.returncode, removal.stderr) == (0, "")
        assert not driver.workdir.exists()
    else:
        # pipex runs as root here: the output dir is given back to root after the step (files keep their uid).
        for step in ("root", "nonroot"):
            out = artifacts(ws, steps[step]["lastSuccess"]["runId"])
            assert (out.stat().st_uid, out.stat().st_gid) == (0, 0)
