"""``pipex cache stats|prune|verify``: what a store holds, making it smaller, and checking every byte of it.

Blobs no record refers to are removed only when older than ``grace`` seconds: a writer puts its blobs before its
record, so a fresh unreferenced blob may belong to an entry being written right now (likewise files in ``tmp/``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipex.errors import StoreCorrupt
from pipex.store.blobs import check_blob
from pipex.store.record import Record, is_blob_name
from pipex.store.store import Store

GRACE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Stats:
    entries: int
    blobs: int
    bytes: int  # of blobs
    oldest: float | None  # record mtimes (stored or last used)
    newest: float | None


@dataclass(slots=True)
class Pruned:
    entries: int = 0
    blobs: int = 0
    bytes: int = 0


@dataclass(slots=True)
class Verified:
    entries: int = 0
    blobs: int = 0
    problems: list[str] = field(default_factory=list)  # "<fingerprint prefix>: why" per bad entry, removed


def _records(store: Store) -> Iterator[tuple[str, Path, os.stat_result]]:
    with os.scandir(store.root / "ac") as it:
        for entry in it:
            if is_blob_name(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    yield "sha256:" + entry.name, Path(entry.path), entry.stat(follow_symlinks=False)


def _blobs(store: Store) -> Iterator[tuple[str, Path, os.stat_result]]:
    with os.scandir(store.root / "cas") as shards:
        for shard in shards:
            if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                continue
            with os.scandir(shard.path) as it:
                for entry in it:
                    if is_blob_name(entry.name):
                        with contextlib.suppress(FileNotFoundError):
                            yield entry.name, Path(entry.path), entry.stat(follow_symlinks=False)


def stats(store: Store) -> Stats:
    times = [st.st_mtime for _, _, st in _records(store)]
    blobs = [st.st_size for _, _, st in _blobs(store)]
    return Stats(len(times), len(blobs), sum(blobs), min(times, default=None), max(times, default=None))


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _referenced(store: Store, on_bad: Callable[[str, Path, str], None]) -> set[str]:
    keep: set[str] = set()
    for fp, path, _ in _records(store):
        try:
            rec = store.record(fp)
        except StoreCorrupt as exc:
            on_bad(fp, path, exc.message)
            continue
        if rec is not None:
            keep.update(rec.blobs())
    return keep


def prune(
    store: Store,
    *,
    max_size: int | None = None,
    older_than: float | None = None,
    grace: float = GRACE_SECONDS,
    now: float | None = None,
) -> Pruned:
    """Remove entries last stored or used more than ``older_than`` seconds ago, then the least recently used ones
    until the blobs referenced take at most ``max_size`` bytes; then unreferenced blobs and stale temp files."""
    now = time.time() if now is None else now
    done = Pruned()
    records = sorted(_records(store), key=lambda item: item[2].st_mtime)
    if older_than is not None:
        for _fp, path, st in records:
            if st.st_mtime < now - older_than and _unlink(path):
                done.entries += 1
    if max_size is not None:
        sizes = {name: st.st_size for name, _, st in _blobs(store)}
        live: list[tuple[Path, Record | None]] = []
        for fp, path, _ in sorted(_records(store), key=lambda item: item[2].st_mtime):
            try:
                live.append((path, store.record(fp)))
            except StoreCorrupt:
                live.append((path, None))  # corrupt: the first to go
        live.sort(key=lambda item: item[1] is not None)
        counts: dict[str, int] = {}
        for _, rec in live:
            for blob in rec.blobs() if rec else ():
                counts[blob] = counts.get(blob, 0) + 1
        total = sum(sizes.get(b, 0) for b in counts)
        for path, rec in live:
            if total <= max_size:
                break
            if _unlink(path):
                done.entries += 1
            for blob in rec.blobs() if rec else ():
                counts[blob] -= 1
                if counts[blob] == 0:
                    total -= sizes.get(blob, 0)
    keep = _referenced(store, lambda _fp, _path, _why: None)
    for name, path, st in list(_blobs(store)):
        if name not in keep and st.st_mtime < now - grace and _unlink(path):
            done.blobs += 1
            done.bytes += st.st_size
    with os.scandir(store.root / "tmp") as it:
        for entry in it:
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < now - grace:
                    Path(entry.path).unlink()
    return done


def verify(store: Store) -> Verified:
    """Check every record and every blob it refers to (each blob hashed once); remove what is bad, so that the
    entries left are whole. A bad blob makes every entry that refers to it bad."""
    done = Verified()
    records: list[tuple[str, Path, Record]] = []

    def bad(fp: str, path: Path, why: str) -> None:
        done.problems.append(f"{fp[len('sha256:') :][:12]}: {why}")
        _unlink(path)

    for fp, path, _ in _records(store):
        try:
            rec = store.record(fp)
        except StoreCorrupt as exc:
            bad(fp, path, exc.message)
            continue
        if rec is not None:
            records.append((fp, path, rec))
    checked: dict[str, str | None] = {}  # blob → why it is bad, or None
    for fp, path, rec in records:
        why = None
        for blob, size in sorted(rec.blobs().items()):
            if blob not in checked:
                try:
                    check_blob(store.root, blob, size)
                    checked[blob] = None
                except StoreCorrupt as exc:
                    checked[blob] = exc.message
                    with contextlib.suppress(OSError):
                        _unlink(store.root / "cas" / blob[:2] / blob)
            why = why or checked[blob]
        if why is not None:
            bad(fp, path, why)
        else:
            done.entries += 1
    done.blobs = sum(1 for why in checked.values() if why is None)
    return done
