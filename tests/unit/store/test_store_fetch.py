"""What a hit costs the store: its record is marked used at most once an hour, the empty blob is never read."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from pipex.engine.chunked import THRESHOLD
from pipex.engine.digest import ARTIFACTS_FORMAT, tree_digest
from pipex.engine.events import StepCached
from pipex.runtime.fake import Behaviour
from pipex.testing import Mock, mock, run
from tests.unit.engine.test_engine_support import meta, of, state, write
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
        (output / "big.bin").write_bytes(b"y" * (THRESHOLD + 1))  # chunked in format 2: read again on a hit

    first = run(pipeline, mocks=[Mock("a", Behaviour(plant=plant))], workdir=tmp_path / "wd1", cache_store=store)
    second = run(pipeline, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second) == {"a": "store"} and warnings(second) == []
    walked = tree_digest(second.run_dir("a") / "artifacts", manifest=False, version=ARTIFACTS_FORMAT)
    assert meta(second, "a")["artifactsDigest"] == walked.digest == meta(first, "a")["artifactsDigest"]
    assert meta(second, "a")["artifactsSize"] == walked.size
    assert os.access(second.run_dir("a") / "artifacts" / "d" / "e" / "f" / "run.sh", os.X_OK)


def test_a_hit_keeps_the_step_outputs_its_dependents_route_on(tmp_path: Path) -> None:
    from tests.unit.engine.test_routing import SWITCH

    store = tmp_path / "store"
    path = write(tmp_path / "p", SWITCH)
    first = run(
        path, mocks=[mock("check", outputs={"route": "slow", "n": 5})], workdir=tmp_path / "wd1", cache_store=store
    )
    assert first.ran("slow") and first.skipped("fast", "condition")
    dry = run(path, workdir=tmp_path / "wd2", cache_store=store, dry_run=True)
    assert {e.step.id: e.outputs for e in of(dry, StepCached) if e.step.id == "check"} == {
        "check": {"route": "slow", "n": 5}
    }
    assert dry.skipped("fast", "condition") and dry.outcome("slow").state == "cached"
    second = run(path, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second) == {"check": "store", "slow": "store", "merge": "store", "archive": "store"}
    assert second.skipped("fast", "condition")
    assert meta(second, "check")["outputs"] == {"route": "slow", "n": 5}
    # and the materialised run is an ordinary local hit afterwards, outputs included
    third = run(path, workdir=tmp_path / "wd2", cache_store=store)
    assert of(third, StepCached, "check")[0].outputs == {"route": "slow", "n": 5}
    assert third.skipped("fast", "condition")


def test_stored_outputs_that_a_step_could_not_have_written_are_refused(tmp_path: Path) -> None:
    from tests.unit.engine.test_routing import SWITCH

    store = tmp_path / "store"
    path = write(tmp_path / "p", SWITCH)
    run(path, mocks=[mock("check", outputs={"route": "slow", "n": 5})], workdir=tmp_path / "wd1", cache_store=store)
    fp = state(tmp_path / "wd1", "switch")["steps"]["check"]["lastSuccess"]["fingerprint"]
    record = store / "ac" / fp.removeprefix("sha256:")
    doc = json.loads(record.read_bytes())
    doc["meta"]["outputs"] = {"bad key!": 1}
    record.chmod(0o644)
    record.write_text(json.dumps(doc))
    second = run(
        path, mocks=[mock("check", outputs={"route": "slow", "n": 5})], workdir=tmp_path / "wd2", cache_store=store
    )
    assert sources(second)["check"] == "ran"
    assert warnings(second) == [f"ignored the cache store's entry {fp[7:19]}: the record's step outputs are malformed"]
