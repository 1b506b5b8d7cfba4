"""A workspace committed in tree format 1 (before chunked big files) under this pipex: still cached, and what
changes once a step re-runs."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from pipex.engine.digest import tree_digest
from pipex.engine.events import StepCached, StepStart, StepWarning, StepWouldRun
from pipex.store import Store
from pipex.testing import run
from tests.unit.engine.test_engine_support import of, state
from tests.unit.engine.v1_workspace import ARCHIVE, BIG, mocks

OLD_A = "sha256:cad388b9a115dcba43624f3b4cb78f76734dea35973f051eae8b62c66fcce4c6"  # a's artifacts in format 1


def extract(into: Path) -> tuple[Path, Path]:
    """The old project and its workdir; → (pipeline file, workdir)."""
    with tarfile.open(ARCHIVE) as tar:
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python ≥ 3.11.4
        tar.extractall(into, **extra)
    return into / "project" / "pipeline.yml", into / "wd"


def last_meta(wd: Path, step: str) -> dict[str, object]:
    run_id = state(wd, "old")["steps"][step]["lastSuccess"]["runId"]
    data = json.loads((wd / "old" / "runs" / run_id / "meta.json").read_text())
    assert isinstance(data, dict)
    return data


def test_the_fixture_is_format_1(tmp_path: Path) -> None:
    _, wd = extract(tmp_path)
    a = last_meta(wd, "a")
    assert "artifactsDigestFormat" not in a and a["artifactsDigest"] == OLD_A
    artifacts = wd / "old" / "runs" / str(a["runId"]) / "artifacts"
    assert (artifacts / "big.bin").read_bytes() == BIG
    assert tree_digest(artifacts, version=1, manifest=False).digest == OLD_A
    assert tree_digest(artifacts, version=2, manifest=False).digest != OLD_A  # the big file is chunked in format 2


def test_steps_committed_in_format_1_stay_cached(tmp_path: Path) -> None:
    pipeline, wd = extract(tmp_path)
    again = run(pipeline, mocks=mocks(), workdir=wd, explain=True)
    assert again.status == "success"
    assert [e.step.id for e in of(again, StepCached)] == ["a", "b"] and not of(again, StepStart)
    assert last_meta(wd, "b")["inputs"] == [
        {
            "step": "a",
            "runId": last_meta(wd, "a")["runId"],
            "mountedAs": "/input/a",
            "digest": OLD_A,
            "copyToOutput": False,
        }
    ]


def test_a_dry_run_of_a_format_1_workspace_finds_everything_cached(tmp_path: Path) -> None:
    pipeline, wd = extract(tmp_path)
    dry = run(pipeline, workdir=wd, dry_run=True, explain=True)
    assert [e.step.id for e in of(dry, StepCached)] == ["a", "b"] and not of(dry, StepWouldRun)


def test_a_step_re_run_commits_format_2_and_its_dependents_run_once(tmp_path: Path) -> None:
    pipeline, wd = extract(tmp_path)
    forced = run(pipeline, mocks=mocks(), workdir=wd, force=["a"], explain=True)
    a = last_meta(wd, "a")
    assert a["artifactsDigestFormat"] == 2 and a["artifactsDigest"] != OLD_A
    artifacts = wd / "old" / "runs" / str(a["runId"]) / "artifacts"
    assert a["artifactsDigest"] == tree_digest(artifacts, version=2, manifest=False).digest
    # Same bytes, another format: early cutoff cannot see they are equal, so b runs this once...
    assert [e.reasons for e in of(forced, StepStart, "b")] == [("input a: artifacts changed",)]
    assert last_meta(wd, "b")["artifactsDigestFormat"] == 2
    # ...and is cached from then on, as is a re-run of a that produces the same bytes again.
    twice = run(pipeline, mocks=mocks(), workdir=wd, force=["a"])
    assert [e.step.id for e in of(twice, StepStart)] == ["a"] and [e.step.id for e in of(twice, StepCached)] == ["b"]


def _share_old_runs(wd: Path, store_dir: Path) -> None:
    """Write the fixture's runs to a store as the older pipex did: its meta (no format) and its format-1 digest."""
    store = Store.open(store_dir)
    for step in ("a", "b"):
        entry = state(wd, "old")["steps"][step]["lastSuccess"]
        meta = last_meta(wd, step)
        size = meta["artifactsSize"]
        assert isinstance(size, int)
        store.put(entry["fingerprint"], wd / "old" / "runs" / entry["runId"], meta, entry["artifactsDigest"], size)


def test_store_entries_written_in_format_1_still_hit(tmp_path: Path) -> None:
    pipeline, wd = extract(tmp_path / "old")
    _share_old_runs(wd, tmp_path / "store")
    elsewhere = run(pipeline, workdir=tmp_path / "wd2", cache_store=tmp_path / "store")
    assert [(e.step.id, e.source) for e in of(elsewhere, StepCached)] == [("a", "store"), ("b", "store")]
    assert not of(elsewhere, StepWarning)
    restored = last_meta(tmp_path / "wd2", "a")
    assert (restored["artifactsDigest"], restored["artifactsDigestFormat"]) == (OLD_A, 1)


def test_a_store_entry_in_an_unknown_format_is_ignored_with_a_warning(tmp_path: Path) -> None:
    pipeline, wd = extract(tmp_path / "old")
    _share_old_runs(wd, tmp_path / "store")
    for record in (tmp_path / "store" / "ac").rglob("*"):
        if record.is_file():
            doc = json.loads(record.read_bytes())
            doc["meta"]["artifactsDigestFormat"] = 3
            record.write_text(json.dumps(doc))
    elsewhere = run(pipeline, mocks=mocks(), workdir=tmp_path / "wd2", cache_store=tmp_path / "store")
    assert [e.step.id for e in of(elsewhere, StepStart)] == ["a", "b"]
    fingerprint = state(wd, "old")["steps"]["a"]["lastSuccess"]["fingerprint"]
    assert [e.message for e in of(elsewhere, StepWarning, "a")] == [
        f"ignored the cache store's entry {fingerprint[7:19]}: its artifacts digest is in a format this pipex does "
        "not know (3)"
    ]
