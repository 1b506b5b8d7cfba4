"""``pipex.testing``: the harness users test their pipelines with."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

import pipex
from pipex.engine.events import PipelineEnd, PipelineStart, StepLog
from pipex.runtime.fake import FakeRuntime
from pipex.testing import TestResult, mock, run
from tests.unit.engine.test_engine_support import write

PIPE = """
    name: Geo Data
    steps:
      - {id: download, image: alpine:3.20, cmd: [dl]}
      - {id: extract, image: "python:3.12-slim", cmd: [x], inputs: [{step: download}]}
      - {id: report, image: alpine:3.20, cmd: [r], inputs: [{step: extract}], if: 'env.REPORT == "yes"'}
"""


def test_mocked_run_and_every_accessor(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPE)
    r = run(
        path,
        mocks=[
            mock("download", stdout=["fetched 3 files", "done"], stderr="warn\n", files={"x.zip": b"PK", "d": None}),
            mock("extract", files={"rows/part-0.csv": "a,b\n"}, delay=0.01),
        ],
        workdir=tmp_path / "wd",
        environ={},
    )
    assert isinstance(r, TestResult) and r.status == "success" and r.result.ok
    assert r.ran("download") and r.ran("extract") and not r.ran("report")
    assert r.skipped("report") and r.skipped("report", "condition") and not r.skipped("report", "dependency")
    assert not r.failed("download") and not r.cached("download")
    assert r.logs("download") == ["fetched 3 files", "done", "warn"]
    assert r.logs("download", "stderr") == ["warn"]
    assert r.artifacts("download") == {"x.zip": b"PK"}  # directories are not files
    assert r.artifacts("extract") == {"rows/part-0.csv": b"a,b\n"}
    assert isinstance(r.events[0], PipelineStart) and isinstance(r.events[-1], PipelineEnd)
    assert r.result.workspace == "geo-data" and r.workdir == tmp_path / "wd"
    assert set(r.runtime.images) == {"alpine:3.20", "python:3.12-slim"}

    again = run(pipex.load(path), workdir=tmp_path / "wd", environ={"REPORT": "yes"})
    assert again.cached("download") and again.cached("extract") and again.ran("report")
    assert again.artifacts("extract") == {"rows/part-0.csv": b"a,b\n"}  # read from the cached run


def test_failing_mock_and_unknown_step(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPE)
    r = run(path, mocks=[mock("download", exit_code=2, stderr=["no route to host"])], workdir=tmp_path / "wd")
    assert r.status == "failed" and r.failed("download") and r.skipped("extract", "dependency")
    assert r.outcome("download").tail == ("no route to host",)
    with pytest.raises(
        KeyError, match='step "nope" is not part of this run \\(its steps: download, extract, report\\)'
    ):
        r.ran("nope")
    with pytest.raises(LookupError, match='step "extract" has no committed run in this run \\(it was skipped\\)'):
        r.artifacts("extract")


def test_several_mocks_of_a_step_play_in_order(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: flaky
        steps:
          - {id: s, image: alpine:3.20, cmd: [s], retries: 1, retryDelayMs: 0}
        """,
    )
    r = run(path, mocks=[mock("s", exit_code=1, stdout=["first"]), mock("s", stdout=["second"])], workdir=tmp_path)
    assert r.status == "success" and r.logs("s") == ["first", "second"]
    assert (r.run_dir("s") / "attempt-1.stdout.log").read_bytes() == b"first\n"


def test_artifacts_never_follow_symlinks(tmp_path: Path) -> None:
    path = write(tmp_path / "p", "id: l\nsteps:\n  - {id: s, image: alpine:3.20, cmd: [s]}\n")
    r = run(path, mocks=[mock("s", files={"real.txt": b"ok"})], workdir=tmp_path / "wd")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"host file")
    os.symlink(secret, r.run_dir("s") / "artifacts" / "link.txt")
    assert r.artifacts("s") == {"real.txt": b"ok"}


def test_default_workdir_is_temporary_and_removed_with_the_result() -> None:
    import tempfile

    root = Path(tempfile.mkdtemp())
    try:
        path = write(root, "id: t\nsteps:\n  - {id: s, image: alpine:3.20, cmd: [s]}\n")
        r = run(path, mocks=[mock("s", files={"f": b"1"})])
        where = r.workdir
        assert where.is_dir() and r.artifacts("s") == {"f": b"1"}
        del r
        gc.collect()
        assert not where.exists()
    finally:
        import shutil

        shutil.rmtree(root)


def test_events_are_the_engine_stream(tmp_path: Path) -> None:
    path = write(tmp_path / "p", "id: e\nsteps:\n  - {id: s, image: alpine:3.20, cmd: [s]}\n")
    rt = FakeRuntime()
    r = run(path, mocks=[mock("s", stdout=b"raw\xffbytes\n")], runtime=rt, workdir=tmp_path / "wd")
    (log,) = [e for e in r.events if isinstance(e, StepLog)]
    assert log.line == "raw\ufffdbytes" and (r.run_dir("s") / "stdout.log").read_bytes() == b"raw\xffbytes\n"
    assert r.runtime is rt


def test_mock_rejects_a_negative_delay() -> None:
    with pytest.raises(ValueError, match="delay must be >= 0"):
        mock("s", delay=-1)
