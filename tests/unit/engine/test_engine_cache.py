"""Caching end to end: --explain reasons, early cutoff, image moves, moved projects, state, meta, --dry-run."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipex.engine.events import StepCached, StepStart, StepWouldRun
from pipex.runtime.base import ImageRef
from pipex.runtime.fake import FakeRuntime
from pipex.testing import Mock, TestResult, mock, run
from pipex.workspace.lock import FileLock
from tests.unit.engine.test_engine_support import meta, of, state, write

PIPELINE = """
    id: ex
    steps:
      - id: a
        image: alpine:3.20
        cmd: [{cmd}]
        env: {{FOO: "{foo}"}}
        mounts: [{{host: scripts, container: /app}}]
      - id: b
        image: alpine:3.20
        cmd: [b]
        inputs: [{{step: a}}]
"""


def project(root: Path, cmd: str = "a", foo: str = "1") -> Path:
    (root / "scripts").mkdir(parents=True, exist_ok=True)
    if not (root / "scripts" / "run.py").exists():
        (root / "scripts" / "run.py").write_text("print(1)\n")
        (root / "scripts" / "lib.py").write_text("X = 1\n")
    return write(root, PIPELINE.format(cmd=cmd, foo=foo))


def reasons(result: TestResult) -> dict[str, tuple[str, ...] | str]:
    """Per step: the --explain reasons it ran for, or "cached"."""
    out: dict[str, tuple[str, ...] | str] = {e.step.id: e.reasons for e in of(result, StepStart)}
    out.update({e.step.id: "cached" for e in of(result, StepCached)})
    return out


A_OUT = [mock("a", files={"out.txt": b"same"})]


def test_first_run_explains_no_previous_run(tmp_path: Path) -> None:
    r = run(project(tmp_path / "p"), mocks=A_OUT, workdir=tmp_path / "wd", explain=True)
    assert reasons(r) == {"a": ("no previous successful run",), "b": ("no previous successful run",)}


def _new_image(rt: FakeRuntime) -> None:
    rt.images["alpine:3.20"] = ImageRef("alpine:3.20", id="sha256:" + "b" * 64)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "image",
            {"a": ("image alpine:3.20 now resolves to sha256:bbbbbbbbbbbb",)}
            | {"b": ("image alpine:3.20 now resolves to sha256:bbbbbbbbbbbb",)},
        ),
        ("cmd", {"a": ("cmd changed",), "b": "cached"}),
        ("env", {"a": ("env: FOO changed",), "b": "cached"}),
        ("mount", {"a": ("mount /app: run.py changed",), "b": "cached"}),
        ("output", {"a": ("forced",), "b": ("input a: artifacts changed",)}),
        ("nothing", {"a": "cached", "b": "cached"}),
    ],
)
def test_explain_names_the_part_that_changed(tmp_path: Path, change: str, expected: dict[str, Any]) -> None:
    root, wd = tmp_path / "p", tmp_path / "wd"
    first = run(project(root), mocks=A_OUT, workdir=wd)
    assert first.status == "success"
    rt = FakeRuntime()
    mocks: list[Mock] = A_OUT
    kwargs: dict[str, Any] = {}
    path = project(root)
    if change == "image":
        _new_image(rt)
    elif change == "cmd":
        path = project(root, cmd="a2")
    elif change == "env":
        path = project(root, foo="2")
    elif change == "mount":
        (root / "scripts" / "run.py").write_text("print(2)\n")
    elif change == "output":
        mocks, kwargs = [mock("a", files={"out.txt": b"different"})], {"force": ["a"]}
    r = run(path, mocks=mocks, runtime=rt, workdir=wd, explain=True, **kwargs)
    assert r.status == "success"
    assert reasons(r) == expected


def test_early_cutoff_identical_output_keeps_dependents_cached(tmp_path: Path) -> None:
    path, wd = project(tmp_path / "p"), tmp_path / "wd"
    first = run(path, mocks=A_OUT, workdir=wd)
    again = run(path, mocks=A_OUT, workdir=wd, force=["a"])
    assert again.ran("a") and again.cached("b")
    assert again.outcome("a").run_id != first.outcome("a").run_id
    assert of(again, StepCached, "b")[0].cached_run_id == first.outcome("b").run_id


def test_moving_the_project_directory_keeps_the_cache(tmp_path: Path) -> None:
    path, wd = project(tmp_path / "p"), tmp_path / "wd"
    run(path, mocks=A_OUT, workdir=wd)
    moved = tmp_path / "elsewhere" / "project"
    moved.parent.mkdir()
    shutil.move(tmp_path / "p", moved)
    again = run(moved / "pipeline.yml", workdir=wd)
    assert again.cached("a") and again.cached("b")
    (moved / "scripts" / "lib.py").write_text("X = 2\n")  # control: a content change does invalidate
    changed = run(moved / "pipeline.yml", mocks=A_OUT, workdir=wd, explain=True)
    assert reasons(changed)["a"] == ("mount /app: lib.py changed",)


def test_last_success_survives_a_later_failure(tmp_path: Path) -> None:
    path, wd = project(tmp_path / "p"), tmp_path / "wd"
    good = run(path, mocks=A_OUT, workdir=wd)
    good_id = good.outcome("a").run_id
    bad = run(path, mocks=[mock("a", exit_code=1)], workdir=wd, force=["a"])
    bad_id = bad.outcome("a").run_id
    assert bad.failed("a") and bad.skipped("b", "dependency")
    entry = state(wd, "ex")["steps"]["a"]
    assert (entry["lastSuccess"]["runId"], entry["lastSuccess"]["status"]) == (good_id, "success")
    assert (entry["last"]["runId"], entry["last"]["status"]) == (bad_id, "failure")
    assert (wd / "ex" / "step-runs" / "a").readlink() == Path(f"../runs/{good_id}")
    assert (wd / "ex" / "runs" / str(bad_id) / "meta.json").is_file()  # the failed run is committed too
    third = run(path, workdir=wd)
    assert third.cached("a") and of(third, StepCached, "a")[0].cached_run_id == good_id


META_FIELDS = {
    "runId", "stepId", "stepName", "status", "reason", "attempt", "startedAt", "finishedAt", "durationMs",
    "exitCode", "image", "imageDigest", "cmd", "env", "inputs", "mounts", "sources", "caches", "setup",
    "allowNetwork", "fingerprint", "fingerprintParts", "artifactsDigest", "artifactsSize", "runtime",
    "pipexVersion",
}  # fmt: skip
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_meta_json_has_every_field_of_the_spec(tmp_path: Path) -> None:
    r = run(project(tmp_path / "p"), mocks=A_OUT, workdir=tmp_path / "wd")
    a, b = meta(r, "a"), meta(r, "b")
    assert set(a) >= META_FIELDS
    assert (a["runId"], a["stepId"], a["stepName"], a["status"], a["reason"]) == (
        r.outcome("a").run_id, "a", "a", "success", None,
    )  # fmt: skip
    assert (a["attempt"], a["exitCode"], a["image"], a["cmd"], a["env"]) == (1, 0, "alpine:3.20", ["a"], {"FOO": "1"})
    assert ISO.match(a["startedAt"]) and ISO.match(a["finishedAt"]) and a["startedAt"] <= a["finishedAt"]
    assert isinstance(a["durationMs"], int) and a["durationMs"] >= 0
    assert a["imageDigest"] == FakeRuntime().add_image("alpine:3.20").id
    assert a["mounts"] == [{"host": str((tmp_path / "p" / "scripts").resolve()), "container": "/app"}]
    assert (a["sources"], a["caches"], a["setup"], a["allowNetwork"]) == ([], [], None, False)
    assert (
        a["fingerprint"].startswith("sha256:")
        and a["fingerprint"] == state(tmp_path / "wd", "ex")["steps"]["a"]["lastSuccess"]["fingerprint"]
    )
    assert {"v", "image", "cmd", "env", "env.FOO", "inputs", "mounts", "mounts./app"} <= set(a["fingerprintParts"])
    assert a["artifactsSize"] == 4 and a["artifactsDigest"].startswith("sha256:")
    assert a["runtime"] == {"engine": "fake", "version": "1.0", "rootless": True, "apiVersion": "1.0"}
    assert a["pipexVersion"] == __import__("pipex").__version__
    assert [{k: i[k] for k in ("step", "runId", "mountedAs", "digest")} for i in b["inputs"]] == [
        {"step": "a", "runId": a["runId"], "mountedAs": "/input/a", "digest": a["artifactsDigest"]}
    ]


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every entry under root: (mode, mtime_ns, bytes of files)."""
    out: dict[str, tuple[int, int, bytes | None]] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            p = Path(dirpath) / name
            st = p.lstat()
            data = p.read_bytes() if p.is_file() and not p.is_symlink() else None
            out[str(p.relative_to(root))] = (st.st_mode, st.st_mtime_ns, data)
    return out


