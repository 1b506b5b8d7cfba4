"""Path safety on a real engine (rootless Podman): a busybox step plants links (absolute, to a file and to a
directory outside the workspace; relative ``../../..``), a FIFO, a 255-byte name, a name holding a newline and
a tree deeper than the walker descends; a second step writes real directories under the same names. copyToOutput
of one and of two inputs, the digests, later runs, ``cat``, ``export``, ``show``, ``inspect``, ``list``,
``rm-step``, ``prune`` and ``clean`` then run; the sentinel outside the workspace is neither read nor written.

Not here (a container cannot make them on a bind mount of another filesystem, or busybox has no tool): sockets
and hard links to files outside; the fake-runtime suite covers both (tests/unit/engine/test_path_safety.py).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver
from tests.pathsafety import DEPTH, LONG, Sentinel

PLANT = (
    "cd /output && echo from-a > a.txt"
    " && ln -s {outside}/secret.txt abs-file && ln -s {outside} abs-dir && ln -s ../../.. up"
    " && ln -s {outside}/trip.fifo trip && mkfifo pipe"
    f" && echo long > {LONG}"
    " && echo nl > \"$(printf 'new\\nline')\""
    f" && d=deep && for i in $(seq {DEPTH}); do d=$d/d; done && mkdir -p $d && echo deep > $d/f"
)
SECOND = (
    "cd /output && echo from-b > b.txt"
    " && for n in abs-file abs-dir up trip pipe; do mkdir -p $n && echo pwned > $n/pwned.txt; done"
)
PIPELINE = """
id: hostile
steps:
  - {{id: a, image: alpine:3.20, cmd: [sh, -c, {plant}]}}
  - {{id: b, image: alpine:3.20, cmd: [sh, -c, {second}]}}
  - id: one
    image: alpine:3.20
    cmd: [sh, -c, "ls /output > /dev/null"]
    inputs: [{{step: a, copyToOutput: true}}]
  - id: two
    image: alpine:3.20
    cmd: [sh, -c, "cat /output/a.txt /output/b.txt"]
    inputs: [{{step: a, copyToOutput: true}}, {{step: b, copyToOutput: true}}]
"""
SKIPPED = ["abs-dir", "abs-file", "new\\nline", "pipe", "trip", "up"]


@pytest.fixture(params=engine_params(("rootless_podman", "rootful_podman")))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as made:
        yield made


@pytest.fixture
def outside(driver: Driver) -> Iterator[Sentinel]:
    s = Sentinel(driver.base / "outside")  # next to the workdir, like the user's ~/.ssh next to their data
    if driver.as_user:  # owned by the user pipex runs as: only pipex's own rules may keep it out
        for path in [s.root, *s.root.rglob("*")]:
            shutil.chown(path, user="pipex-test")
    yield s
    s.close()


def _kinds(root: Path) -> set[str]:
    found = set()
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            mode = (Path(dirpath) / name).lstat().st_mode
            found.add("dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "special")
    return found


def test_planted_entries_on_a_real_engine(driver: Driver, outside: Sentinel) -> None:
    text = PIPELINE.format(plant=json.dumps(PLANT.format(outside=outside.root)), second=json.dumps(SECOND))
    project = driver.project(text)
    done = driver.cli(["run", str(project)], cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    for name in SKIPPED:
        shown = f"'{name}'" if "\\" in name else f'"{name}"'
        assert f"warning: skipped {shown} of input a: " in output, output
    assert "internal error" not in output and "Traceback" not in output
    outside.check()

    ws = driver.ws("hostile")
    st = json.loads((ws / "state.json").read_text())
    run = {step: ws / "runs" / st["steps"][step]["lastSuccess"]["runId"] / "artifacts" for step in st["steps"]}
    for step in ("one", "two"):
        assert _kinds(run[step]) <= {"dir", "file"}  # no link, no FIFO was copied
        assert (run[step] / "a.txt").read_text() == "from-a\n" and (run[step] / LONG).read_text() == "long\n"
    for name in ("abs-file", "abs-dir", "up", "trip", "pipe"):
        assert (run["two"] / name / "pwned.txt").read_text() == "pwned\n"  # b's directory, not through a's link
    assert not (outside.root / "pwned.txt").exists()

    wd = ["hostile"]
    listing = driver.cli(["cat", *wd, "a"], cwd=driver.base)
    assert listing.returncode == 0, listing.stderr
    assert f"abs-dir -> {outside.root}" in listing.stdout.splitlines() and "new\\nline" in listing.stdout
    refused = driver.cli(["cat", *wd, "a", "abs-file"], cwd=driver.base)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith(f'error: "abs-file" is a symlink (-> {outside.root}/secret.txt); ')
    dest = driver.base / "exported"
    exported = driver.cli(["export", *wd, "a", str(dest)], cwd=driver.base)
    assert exported.returncode == 0, exported.stderr
    assert _kinds(dest) <= {"dir", "file"} and (dest / "a.txt").read_text() == "from-a\n"
    assert len(exported.stderr.splitlines()) == 6  # abs-file, abs-dir, up, trip, pipe, newline-name: one line each
    for args in (["show", *wd], ["inspect", *wd, "two"], ["list"]):
        res = driver.cli(args, cwd=driver.base)
        assert res.returncode == 0, (args, res.stderr)
    outside.check()

    again = driver.cli(["run", str(project)], cwd=project)  # later runs work: cached
    assert again.returncode == 0, again.stdout + again.stderr
    forced = driver.cli(["run", str(project), "--force"], cwd=project)  # and run again
    assert forced.returncode == 0, forced.stdout + forced.stderr
    for args in (["rm-step", *wd, "one"], ["prune", *wd], ["clean", "--yes"]):
        res = driver.cli(args, cwd=driver.base)
        assert res.returncode == 0, (args, res.stderr)
    assert not ws.exists()
    outside.check()
