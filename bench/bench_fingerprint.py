"""Content digest and stat cache figures: python bench/bench_fingerprint.py [--dir DIR] [--files N] [--gib G].

Prints the cold digest of a 1 GiB file (evicted from the page cache first), the warm (unchanged, stat cache hit)
digest of the same file, the artifacts digest of that file in format 1 and in format 2 (chunks on several cores),
and the cold and warm digest of a 100,000-file tree, each against its target. Data goes
in a temporary directory under /var/tmp (a disk, not a tmpfs) and is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pipex.engine import chunked
from pipex.engine.digest import tree_digest
from pipex.engine.statcache import StatCache

MIB = 1 << 20


def evict(path: Path) -> None:
    """Drop a file's pages from the page cache so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as f:
        for i in range(size // MIB):
            f.write(block[i % 251 :] + block[: i % 251])  # distinct blocks, cheaply
    evict(path)


def make_tree(root: Path, files: int) -> None:
    per_dir = 1000
    for d in range((files + per_dir - 1) // per_dir):
        sub = root / f"dir{d:03d}"
        sub.mkdir(parents=True)
        for f in range(min(per_dir, files - d * per_dir)):
            (sub / f"file{f:04d}.txt").write_bytes(f"{d}/{f}\n".encode() * 8)


def timed(fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    return time.perf_counter() - start, result


def warm(root: Path, cache_file: Path) -> tuple[float, StatCache]:
    """Open the cache file and digest: what a second `pipex run` pays."""
    start = time.perf_counter()
    cache = StatCache.open(cache_file)
    tree_digest(root, cache=cache)
    return time.perf_counter() - start, cache


def baseline_walk(root: Path) -> float:
    """scandir + lstat of every entry: the floor any stat-based check pays."""
    start = time.perf_counter()
    pending = [str(root)]
    while pending:
        with os.scandir(pending.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    entry.stat(follow_symlinks=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipex-bench-", dir=args.dir))
    try:
        print(f"data in {work}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        big = work / "big.bin"
        size = int(args.gib * 1024) * MIB
        make_file(big, size)
        time.sleep(0.05)  # past the timestamp tick, so the file is not racy for the stat cache
        cache_file = work / "statcache-file"
        cache = StatCache.open(cache_file)
        seconds, _ = timed(lambda: tree_digest(big, cache=cache))
        cache.save()
        print(f"cold digest of a {size / MIB / 1024:g} GiB file: {size / seconds / 1e6:,.0f} MB/s (target >= 500)")
        seconds, cache = min((warm(big, cache_file) for _ in range(5)), key=lambda r: r[0])
        print(f"warm digest of the same file: {seconds * 1000:.1f} ms (target <= 20; {cache.hits} hit)")
        # What committing that file as an artifact pays (no stat cache): format 1 against format 2, from the page
        # cache (the step just wrote it), alternated so both see the same load.
        pairs = [[timed(lambda v=v: tree_digest(big, manifest=False, version=v))[0] for v in (1, 2)] for _ in range(5)]
        one, two = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        print(
            f"artifacts digest of that file, page cache: format 1 {size / one / 1e6:,.0f} MB/s, format 2 "
            f"{size / two / 1e6:,.0f} MB/s ({chunked.workers()} threads); load {os.getloadavg()[0]:.1f}"
        )
        big.unlink()

        tree = work / "tree"
        make_tree(tree, args.files)
        time.sleep(0.05)
        print(f"scandir+lstat of {args.files:,} files (floor, for reference): {baseline_walk(tree):.2f} s")
        tree_cache = work / "statcache-tree"
        cache = StatCache.open(tree_cache)
        seconds, _ = timed(lambda: tree_digest(tree, cache=cache))
        save_seconds, _ = timed(cache.save)
        print(f"cold digest of {args.files:,} files: {seconds:.2f} s (+ {save_seconds:.2f} s saving the cache)")
        seconds, cache = min((warm(tree, tree_cache) for _ in range(3)), key=lambda r: r[0])
        print(f"warm digest of {args.files:,} files: {seconds:.2f} s (target <= 1.5; {cache.hits:,} hits)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
