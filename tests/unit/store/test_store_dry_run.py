"""``--dry-run`` consults the shared cache: it says ``cached (store)`` exactly where a real run would materialise a step
from the store, after a cheap check of the entry, and it fetches, creates and writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipex.engine.events import StepCached, StepWarning, StepWouldRun
from pipex.testing import TestResult, mock, run
from tests.unit.engine.test_engine_support import of, state, write
from tests.unit.store.test_store import MOCKS, _blob_of, _entry, fingerprint_of, project, sources


def verdicts(result: TestResult) -> dict[str, str]:
    """step → ``store``/``workspace`` (cached from there) or ``would run (<reasons>)``."""
    out = {e.step.id: f"would run ({'; '.join(e.reasons)})" for e in of(result, StepWouldRun)}
    out.update({e.step.id: e.source for e in of(result, StepCached)})
    return out


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path below ``root`` → (size, mtime_ns): what a dry run must leave exactly as it was."""
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_a_second_workdirs_dry_run_says_cached_store_and_touches_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p1"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    before = snapshot(store)
    dry = run(project(tmp_path / "p2"), workdir=tmp_path / "wd2", cache_store=store, dry_run=True)
    assert dry.status == "success"
    # b's fingerprint needs a's artifacts digest: the dry run takes it from a's record, so b is found too
    assert verdicts(dry) == {"a": "store", "b": "store"}
    assert [e.to_json()["cachedRunId"] for e in of(dry, StepCached)] == ["", ""]  # nothing was materialised
    assert [e.to_json()["source"] for e in of(dry, StepCached)] == ["store", "store"]
    assert of(dry, StepWarning) == []
    assert (dry.result.metrics.cached, dry.result.metrics.would_run) == (2, 0)
    assert not (tmp_path / "wd2").exists()
    assert snapshot(store) == before  # not even the records' last-use times
    # what the dry run said is what the run does
    real = run(project(tmp_path / "p2"), workdir=tmp_path / "wd2", cache_store=store)
    assert sources(real) == {"a": "store", "b": "store"}


def test_a_dry_run_with_a_store_that_does_not_exist_creates_none(tmp_path: Path) -> None:
    dry = run(project(tmp_path / "p"), workdir=tmp_path / "wd", cache_store=tmp_path / "nowhere", dry_run=True)
    assert verdicts(dry) == {"a": "would run (no previous successful run)", "b": "would run (input a would run)"}
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "wd").exists()


def test_a_truncated_record_is_not_claimed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    record = _entry(store, tmp_path / "wd1", "a")
    data = record.read_bytes()
    record.chmod(0o644)
    record.write_bytes(data[: len(data) // 2])
    before = snapshot(store)
    dry = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store, dry_run=True)
    fp = fingerprint_of(store, "a", tmp_path / "wd1")
    assert [e.message for e in of(dry, StepWarning)] == [
        f"ignored the cache store's entry {fp[7:19]}: the record is not valid JSON (truncated?)"
    ]
    assert verdicts(dry) == {"a": "would run (no previous successful run)", "b": "would run (input a would run)"}
    assert snapshot(store) == before  # a dry run neither removes nor rewrites the bad entry


def test_a_missing_or_truncated_blob_is_not_claimed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    record = _entry(store, tmp_path / "wd1", "a")
    fp = fingerprint_of(store, "a", tmp_path / "wd1")
    blob = _blob_of(store, record, "top.txt")
    blob.chmod(0o644)
    blob.write_bytes(b"")
    dry = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store, dry_run=True)
    assert [e.message for e in of(dry, StepWarning)] == [
        f"ignored the cache store's entry {fp[7:19]}: blob {blob.name[:12]} has 0 bytes, the record says 1 (truncated?)"
    ]
    assert verdicts(dry)["a"] == "would run (no previous successful run)"
    blob.unlink()
    dry = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store, dry_run=True)
    assert [e.message for e in of(dry, StepWarning)] == [
        f"ignored the cache store's entry {fp[7:19]}: blob {blob.name[:12]} is missing"
    ]
    # and the real run agrees: it runs a (then b's unchanged input digest finds b's entry)
    real = run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(real) == {"a": "ran", "b": "store"}


def test_a_forced_step_is_not_looked_up(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    dry = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store, dry_run=True, force=["a"])
    assert verdicts(dry) == {"a": "would run (forced)", "b": "would run (input a would run)"}


def test_a_local_hit_stays_a_local_hit(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    dry = run(project(tmp_path / "p"), workdir=tmp_path / "wd1", cache_store=store, dry_run=True)
    assert verdicts(dry) == {"a": "workspace", "b": "workspace"}


SECRET_PIPELINE = """
    id: sec
    steps:
      - {id: plain, image: alpine:3.20, cmd: [p]}
      - {id: token, image: alpine:3.20, cmd: [t], secrets: [API_TOKEN]}
"""


def test_a_step_with_secrets_is_never_read_from_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    path = write(tmp_path / "p", SECRET_PIPELINE)
    env = {"API_TOKEN": "tok-1"}
    mocks = [mock("plain", files={"p.txt": b"p"}), mock("token", files={"t.txt": b"t"})]
    first = run(path, mocks=mocks, workdir=tmp_path / "wd", cache_store=store, environ=env)
    assert first.status == "success"
    assert len(list((store / "ac").iterdir())) == 1  # plain's entry only: token's is never written
    # Plant an entry under token's fingerprint (plain's record, refiled), then lose token's local run: a store
    # that held it (another user wrote it) must still not be read, by the dry run nor by the run.
    steps = state(tmp_path / "wd", "sec")["steps"]
    fp, run_id = steps["token"]["lastSuccess"]["fingerprint"], steps["token"]["lastSuccess"]["runId"]
    doc = json.loads(next((store / "ac").iterdir()).read_bytes())
    doc["fingerprint"] = fp
    (store / "ac" / fp.removeprefix("sha256:")).write_text(json.dumps(doc))
    shutil.rmtree(tmp_path / "wd" / "sec" / "runs" / run_id)
    dry = run(path, workdir=tmp_path / "wd", cache_store=store, environ=env, dry_run=True)
    gone = f"would run (previous successful run {run_id} is gone from disk)"
    assert verdicts(dry) == {"plain": "workspace", "token": gone}
    real = run(path, mocks=mocks, workdir=tmp_path / "wd", cache_store=store, environ=env)
    assert sources(real) == {"plain": "workspace", "token": "ran"}


FAN = """
    id: fan
    steps:
      - {id: conv, image: alpine:3.20, cmd: [c], matrix: {region: [eu, us]}}
      - {id: join, image: alpine:3.20, cmd: [j], inputs: [{step: conv}]}
"""


def test_a_fan_out_and_its_fan_in_from_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    path = write(tmp_path / "p", FAN)
    mocks = [mock("conv", files={"out.txt": b"o"}), mock("join", files={"all.txt": b"a"})]
    first = run(path, mocks=mocks, workdir=tmp_path / "wd1", cache_store=store)
    assert first.status == "success"
    dry = run(path, workdir=tmp_path / "wd2", cache_store=store, dry_run=True)
    assert dry.status == "success"
    assert verdicts(dry) == {"conv[eu]": "store", "conv[us]": "store", "join": "store"}
    assert not (tmp_path / "wd2").exists()
    real = run(path, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(real) == {"conv[eu]": "store", "conv[us]": "store", "join": "store"}
