"""The shared cache end to end on the fake runtime: read-through, write-through, hostile entries, concurrency,
prune and verify, and fingerprints that do not depend on the workdir, the project path or the user."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from pipex.engine.events import StepCached, StepStart, StepWarning
from pipex.runtime.fake import Behaviour
from pipex.store import Store
from pipex.store.maintain import prune, stats, verify
from pipex.testing import Mock, TestResult, mock, run
from tests.unit.engine.test_engine_support import meta, of, state, write

PIPELINE = """
    id: ex
    steps:
      - id: a
        image: alpine:3.20
        cmd: [a]
        mounts: [{host: scripts, container: /app}]
      - id: b
        image: alpine:3.20
        cmd: [b]
        inputs: [{step: a}]
"""
MOCKS = [
    mock("a", stdout=["made a"], files={"x/out.txt": b"same", "top.txt": b"t"}),
    mock("b", stdout=["made b"], files={"b.txt": b"bb"}),
]


def project(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True, exist_ok=True)
    (root / "scripts" / "run.py").write_text("print(1)\n")
    return write(root, PIPELINE)


def sources(result: TestResult) -> dict[str, str]:
    out = {e.step.id: "ran" for e in of(result, StepStart)}
    out.update({e.step.id: e.source for e in of(result, StepCached)})
    return out


def warnings(result: TestResult) -> list[str]:
    return [e.message for e in of(result, StepWarning)]


def fingerprint_of(store_dir: Path, step: str, wd: Path) -> str:
    fp = state(wd, "ex")["steps"][step]["lastSuccess"]["fingerprint"]
    assert isinstance(fp, str)
    return fp


def test_two_workdirs_in_two_projects_share_a_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = run(project(tmp_path / "p1"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    assert sources(first) == {"a": "ran", "b": "ran"}
    # another project directory and another workdir: the same fingerprints, so every step comes from the store
    second = run(project(tmp_path / "elsewhere" / "p2"), workdir=tmp_path / "wd2", cache_store=store)
    assert second.status == "success"
    assert sources(second) == {"a": "store", "b": "store"}
    assert warnings(second) == []
    for step in ("a", "b"):
        assert fingerprint_of(store, step, tmp_path / "wd2") == fingerprint_of(store, step, tmp_path / "wd1")
        old, new = meta(first, step), meta(second, step)
        assert new["artifactsDigest"] == old["artifactsDigest"]
        assert new["source"] == "store" and "source" not in old
        assert new["stored"]["runId"] == old["runId"] != new["runId"]
        assert (second.run_dir(step) / "stdout.log").read_bytes() == (first.run_dir(step) / "stdout.log").read_bytes()
    assert second.artifacts("a") == {"x/out.txt": b"same", "top.txt": b"t"}
    # the materialised runs are ordinary local runs now: the next run is a plain local cache hit
    third = run(project(tmp_path / "elsewhere" / "p2"), workdir=tmp_path / "wd2", cache_store=store)
    assert sources(third) == {"a": "workspace", "b": "workspace"}


def test_json_event_and_plain_view_say_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    second = run(project(tmp_path / "p"), workdir=tmp_path / "wd2", cache_store=store)
    event = of(second, StepCached, "a")[0]
    assert event.to_json()["source"] == "store"
    from pipex.cli.reporters.lines import cached_line

    assert "cached (store)" in "".join(text for text, _ in cached_line(event))


def test_a_forced_step_ignores_the_store_and_a_changed_mount_misses(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    forced = run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd2", cache_store=store, force=["a"])
    assert sources(forced) == {"a": "ran", "b": "store"}  # a's identical bytes: b's fingerprint is unchanged
    root = tmp_path / "q"
    project(root)
    (root / "scripts" / "run.py").write_text("print(2)\n")
    changed = run(root / "pipeline.yml", mocks=MOCKS, workdir=tmp_path / "wd3", cache_store=store)
    assert sources(changed) == {"a": "ran", "b": "store"}


def _entry(store: Path, wd: Path, step: str) -> Path:
    return store / "ac" / fingerprint_of(store, step, wd).removeprefix("sha256:")


def test_a_truncated_record_is_ignored_with_a_warning(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    record = _entry(store, tmp_path / "wd1", "a")
    data = record.read_bytes()
    record.chmod(0o644)
    record.write_bytes(data[: len(data) // 2])
    second = run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd2", cache_store=store)
    assert second.status == "success"
    assert sources(second) == {"a": "ran", "b": "store"}
    fp = fingerprint_of(store, "a", tmp_path / "wd1")
    assert warnings(second) == [
        f"ignored the cache store's entry {fp[7:19]}: the record is not valid JSON (truncated?)"
    ]
    assert list((tmp_path / "wd2" / "ex" / "staging").iterdir()) == []
    # the run that ran wrote its entry back, whole
    assert json.loads(record.read_bytes())["fingerprint"] == fp


def _blob_of(store: Path, record: Path, rel: str) -> Path:
    tree = json.loads(record.read_bytes())["tree"]
    blob = next(item[2] for item in tree if item[1] == rel)
    return store / "cas" / blob[:2] / blob


def test_a_corrupt_blob_is_ignored_with_a_warning_and_verify_removes_the_entry(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    record = _entry(store, tmp_path / "wd1", "a")
    blob = _blob_of(store, record, "x/out.txt")
    blob.chmod(0o644)
    blob.write_bytes(b"evil")  # same size, other bytes
    fp = fingerprint_of(store, "a", tmp_path / "wd1")
    done = verify(Store.open(store))
    assert done.problems == [f"{fp[7:19]}: blob {blob.name[:12]} does not match its digest (corrupt or tampered with)"]
    assert not record.exists() and not blob.exists()
    assert done.entries == 1  # b's entry is whole
    second = run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second) == {"a": "ran", "b": "store"}


def test_a_tampered_blob_of_another_size_is_caught_at_fetch(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    record = _entry(store, tmp_path / "wd1", "a")
    blob = _blob_of(store, record, "top.txt")
    blob.chmod(0o644)
    blob.write_bytes(b"")
    fp = fingerprint_of(store, "a", tmp_path / "wd1")
    second = run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second)["a"] == "ran"
    assert warnings(second) == [
        f"ignored the cache store's entry {fp[7:19]}: blob {blob.name[:12]} has 0 bytes, the record says 1 (truncated?)"
    ]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../escape.txt", "the record names a path outside its tree: '../escape.txt'"),
        ("/etc/evil", "the record names a path outside its tree: '/etc/evil'"),
        ("x/../../evil", "the record names a path outside its tree: 'x/../../evil'"),
        ("nodir/file", "the record lists 'nodir/file' before its directory"),
    ],
)
def test_a_record_naming_paths_outside_its_tree_is_refused(tmp_path: Path, path: str, why: str) -> None:
    store = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store)
    record = _entry(store, tmp_path / "wd1", "a")
    doc = json.loads(record.read_bytes())
    doc["tree"].append(["f", path, doc["tree"][-1][2], doc["tree"][-1][3]])
    record.chmod(0o644)
    record.write_text(json.dumps(doc))
    second = run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second)["a"] == "ran"
    fp = fingerprint_of(store, "a", tmp_path / "wd1")
    assert warnings(second) == [f"ignored the cache store's entry {fp[7:19]}: {why}"]
    assert not (tmp_path / "wd2" / "ex" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()


def test_links_in_artifacts_are_stored_as_links_and_never_followed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    secret = tmp_path / "secret.txt"
    secret.write_text("do not share")
    pipeline = write(tmp_path / "p", "id: ex\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [a]}\n")

    def plant(output: Path) -> None:
        (output / "leak").symlink_to(secret)

    behaviour = Behaviour(files={"f.txt": b"1"}, plant=plant)
    first = run(pipeline, mocks=[Mock("a", behaviour)], workdir=tmp_path / "wd1", cache_store=store)
    assert first.status == "success"
    blobs = {p.read_bytes() for p in (store / "cas").rglob("*") if p.is_file()}
    assert b"do not share" not in blobs
    second = run(pipeline, workdir=tmp_path / "wd2", cache_store=store)
    assert sources(second) == {"a": "store"}
    link = second.run_dir("a") / "artifacts" / "leak"
    assert link.is_symlink() and str(link.readlink()) == str(secret)


def _put_same(store_dir: str, run_dir: str, fp: str, n: int) -> int:
    store = Store.open(store_dir)
    meta_doc = json.loads((Path(run_dir) / "meta.json").read_text())
    done = 0
    for _ in range(n):
        (store.root / "ac" / fp.removeprefix("sha256:")).unlink(missing_ok=True)  # race the rename every time
        done += store.put(fp, Path(run_dir), meta_doc, meta_doc["artifactsDigest"], meta_doc["artifactsSize"])
    return done


def _populated(tmp_path: Path) -> tuple[TestResult, str]:
    first = run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1")
    fp = fingerprint_of(tmp_path, "a", tmp_path / "wd1")
    return first, fp


def _check_entry(tmp_path: Path, store: Path) -> None:
    second = run(project(tmp_path / "p"), workdir=tmp_path / f"wd-{time.monotonic_ns()}", cache_store=store)
    assert sources(second) == {"a": "store", "b": "ran"}
    assert verify(Store.open(store)).problems == []
    assert list((store / "tmp").iterdir()) == []


def test_concurrent_writers_of_one_entry_threads(tmp_path: Path) -> None:
    first, fp = _populated(tmp_path)
    store = tmp_path / "store"
    Store.open(store)
    threads = [threading.Thread(target=_put_same, args=(str(store), str(first.run_dir("a")), fp, 20)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_entry(tmp_path, store)


def test_concurrent_writers_of_one_entry_processes(tmp_path: Path) -> None:
    first, fp = _populated(tmp_path)
    store = tmp_path / "store"
    Store.open(store)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        done = pool.starmap(_put_same, [(str(store), str(first.run_dir("a")), fp, 20)] * 4)
    assert sum(done) >= 1
    _check_entry(tmp_path, store)


def test_readers_never_see_a_partial_entry_while_writers_write(tmp_path: Path) -> None:
    first, fp = _populated(tmp_path)
    store = Store.open(tmp_path / "store")
    stop = threading.Event()
    seen: list[str] = []

    def read() -> None:
        n = 0
        while not stop.is_set():
            dest = tmp_path / "r" / str(n)
            (dest / "artifacts").mkdir(parents=True)
            got = store.fetch(fp, dest)  # StoreCorrupt would fail the test
            if got is not None:
                seen.append(got.artifacts_digest)
            n += 1

    reader = threading.Thread(target=read)
    reader.start()
    try:
        _put_same(str(store.root), str(first.run_dir("a")), fp, 30)
    finally:
        stop.set()
        reader.join()
    assert seen and set(seen) == {meta(first, "a")["artifactsDigest"]}


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_prune_by_age_and_by_size(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd1", cache_store=store_dir)
    store = Store.open(store_dir)
    before = stats(store)
    assert (before.entries, before.blobs) == (2, 6)  # a: 2 files, stdout; b: 1 file, stdout; the empty stderr
    old = _entry(store_dir, tmp_path / "wd1", "a")
    _age(old, 40 * 86400)
    done = prune(store, older_than=30 * 86400, grace=0)
    assert done.entries == 1 and not old.exists()
    assert done.blobs == 3  # a's files and its stdout; the empty stderr blob is b's too
    assert stats(store).entries == 1
    # size: the least recently used goes first until what is left fits
    run(project(tmp_path / "p"), mocks=MOCKS, workdir=tmp_path / "wd2", cache_store=store_dir)
    _age(_entry(store_dir, tmp_path / "wd2", "b"), 100)
    done = prune(store, max_size=stats(store).bytes - 1, grace=0)
    assert done.entries == 1 and stats(store).entries == 1
    assert _entry(store_dir, tmp_path / "wd2", "a").exists()
    assert prune(store, max_size=0, grace=0).entries == 1
    assert stats(store) == stats(store).__class__(0, 0, 0, None, None)


def test_prune_keeps_fresh_unreferenced_blobs_a_writer_may_be_using(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    from pipex.store.blobs import write_blob

    fd = os.open(project(tmp_path / "p"), os.O_RDONLY)
    try:
        write_blob(store.root, fd)
    finally:
        os.close(fd)
    assert prune(store, older_than=0).blobs == 0
    assert prune(store, older_than=0, grace=0).blobs == 1


def test_a_store_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("")
    from pipex.errors import StoreError

    with pytest.raises(StoreError) as err:
        run(project(tmp_path / "p"), workdir=tmp_path / "wd", cache_store=tmp_path / "store")
    assert err.value.message.startswith(f"cannot use the cache store {tmp_path / 'store'}: ")


def test_cache_store_from_pipex_yml_relative_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    project(root)
    (root / ".pipex.yml").write_text("cacheStore: ../shared\n")
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    first = run(root / "pipeline.yml", mocks=MOCKS, workdir=tmp_path / "wd1")
    assert first.status == "success" and stats(Store.open(tmp_path / "shared")).entries == 2
    shutil.copytree(root, tmp_path / "p2")
    monkeypatch.chdir(tmp_path / "p2")
    second = run(tmp_path / "p2" / "pipeline.yml", workdir=tmp_path / "wd2")
    assert sources(second) == {"a": "store", "b": "store"}


def test_a_kit_pipeline_fingerprints_the_same_from_any_project_path_and_workdir(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "text-processing"
    one, two = tmp_path / "one", tmp_path / "deeper" / "other-name"
    shutil.copytree(example, one)
    shutil.copytree(example, two)
    store = tmp_path / "store"
    first = run(one, workdir=tmp_path / "wd1", cache_store=store, environ={})
    second = run(two, workdir=tmp_path / "wd2", cache_store=store, environ={})
    assert first.status == second.status == "success"
    ran = {e.step.id for e in of(first, StepStart)}
    assert ran and {e.step.id: e.source for e in of(second, StepCached)} == dict.fromkeys(ran, "store")

    def fingerprints(wd: Path) -> dict[str, str]:
        steps = state(wd, "text-processing")["steps"]
        return {k: v["lastSuccess"]["fingerprint"] for k, v in steps.items()}

    assert fingerprints(tmp_path / "wd1") == fingerprints(tmp_path / "wd2")


EXEC_STEP = "id: peek\nimage: alpine:3.20\ncmd: [peek]\n"


def test_exec_writes_through_but_an_ephemeral_exec_leaves_nothing_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from pipex.engine.engine import Engine
    from pipex.runtime.fake import FakeRuntime

    root = tmp_path / "p"
    write(root, EXEC_STEP, name="peek.yml")
    (root / ".pipex.yml").write_text("cacheStore: ../store\n")
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    engine = Engine(workdir=tmp_path / "wd", runtime=FakeRuntime())

    def exec_(**kwargs: bool) -> list[str]:
        async def collect() -> list[str]:
            events = [e async for e in engine.exec(root / "peek.yml", "ex", **kwargs)]  # type: ignore[arg-type]
            return [e.message for e in events if isinstance(e, StepWarning)]

        return asyncio.run(collect())

    assert exec_(ephemeral=True) == []  # not even tried
    assert list((tmp_path / "store" / "ac").iterdir()) == []
    assert exec_() == []
    assert len(list((tmp_path / "store" / "ac").iterdir())) == 1
