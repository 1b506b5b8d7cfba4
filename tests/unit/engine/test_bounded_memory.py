"""Memory that does not grow with the number of files: every whole-tree path (the artifacts digest, the stat
cache, copyToOutput, export) is measured with tracemalloc on 1,000 and on 10,000 files (the same depth, and
directories of at most 100 entries: memory may follow the widest directory and the depth, never the tree), and
the larger tree may not cost more than a few bytes a file."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from pipex.engine.chunked import CHUNK
from pipex.engine.digest import ARTIFACTS_FORMAT, tree_digest
from pipex.engine.statcache import StatCache
from pipex.workspace.exporter import export
from pipex.workspace.treecopy import copy_into

PER_DIR = 100
SMALL, LARGE = 1_000, 10_000
# 9,000 more files: a per-file object (a str, a tuple, a dict slot) would add well over 1 MB.
ALLOWED_GROWTH = 256 * 1024


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    made = {}
    for files in (SMALL, LARGE):
        root = tmp_path_factory.mktemp(f"tree{files}")
        for d in range(files // PER_DIR):  # <top>/<10 subdirectories>/<100 files>: the widest directory is 100
            sub = root / f"t{d // 10:03d}" / f"d{d % 10}"
            sub.mkdir(parents=True)
            for f in range(PER_DIR):
                (sub / f"f{f:03d}").write_bytes(b"%d/%d\n" % (d, f))
        made[files] = root
    time.sleep(0.05)  # past the racy-timestamp tick, so the stat cache keeps every entry
    return made


def peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_flat(action: Callable[[Path, int], object], trees: dict[int, Path]) -> None:
    action(trees[SMALL], -1)  # warm-up: imports and caches of the first call are not the tree's
    small, large = peak(lambda: action(trees[SMALL], SMALL)), peak(lambda: action(trees[LARGE], LARGE))
    assert large - small < ALLOWED_GROWTH, f"{small} bytes at {SMALL:,} files, {large} at {LARGE:,}"


def test_artifacts_digest(trees: dict[int, Path]) -> None:
    digests = {}

    def digest(root: Path, files: int) -> None:
        found = tree_digest(root, manifest=False, version=ARTIFACTS_FORMAT)
        assert found.files == max(files, SMALL) and not found.manifest
        digests[files] = found.digest

    assert_flat(digest, trees)
    # the same value with a manifest
    assert digests[-1] == digests[SMALL] == tree_digest(trees[SMALL], version=ARTIFACTS_FORMAT).digest


def test_a_big_file_in_format_2_costs_the_pool_s_buffers_not_its_size(tmp_path: Path) -> None:
    sizes = {"small": 3 * CHUNK, "large": 24 * CHUNK}  # 12 MiB and 96 MiB
    for name, size in sizes.items():
        (tmp_path / name).mkdir()
        with (tmp_path / name / "big.bin").open("wb") as f:
            f.truncate(size)  # sparse: hashed as zeros, nothing written

    def digest(name: str) -> object:
        return tree_digest(tmp_path / name, manifest=False, version=ARTIFACTS_FORMAT)

    digest("small")  # warm-up: the pool and its threads' buffers are made once per process
    small, large = peak(lambda: digest("small")), peak(lambda: digest("large"))
    assert large - small < ALLOWED_GROWTH, f"{small} bytes for 12 MiB, {large} for 96 MiB"


def test_stat_cache_cold_and_warm(trees: dict[int, Path], tmp_path: Path) -> None:
    def cold(root: Path, files: int) -> None:
        cache = StatCache.open(tmp_path / f"cold{files}")
        tree_digest(root, cache=cache, manifest=False)
        cache.save()

    def warm(root: Path, files: int) -> None:
        cache = StatCache.open(tmp_path / f"cold{files}")
        tree_digest(root, cache=cache, manifest=False)
        assert cache.misses == 0 and cache.hits == max(files, SMALL)

    assert_flat(cold, trees)
    assert_flat(warm, trees)


def test_copy_to_output(trees: dict[int, Path], tmp_path: Path) -> None:
    def copy(root: Path, files: int) -> None:
        dest = tmp_path / f"copy{files}"
        dest.mkdir()
        assert copy_into(root, dest, on_skip=lambda skipped: None).files == max(files, SMALL)

    assert_flat(copy, trees)


def test_export(trees: dict[int, Path], tmp_path: Path) -> None:
    def run(root: Path, files: int) -> None:
        assert export(root, tmp_path / f"export{files}").files == max(files, SMALL)

    assert_flat(run, trees)
