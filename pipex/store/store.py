"""``Store``: put a committed successful run into the shared cache, and fetch one back into a staged run."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipex.errors import StoreCorrupt, StoreError
from pipex.store.blobs import copy_blob, shared_dir, stat_blob, temp_path, write_blob
from pipex.store.record import LOG_NAMES, MAX_RECORD_BYTES, Entry, EntryKind, Record, fingerprint_key, parse
from pipex.workspace.atomic import fsync_dir
from pipex.workspace.safetree import Skipped, create_file, make_dir, name_problem, open_at, open_file, open_root, walk

RECORD_MODE = 0o444
# A hit marks its record used (its mtime, what `prune --older-than` reads) only when the mark is older than this:
# one metadata write (a round trip on NFS) per entry and hour, not per hit.
TOUCH_AFTER = 3600.0
_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


class NotShareable(Exception):
    """A run the store cannot reproduce faithfully (a FIFO in its artifacts, an unreproducible name): not put."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A run materialised from the store; the caller checks ``artifacts_digest`` against what is now on disk."""

    meta: Mapping[str, Any]
    artifacts_digest: str
    artifacts_size: int
    stored_at: str
    tree: tuple[Entry, ...]  # what was materialised below artifacts/, each file's bytes hashed on the way


@dataclass(frozen=True, slots=True)
class Peeked:
    """What ``fetch`` would materialise, as its record says (nothing was fetched)."""

    artifacts_digest: str
    artifacts_size: int
    meta: Mapping[str, Any]  # the stored run's meta.json, as recorded (hostile: the caller checks what it uses)


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, create: bool = True) -> Store:
        """The store at ``root`` (created with its layout when missing and ``create``); ``StoreError`` when it
        cannot be used."""
        path = Path(os.path.normpath(Path(root).expanduser().absolute()))  # "p/../store" shown as "store"
        try:
            if create:
                path.mkdir(parents=True, exist_ok=True)
                for sub in ("ac", "cas", "tmp"):
                    shared_dir(path / sub)
            if not (path / "ac").is_dir() or not (path / "cas").is_dir():
                raise StoreError(
                    f"{path} is not a pipex cache store", hint="check cacheStore in .pipex.yml or --cache-store"
                )
        except OSError as exc:
            raise StoreError(
                f"cannot use the cache store {path}: {exc.strerror or exc}",
                hint="create it writable by your group (see README: Sharing a cache), or fix cacheStore",
            ) from exc
        return cls(path)

    def record_path(self, fingerprint: str) -> Path:
        return self.root / "ac" / fingerprint_key(fingerprint)

    # -- reading -------------------------------------------------------------------------------------------------
    def has(self, fingerprint: str) -> bool:
        return self.record_path(fingerprint).is_file()

    def record(self, fingerprint: str) -> Record | None:
        """The checked record of ``fingerprint``, ``None`` when there is none; ``StoreCorrupt`` when it is bad."""
        found = self._read_record(fingerprint)
        return None if found is None else found[0]

    def _read_record(self, fingerprint: str) -> tuple[Record, float] | None:
        """The checked record and its mtime (last stored or used)."""
        try:
            fd = os.open(self.record_path(fingerprint), _READ)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreCorrupt(f"its record cannot be opened: {exc.strerror}") from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_RECORD_BYTES:
                raise StoreCorrupt("its record is not a regular file of a sane size")
            os.set_blocking(fd, True)
            chunks: list[bytes] = []
            total = 0
            # Reads of its size, not of 1 MiB buffers; a record that grows while read (somebody writes into it:
            # a replaced record is a new inode) is read to its end, within the bound.
            while chunk := os.read(fd, st.st_size + 1 - total if total <= st.st_size else 1 << 20):
                chunks.append(chunk)
                total += len(chunk)
                if total > MAX_RECORD_BYTES:
                    raise StoreCorrupt("its record is not a regular file of a sane size")
        finally:
            os.close(fd)
        return parse(b"".join(chunks), fingerprint), st.st_mtime

    def peek(self, fingerprint: str) -> Peeked | None:
        """Whether ``fetch`` would find a whole entry, for a dry run: the record is read and checked and every blob
        it names must be a regular file of its recorded size; no blob is read and nothing is written (not even the
        record's last-use time). ``None`` on a miss; ``StoreCorrupt`` when the entry is bad. Bytes changed in place
        at the same size are only found by ``fetch`` (which hashes them) or ``pipex cache verify``."""
        rec = self.record(fingerprint)
        if rec is None:
            return None
        for blob, size in sorted(rec.blobs().items()):
            stat_blob(self.root, blob, size)
        return Peeked(rec.artifacts_digest, rec.artifacts_size, rec.meta)

    def fetch(self, fingerprint: str, dest: Path) -> Fetched | None:
        """Materialise the entry of ``fingerprint`` into the staged run ``dest`` (``artifacts/`` exists and is
        empty; ``stdout.log``/``stderr.log`` are written beside it). ``None`` on a miss; ``StoreCorrupt`` (the
        caller drops ``dest``) when the entry is bad."""
        found = self._read_record(fingerprint)
        if found is None:
            return None
        rec, mtime = found
        _materialise(self.root, rec.tree, dest / "artifacts")
        top = open_root(dest)
        try:
            for name in LOG_NAMES:
                fd = create_file(name, top, 0o644, replace=True)
                try:
                    if name in rec.logs:
                        copy_blob(self.root, *rec.logs[name], fd)
                finally:
                    os.close(fd)
        finally:
            os.close(top)
        if time.time() - mtime > TOUCH_AFTER:
            with contextlib.suppress(OSError):  # last use, for `prune --older-than`; another user's record stays
                os.utime(self.record_path(fingerprint))
        return Fetched(rec.meta, rec.artifacts_digest, rec.artifacts_size, rec.stored_at, rec.tree)

    # -- writing -------------------------------------------------------------------------------------------------
    def put(self, fingerprint: str, run_dir: Path, meta: Mapping[str, Any], digest: str, size: int) -> bool:
        """Store the committed successful run ``run_dir``; ``False`` when a whole entry is there already.

        Blobs first, then the record by one rename: a reader sees the whole entry or none. ``NotShareable`` when
        the artifacts hold what a copy cannot reproduce; ``OSError`` for what the store's filesystem refuses."""
        final = self.record_path(fingerprint)
        with contextlib.suppress(StoreCorrupt):  # a corrupt entry is replaced by this good one
            if self.record(fingerprint) is not None:
                return False
        tree = self._put_tree(run_dir / "artifacts")
        logs: dict[str, tuple[str, int]] = {}
        top = open_root(run_dir)
        try:
            for name in LOG_NAMES:
                try:
                    fd = open_at(name, top)
                except FileNotFoundError:
                    continue
                try:
                    logs[name] = write_blob(self.root, fd)
                finally:
                    os.close(fd)
        finally:
            os.close(top)
        stored_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        rec = Record(fingerprint, digest, size, stored_at, meta, tree, logs)
        _write_atomic(self.root, final, rec.to_json())
        return True

    def _put_tree(self, artifacts: Path) -> tuple[Entry, ...]:
        skipped: list[Skipped] = []
        entries: list[Entry] = []
        for node in walk(artifacts, on_skip=skipped.append):
            problem = name_problem(node.rel)
            if problem is not None:
                raise NotShareable(f'"{node.rel}": {problem}')
            if node.kind == "dir":
                entries.append(Entry("d", node.rel))
            elif node.kind == "link":
                entries.append(Entry("l", node.rel, target=node.readlink()))
            elif node.kind == "file":
                fd = open_file(node)
                try:
                    blob, size = write_blob(self.root, fd)
                finally:
                    os.close(fd)
                kind: EntryKind = "x" if node.st.st_mode & stat.S_IXUSR else "f"
                entries.append(Entry(kind, node.rel, blob, size))
            else:
                raise NotShareable(f'"{node.rel}" is a {node.kind}')
        if skipped:
            raise NotShareable(skipped[0].message())
        return tuple(entries)


