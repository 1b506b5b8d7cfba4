"""A per-workspace stat cache: (path, size, mtime_ns, ino, ctime_ns) → file digest, so unchanged files are not re-read.

Content hashes stay authoritative: the cache only lets a file whose inode metadata is exactly as it was when it was
hashed skip the read. Git's *racy timestamp* rule applies: an entry is kept only if the file's mtime and ctime were
strictly older than the moment hashing began (read from the coarse clock the kernel stamps files with), so a file
modified again within the same timestamp tick — same size, same mtime — can never be mistaken for unchanged.
Racy entries are simply not stored; the next run re-hashes the file once and caches it then.

The file is an SQLite database, one row per file: ``(dir, name) → "size:mtime:ino:ctime <digest>"``. A tree walk
reads one directory's rows when it enters that directory, and stores are written in batches, so memory follows
the widest directory, not the tree (the JSON document this replaced was loaded whole: ~90 MB at 100,000
files). Writes are SQLite transactions: a reader or a concurrent writer (another pipex process) sees the old or
the new rows, never torn ones; with two writers the last one wins, which only costs the other's entries a
re-hash. A missing, unreadable or corrupt file (an older pipex's JSON cache included) is an empty cache, never an
error, and is replaced at the next save. A lock makes one instance safe to share between threads.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

_VERSION = 1
_CLOCK_REALTIME_COARSE = getattr(time, "CLOCK_REALTIME_COARSE", 5)  # Linux's id; Python does not export it
# Files whose timestamps are whole seconds probably live on a filesystem with 1–2 s granularity (FAT, HFS+,
# some network filesystems): a write after hashing may be stamped up to that much *before* it happened.
_COARSE_FS_SLACK_NS = 2_000_000_000
# Past this many entries, ``save`` keeps only the directories used by this process (files that vanished or left
# the pipeline would otherwise accumulate forever).
DEFAULT_MAX_ENTRIES = 1_000_000
_NOTHING: Mapping[str, str] = MappingProxyType({})
_BATCH = 1000  # stored entries handed to SQLite at once: bounds what a walk of a big tree holds
_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (dir TEXT, name TEXT, value TEXT, PRIMARY KEY (dir, name)) WITHOUT ROWID"


def fs_clock_ns() -> int:
    """Now, in the clock the kernel stamps file times with (the coarse realtime clock on Linux).

    Take it *before* stat-ing and reading a file and pass it to ``StatCache.store`` as ``started_ns``.
    """
    try:
        return time.clock_gettime_ns(_CLOCK_REALTIME_COARSE)
    except OSError:  # not Linux: the fine clock, less a tick's worth of margin
        return time.time_ns() - 10_000_000


def match(entries: Mapping[str, str], name: str, st: os.stat_result) -> str | None:
    """The digest in ``entries`` (from ``StatCache.directory``) for file ``name`` if its stat data is ``st``."""
    value = entries.get(name)
    if type(value) is not str:  # also rejects junk a damaged-but-parsable file may hold
        return None
    signature = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns} "
    if value.startswith(signature) and len(value) > len(signature):
        return value[len(signature) :]
    return None


def is_racy(st: os.stat_result, started_ns: int) -> bool:
    """Whether the file may have changed after ``started_ns`` without its stat data showing it."""
    newest = max(st.st_mtime_ns, st.st_ctime_ns)
    if st.st_mtime_ns % 1_000_000_000 == 0 and st.st_ctime_ns % 1_000_000_000 == 0:
        newest += _COARSE_FS_SLACK_NS
    return newest >= started_ns


class StatCache:
    """Use ``StatCache.open(file)``; ``lookup``/``store`` per file (or ``directory`` + ``match`` in a walk);
    ``save()`` once at the end. ``writable=False``: never write (a dry run)."""

    def __init__(self, path: Path, *, max_entries: int = DEFAULT_MAX_ENTRIES, writable: bool = True):
        self.path = path
        self.max_entries = max_entries
        self.writable = writable
        self.hits = 0
        self.misses = 0
        self._pending: dict[str, dict[str, str]] = {}  # stored, not yet written: at most _BATCH entries
        self._pending_count = 0
        self._used: set[str] = set()  # directories asked for or stored (kept when pruning)
        self._written = False
        self._db: sqlite3.Connection | None = None
        self._opened = False  # tried to open the file for reading
        self._writing = False  # ``_db`` was opened for writing
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, max_entries: int = DEFAULT_MAX_ENTRIES, writable: bool = True) -> StatCache:
        """The cache in the file ``path`` (opened when first used; an absent or damaged file is an empty cache)."""
        return cls(path, max_entries=max_entries, writable=writable)

    def __len__(self) -> int:
        with self._lock:
            db = self._connect()
            stored = _rows(db, "SELECT count(*) FROM entries", ()) if db is not None else []
            return (stored[0][0] if stored else 0) + self._pending_count

    def lookup(self, path: str | os.PathLike[str], st: os.stat_result) -> str | None:
        """The digest stored for ``path`` (absolute) if ``st`` matches the stat data it was hashed with."""
        directory, _, name = os.fspath(path).rpartition("/")
        digest = match(self.directory(directory), name, st)
        self.count(hits=digest is not None, misses=digest is None)
        return digest

    def directory(self, directory: str) -> Mapping[str, str]:
        """The entries of one directory, by file name, for ``match``: a tree walk asks once per directory."""
        with self._lock:
            self._used.add(directory)
            db = self._connect()
            found = dict(_rows(db, "SELECT name, value FROM entries WHERE dir = ?", (directory,))) if db else {}
            found.update(self._pending.get(directory, ()))
            return MappingProxyType(found) if found else _NOTHING

    def count(self, *, hits: int, misses: int) -> None:
        """Add to the ``hits``/``misses`` counters (for callers that ``match`` themselves)."""
        with self._lock:
            self.hits += hits
            self.misses += misses

    def store(
        self, path: str | os.PathLike[str], st: os.stat_result, digest: str, *, started_ns: int | None = None
    ) -> bool:
        """Remember ``digest`` for ``path`` as stat-ed in ``st``; return whether it was kept.

        ``started_ns`` is ``fs_clock_ns()`` read before ``st`` was taken and the content read (default: now,
        which is correct only if the content was read in an earlier tick). A racy entry is not kept.
        """
        if started_ns is None:
            started_ns = fs_clock_ns()
        if is_racy(st, started_ns) or not digest or " " in digest:
            return False
        directory, _, name = os.fspath(path).rpartition("/")
        with self._lock:
            if not self.writable and self._pending_count >= _BATCH:
                return False  # a read-only cache keeps one batch for this process, never more
            names = self._pending.setdefault(directory, {})
            if name not in names:
                self._pending_count += 1
            names[name] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns} {digest}"
            self._used.add(directory)
            if self._pending_count >= _BATCH and self.writable:
                self._flush()
        return True

    def save(self) -> None:
        """Write what was stored (one transaction); past ``max_entries``, keep only the directories this process
        used. A failure to write (read-only workspace, disk full) is ignored: the cache is an optimisation."""
        with self._lock:
            if self.writable and self._pending:
                self._flush()
            if self._written and self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.commit()
                    self._prune(self._db)
            if self._db is not None:
                self._db.close()
                self._db = None
            self._opened = self._writing = self._written = False

    def __del__(self) -> None:
        # A cache dropped without save() or close() (an error path) closes its connection itself rather than
        # leave it to the garbage collector (Python 3.13 warns of an unclosed database).
        db = getattr(self, "_db", None)
        if db is not None:
            with contextlib.suppress(Exception):
                db.close()

    def close(self) -> None:
        """Let go of the database without writing what was stored (a dry run; a workspace that is gone)."""
        with self._lock:
            self._pending.clear()
            self._pending_count = 0
            if self._db is not None:
                self._db.close()
                self._db = None
            self._opened = self._writing = self._written = False

    # -- the database (callers hold the lock) ----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection | None:
        """The connection for reading: the one open, else the existing file opened read-only (once)."""
        if self._db is None and not self._opened:
            self._opened = True
            self._db = _open_existing(self.path)
        return self._db

    def _flush(self) -> None:
        rows = [(d, name, value) for d, names in self._pending.items() for name, value in names.items()]
        self._pending.clear()
        self._pending_count = 0
        if not self._writing:
            if self._db is not None:
                self._db.close()
            self._db = _open_for_writing(self.path)
            self._opened = self._writing = True
        if self._db is None:
            return
        try:  # one transaction for the whole walk (committed by ``save``): a commit per batch would fsync each
            self._db.executemany("INSERT OR REPLACE INTO entries (dir, name, value) VALUES (?, ?, ?)", rows)
            self._written = True
        except sqlite3.Error:
            return

    def _prune(self, db: sqlite3.Connection) -> None:
        (count,) = db.execute("SELECT count(*) FROM entries").fetchone()
        if count <= self.max_entries:
            return
        with db:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS used (dir TEXT PRIMARY KEY)")
            db.execute("DELETE FROM used")
            db.executemany("INSERT OR IGNORE INTO used (dir) VALUES (?)", ((d,) for d in self._used))
            db.execute("DELETE FROM entries WHERE dir NOT IN (SELECT dir FROM used)")


def _sqlite(target: str | Path, *, uri: bool = False) -> sqlite3.Connection:
    # A concurrent writer holds the lock for one batch: wait for it rather than drop ours. Threads share the
    # connection under the cache's own lock.
    return sqlite3.connect(target, timeout=5.0, check_same_thread=False, uri=uri)


def _open_existing(path: Path) -> sqlite3.Connection | None:
    """The file read-only, or ``None`` when it is absent or not a cache (damaged, an older pipex's JSON)."""
    try:
        if not path.is_file():
            return None
        db = _sqlite(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except (OSError, sqlite3.Error):
        return None
    try:
        db.execute("SELECT dir, name, value FROM entries LIMIT 1").fetchall()
    except sqlite3.Error:
        db.close()
        return None
    return db


def _open_for_writing(path: Path) -> sqlite3.Connection | None:
    """The file for writing, made (or remade, when it is not a cache) as needed; ``None`` when it cannot be."""
    if not path.parent.is_dir():
        return None
    for attempt in range(2):
        try:
            db = _sqlite(path)
        except sqlite3.Error:
            return None
        try:
            db.execute(_SCHEMA)
            db.execute("SELECT dir, name, value FROM entries LIMIT 1").fetchall()
            return db
        except sqlite3.Error:
            db.close()
            if attempt:
                return None
            with contextlib.suppress(OSError):
                path.unlink()  # damaged, or an older pipex's JSON cache: start afresh
    return None


def _rows(db: sqlite3.Connection, query: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
    try:
        return db.execute(query, args).fetchall()
    except sqlite3.Error:  # damaged since opened: an empty cache
        return []
