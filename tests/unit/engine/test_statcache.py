from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pipex.engine.digest import tree_digest
from pipex.engine.statcache import StatCache, fs_clock_ns, is_racy

HOUR = 3600 * 10**9


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    """A file whose mtime and ctime are safely in the past (ctime: written well before the test stores it)."""
    path = tmp_path / "data" / "f.txt"
    path.parent.mkdir()
    path.write_text("hello")
    os.utime(path, ns=(time.time_ns() - HOUR + 123, time.time_ns() - HOUR + 123))
    time.sleep(0.05)  # past the coarse clock's tick, so the ctime set just now is strictly older than "now"
    return path


def test_hit_after_store_and_across_save(tmp_path: Path, old_file: Path) -> None:
    cache = StatCache.open(tmp_path / "sc")
    st = old_file.stat()
    assert cache.lookup(old_file, st) is None
    assert cache.store(old_file, st, "sha256:abc") is True
    assert cache.lookup(old_file, st) == "sha256:abc"
    cache.save()
    again = StatCache.open(tmp_path / "sc")
    assert again.lookup(str(old_file), st) == "sha256:abc"
    assert (again.hits, again.misses) == (1, 0)
    assert len(again) == 1


def test_any_stat_change_is_a_miss(tmp_path: Path, old_file: Path) -> None:
    cache = StatCache.open(tmp_path / "sc")
    cache.store(old_file, old_file.stat(), "d1")
    old_file.write_text("hello")  # same size and content: mtime/ctime move, the entry is not trusted
    assert cache.lookup(old_file, old_file.stat()) is None


def test_racy_entry_with_mtime_equal_to_the_cache_time_is_rehashed(tmp_path: Path, old_file: Path) -> None:
    started = time.time_ns() + HOUR + 7  # the cache's write time; the file is stamped in that same tick
    os.utime(old_file, ns=(started, started))
    st = old_file.stat()
    assert is_racy(st, started)
    cache = StatCache.open(tmp_path / "sc")
    assert cache.store(old_file, st, "d1", started_ns=started) is False
    assert cache.lookup(old_file, st) is None
    assert cache.store(old_file, st, "d1", started_ns=started + 1) is True  # strictly older: trusted
    assert cache.lookup(old_file, st) == "d1"


def test_racy_ctime(tmp_path: Path, old_file: Path) -> None:
    st = old_file.stat()
    cache = StatCache.open(tmp_path / "sc")
    assert cache.store(old_file, st, "d1", started_ns=st.st_ctime_ns) is False
    assert cache.store(old_file, st, "d1", started_ns=st.st_ctime_ns + 1) is True


def test_whole_second_timestamps_get_a_granularity_margin(tmp_path: Path, old_file: Path) -> None:
    second = (time.time_ns() // 10**9 + 3600) * 10**9  # as a filesystem with 1 s granularity stamps files
    st = os.stat_result(tuple(old_file.stat())[:10], {"st_mtime_ns": second, "st_ctime_ns": second})
    assert is_racy(st, second + 1_500_000_000)
    assert not is_racy(st, second + 2_000_000_001)


def test_a_file_changed_in_the_same_tick_as_the_walk_is_never_cached(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "f").write_text("x")
    future = fs_clock_ns() + HOUR
    os.utime(root / "f", ns=(future, future))  # a clock-skewed or same-tick write: never trusted
    cache = StatCache.open(tmp_path / "sc")
    tree_digest(root, cache=cache)
    tree_digest(root, cache=cache)
    assert (cache.hits, cache.misses) == (0, 2)


def test_tree_walk_uses_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    for name in ("a", "b", "d/c"):
        (root / name).write_text(name)
    time.sleep(0.05)  # the files' ctimes are now strictly older than the walk's start
    cache = StatCache.open(tmp_path / "sc")
    first = tree_digest(root, cache=cache)
    assert (cache.hits, cache.misses) == (0, 3)
    cache.save()

    warm = StatCache.open(tmp_path / "sc")
    assert tree_digest(root, cache=warm) == first
    assert (warm.hits, warm.misses) == (3, 0)

    # Proof that a hit skips the read: a planted digest for an unchanged stat is believed.
    path = root / "d" / "c"
    warm.store(path, path.stat(), "planted", started_ns=fs_clock_ns() + 1)
    assert tree_digest(root, cache=warm).manifest["d/c"] == "f:planted"

    (root / "a").write_text("A")
    fresh = StatCache.open(tmp_path / "sc")
    changed = tree_digest(root, cache=fresh)
    assert (fresh.hits, fresh.misses) == (2, 1)
    assert changed.digest != first.digest


def test_single_file_root_uses_the_cache(tmp_path: Path, old_file: Path) -> None:
    cache = StatCache.open(tmp_path / "sc")
    first = tree_digest(old_file, cache=cache)
    assert tree_digest(old_file, cache=cache) == first
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff garbage",
        b'{"v": 1, "dirs": {"/x": {"f": 1',
        b'{"v": 2, "dirs": {}}',
        b"[]",
        b'{"v": 1, "dirs": {"/a": ["f"], "/b": {"f": 7}, "/c": {"f": "nosep"}}}',
    ],
)
def test_damaged_cache_file_is_an_empty_cache(tmp_path: Path, old_file: Path, content: bytes) -> None:
    path = tmp_path / "sc"
    path.write_bytes(content)
    cache = StatCache.open(path)
    for where in ("/a/f", "/b/f", "/c/f", str(old_file)):
        assert cache.lookup(where, old_file.stat()) is None
    assert cache.store(old_file, old_file.stat(), "d1") is True
    cache.save()
    assert StatCache.open(path).lookup(old_file, old_file.stat()) == "d1"