def _write_atomic(root: Path, final: Path, data: bytes) -> None:
    tmp = temp_path(root)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.fchmod(fd, RECORD_MODE)
        finally:
            os.close(fd)
        # Two writers of one fingerprint wrote equivalent records: whichever rename lands last wins, harmlessly.
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(final.parent)


def _materialise(root: Path, tree: tuple[Entry, ...], dest: Path) -> None:
    """Recreate ``tree`` below ``dest`` relative to directory descriptors only (``O_NOFOLLOW``, ``O_EXCL``): a
    record cannot make pipex write outside ``dest``, whatever names it holds."""
    fds = {"": open_root(dest)}
    try:
        for e in tree:
            parent, _, name = e.rel.rpartition("/")
            pfd = fds[parent]  # parse() checked that every parent is listed before its entries
            if e.kind == "d":
                fds[e.rel] = make_dir(name, pfd, 0o755)
            elif e.kind == "l":
                os.symlink(e.target, name, dir_fd=pfd)
            else:
                fd = create_file(name, pfd, 0o755 if e.kind == "x" else 0o644)
                try:
                    if e.kind == "x":  # executable whatever the umask: the artifacts digest counts that bit
                        os.fchmod(fd, 0o755)
                    copy_blob(root, e.blob, e.size, fd)
                finally:
                    os.close(fd)
    except FileExistsError as exc:
        raise StoreCorrupt(f"the record lists {exc.filename or 'a path'} twice") from exc
    finally:
        for fd in fds.values():
            os.close(fd)
