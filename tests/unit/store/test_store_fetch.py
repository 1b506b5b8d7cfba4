"""What a hit costs the store: its record is marked used at most once an hour, the empty blob is never read."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from pipex.engine.digest import tree_digest
from pipex.runtime.fake import Behaviour
from pipex.testing import Mock, run
from tests.unit.engine.test_engine_support import meta, write
from tests.unit.store.test_store import MOCKS, _entry, project, sources, warnings


def test_a_hit_marks_its_record_used_only_when_the_mark_is_an_hour_old(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    a, b = _entry(store, tmp_path / "wd1", "a"), _entry(store, tmp_path / "wd1", "b")
    recent, old = time.time() - 600, time.time() - 7200
    os.utime(a, (recent, recent))
    os.utime(b, (old, old))
    second = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second) == {"a": "store", "b": "store"}
    assert a.stat().st_mtime == recent  # used 10 minutes ago: not written again
    assert b.stat().st_mtime > time.time() - 60  # used 2 hours ago: marked now


def test_the_empty_blob_need_not_be_there(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    empty = hashlib.sha256(b"").hexdigest()
    (store / "cas" / empty[:2] / empty).unlink()  # both steps' stderr.log
    dry = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store, dry_run=True)
    assert sources(dry) == {"a": "store", "b": "store"}
    second = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second) == {"a": "store", "b": "store"} and warnings(second) == []
    assert (second.run_dir("a") / "stderr.log").read_bytes() == b""


def test_a_hit_of_a_deep_tree_is_what_a_walk_of_it_gives(tmp_path: Path) -> None:
    store = tmp_path / "store"
    pipeline = write(tmp_path / "p", "id: ex\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [a]}\n")

    def plant(output: Path) -> None:
        (output / "d" / "e" / "f").mkdir(parents=True)
        (output / "empty").mkdir()
        (output / "d" / "e" / "f" / "run.sh").write_bytes(b"#!/bin/sh\n")
        (output / "d" / "e" / "f" / "run.sh").chmod(0o755)
        (output / "d" / "ü☃.txt").write_bytes(b"x" * 5000)
        (output / "d" / "link").symlink_to("e/f/run.sh")

    first = run(pipeline, mocks=[Mock("a", Behaviour(plant=plant))], workdir=tmp_path / "wd1", cache_store=store)
    second = run(pipeline, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second) == {"a": "store"} and warnings(second) == []
    walked = tree_digest(second.run_dir("a") / "artifacts", manifest=False)
    assert meta(second, "a")["artifactsDigest"] == walked.digest == meta(first, "a")["artifactsDigest"]
    assert meta(second, "a")["artifactsSize"] == walked.size
    assert os.access(second.run_dir("a") / "artifacts" / "d" / "e" / "f" / "run.sh", os.X_OK)