def test_dry_run_is_read_only_and_says_why(tmp_path: Path) -> None:
    root, wd = tmp_path / "p", tmp_path / "wd"
    path = project(root)
    run(path, mocks=A_OUT, workdir=wd)
    (root / "scripts" / "run.py").write_text("print(2)\n")
    before = snapshot(wd)
    held = FileLock(wd / "ex" / "lock", what='workspace "ex"', command="pipex run").acquire()
    try:  # a dry run takes no lock: it works while another pipex holds the workspace
        before = snapshot(wd)
        rt = FakeRuntime()
        r = run(path, runtime=rt, workdir=wd, dry_run=True)
        assert snapshot(wd) == before
    finally:
        held.release()
    assert r.status == "success" and r.result.dry_run
    assert {e.step.id: e.reasons for e in of(r, StepWouldRun)} == {
        "a": ("mount /app: run.py changed",),
        "b": ("input a would run",),
    }
    assert {name for name, _ in rt.calls} <= {"info", "image", "list", "ping", "close"}


def test_dry_run_of_a_new_workspace_creates_nothing(tmp_path: Path) -> None:
    rt = FakeRuntime()
    r = run(project(tmp_path / "p"), runtime=rt, workdir=tmp_path / "wd", dry_run=True)
    assert [(e.step.id, e.reasons) for e in of(r, StepWouldRun)] == [
        ("a", ("no previous successful run",)),
        ("b", ("input a would run",)),
    ]
    assert r.result.metrics.would_run == 2
    assert not (tmp_path / "wd").exists()
    assert "create" not in {name for name, _ in rt.calls}
