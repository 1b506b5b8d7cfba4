"""A per-workspace stat cache: (path, size, mtime_ns, ino, ctime_ns) → file digest, so unchanged files are not re-read.

Content hashes stay authoritative: the cache only lets a file whose inode metadata is exactly as it was when it was
hashed skip the read. Git's *racy timestamp* rule applies: an entry is kept only if the file's mtime and ctime were
strictly older than the moment hashing began (read from the coarse clock the kernel stamps files with), so a file
modified again within the same timestamp tick — same size, same mtime — can never be mistaken for unchanged.
Racy entries are simply not stored; the next run re-hashes the file once and caches it then.

The file is one JSON document ``{"v": 1, "written": ns, "dirs": {dir: {name: "size:mtime:ino:ctime <digest>"}}}``:
grouping by directory and packing each entry into one string makes 100,000 entries load in about 0.1 s (faster
here than sqlite or a list of records). ``save`` writes a temporary file and renames it over the old one, so a
reader or a concurrent writer (another pipex process) sees the old or the new version, never a torn one; with two
writers the last one wins, which only costs the other's entries a re-hash. A missing, unreadable or corrupt file is
an empty cache, never an error. A lock makes one instance safe to share between threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
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
    """Use ``StatCache.open(file)``; ``lookup``/``store`` per file; ``save()`` once at the end."""

    def __init__(self, path: Path, dirs: dict[str, Any] | None = None, *, max_entries: int = DEFAULT_MAX_ENTRIES):
        self.path = path
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._dirs: dict[str, Any] = dirs if dirs is not None else {}
        self._used: set[str] = set()
        self._dirty = False
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> StatCache:
        """Load the cache file at ``path``; an absent or damaged file gives an empty cache."""
        dirs: dict[str, Any] = {}
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):  # absent, unreadable, truncated, not UTF-8, not JSON
            data = None
        if isinstance(data, dict) and data.get("v") == _VERSION and isinstance(data.get("dirs"), dict):
            dirs = data["dirs"]
        return cls(path, dirs, max_entries=max_entries)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(names) for names in self._dirs.values() if isinstance(names, dict))

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
            names = self._dirs.get(directory)
            return MappingProxyType(names) if isinstance(names, dict) else _NOTHING

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
            names = self._dirs.get(directory)
            if not isinstance(names, dict):
                names = self._dirs[directory] = {}
            names[name] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns} {digest}"
            self._used.add(directory)
            self._dirty = True
        return True

    def save(self) -> None:
        """Write the cache if anything was stored: temp file + rename, so it is never seen half-written.

        A failure to write (read-only workspace, disk full) is ignored: the cache is an optimisation.
        """
        with self._lock:
            if not self._dirty:
                return
            dirs = self._dirs
            if sum(len(names) for names in dirs.values() if isinstance(names, dict)) > self.max_entries:
                dirs = {d: names for d, names in dirs.items() if d in self._used}
            # ensure_ascii: names that are not valid UTF-8 survive as \udcXX escapes and the file stays ASCII.
            text = json.dumps({"v": _VERSION, "written": time.time_ns(), "dirs": dirs}, separators=(",", ":"))
            self._dirty = False
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_text(text, encoding="ascii")
            tmp.replace(self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