def test_save_is_atomic_and_only_when_needed(tmp_path: Path, old_file: Path) -> None:
    path = tmp_path / "sc"
    cache = StatCache.open(path)
    cache.lookup(old_file, old_file.stat())
    cache.save()
    assert not path.exists()  # nothing stored, nothing written
    cache.store(old_file, old_file.stat(), "d1")
    cache.save()
    assert path.read_bytes().startswith(b"SQLite format 3\0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "sc"]  # no temp file left behind


def test_unwritable_location_is_ignored(tmp_path: Path, old_file: Path) -> None:
    cache = StatCache.open(tmp_path / "missing-dir" / "sc")
    cache.store(old_file, old_file.stat(), "d1")
    cache.save()
    assert not (tmp_path / "missing-dir").exists()


def test_threads_share_one_cache(tmp_path: Path) -> None:
    files = []
    for i in range(200):
        path = tmp_path / f"f{i}"
        path.write_text(str(i))
        files.append(path)
    time.sleep(0.05)
    cache = StatCache.open(tmp_path / "sc")

    def work(part: list[Path]) -> None:
        for path in part:
            cache.store(path, path.stat(), f"d{path.name}")
            cache.lookup(path, path.stat())

    threads = [threading.Thread(target=work, args=(files[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cache.save()
    reloaded = StatCache.open(tmp_path / "sc")
    assert all(reloaded.lookup(p, p.stat()) == f"d{p.name}" for p in files)
    assert cache.hits == 200


def test_two_writers_last_one_wins_file_stays_valid(tmp_path: Path, old_file: Path) -> None:
    path = tmp_path / "sc"
    one, two = StatCache.open(path), StatCache.open(path)
    one.store(old_file, old_file.stat(), "from-one")
    two.store(old_file, old_file.stat(), "from-two")
    one.save()
    two.save()
    assert StatCache.open(path).lookup(old_file, old_file.stat()) == "from-two"


def test_over_the_limit_only_used_directories_are_kept(tmp_path: Path) -> None:
    dirs = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text(name)
        dirs.append(tmp_path / name / "f")
    time.sleep(0.05)
    path = tmp_path / "sc"
    cache = StatCache.open(path)
    for f in dirs:
        cache.store(f, f.stat(), "d")
    cache.save()
    small = StatCache.open(path, max_entries=2)
    small.store(dirs[0], dirs[0].stat(), "d0")
    small.save()
    kept = StatCache.open(path)
    assert [kept.lookup(f, f.stat()) for f in dirs] == ["d0", None, None]


def test_a_read_only_cache_never_writes_even_past_a_batch(tmp_path: Path) -> None:
    files = []
    for i in range(1500):  # more than one batch of stores: a writable cache would have written one already
        (tmp_path / f"f{i}").write_text(str(i))
        files.append(tmp_path / f"f{i}")
    time.sleep(0.05)
    path = tmp_path / "sc"
    cache = StatCache.open(path, writable=False)
    kept = [cache.store(f, f.stat(), "d") for f in files]
    assert kept == [True] * 1000 + [False] * 500  # one batch kept in memory for this process, no more
    assert cache.lookup(files[0], files[0].stat()) == "d"
    cache.save()
    assert not path.exists()


def test_a_batch_written_mid_walk_is_read_back_before_save(tmp_path: Path) -> None:
    files = []
    for i in range(1500):
        (tmp_path / f"f{i}").write_text(str(i))
        files.append(tmp_path / f"f{i}")
    time.sleep(0.05)
    cache = StatCache.open(tmp_path / "sc")
    for f in files:
        cache.store(f, f.stat(), f"d{f.name}")
    assert all(cache.lookup(f, f.stat()) == f"d{f.name}" for f in files)
    assert len(cache) == 1500
    cache.save()
    assert StatCache.open(tmp_path / "sc").lookup(files[0], files[0].stat()) == "df0"
