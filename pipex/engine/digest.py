"""Content (Merkle) digests of host trees and files: what a mount, a source or a run's artifacts *contain*.

What enters a digest, and what does not:

- names relative to the root, each directory's entries sorted bytewise (the host path of the root never enters,
  so moving a project keeps its digests);
- the entry type: regular file, directory, symlink, or another kind (fifo, socket, device: type only, never read);
- for regular files the **user-execute bit only**, like git: permission bits such as group-write differ with the
  umask of whoever cloned or copied the tree and would needlessly invalidate caches, while the execute bit changes
  what a step can run. Directory modes, owners, times and extended attributes do not enter;
- sizes and SHA-256 of contents; symlink targets as text (SHA-256 of the target bytes), never followed.
  The root itself is followed when it is a symlink, as a bind mount does.

Encoding: an entry is ``<kind> <size> <hex digest> <name>\\0`` with kind ``f`` (file), ``x`` (executable file),
``l`` (symlink), ``d`` (directory) or ``p``/``s``/``c``/``b``/``?`` (other). A directory's digest is the SHA-256 of
its entries' encodings in name order (its size: the sum of its entries'), a file's is the SHA-256 of its bytes (so
``sha256sum`` agrees), and the tree's digest is ``sha256:`` + SHA-256 of ``pipex-tree-<format>\\0`` and the root's
own entry with an empty name.

Two formats (``FORMATS``), told apart by that prefix so their digests never compare equal. Format 1 is the above.
Format 2 differs in one thing: a regular file of at least ``chunked.THRESHOLD`` (8 MiB) bytes has as its digest the
hash over its 4 MiB chunks' SHA-256s (``pipex.engine.chunked``), computed on several cores; smaller files, symlinks
and directories are as in format 1. Committed artifacts are hashed in ``ARTIFACTS_FORMAT`` (2) and the run records
it (``artifactsDigestFormat`` in meta.json; absent: 1), so a run committed by an older pipex keeps its digest and
its dependents stay cached; mounts and sources stay in ``MOUNT_FORMAT`` (1): their file digests live in the stat
cache and agree with ``sha256sum``, and changing them would re-run every step that mounts a big file once.

``TreeDigest.manifest`` maps each relative path (``/``-separated, ``""`` for a root that is a file) to a short
value — ``f:<hex>``, ``x:<hex>``, ``l:<hex>``, ``d`` or the other kind's letter — so ``--explain`` can name the
files that changed (``diff_manifests``); it is saved as JSON beside a run. A tree of more than
``MANIFEST_LIMIT`` entries keeps no file list (memory must not grow with the tree): its manifest is the single
entry ``TRUNCATED``, and explain says its contents changed without naming files.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from pipex.engine.chunked import THRESHOLD, chunked_digest, stream_digest
from pipex.engine.statcache import StatCache, fs_clock_ns, match
from pipex.errors import PipexError
from pipex.workspace.safetree import Node, open_file, walk

FORMATS = (1, 2)  # tree digest formats this pipex reads and writes
MOUNT_FORMAT = 1  # mounts and sources (stat-cached, per-file digests agree with sha256sum)
ARTIFACTS_FORMAT = 2  # committed artifacts: big files hashed in chunks across cores
MANIFEST_LIMIT = 20_000  # entries of a manifest (~5 MB); a bigger tree's explain says "contents changed"
TRUNCATED = "\0truncated"  # the one key of a manifest past the limit (no path holds a NUL byte)
_BIG = 1 << 20  # files above this are read in 1 MiB chunks into one reused buffer
_EMPTY = hashlib.sha256(b"").hexdigest()
_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()
_NO_ENTRIES: Mapping[str, str] = MappingProxyType({})
_OTHER_KINDS = {
    stat.S_IFIFO: "p",
    stat.S_IFSOCK: "s",
    stat.S_IFCHR: "c",
    stat.S_IFBLK: "b",
}


@dataclass(frozen=True, slots=True)
class TreeDigest:
    digest: str  # "sha256:<hex>"
    size: int  # bytes of regular files
    files: int  # entries that are not directories (files, symlinks, others)
    manifest: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    version: int = 1  # the format (FORMATS) the digest was computed in


@dataclass(frozen=True, slots=True)
class Heavy:
    """``reached()`` is called once, from the walk, just before the files read so far reach ``bytes`` bytes (the
    file that makes them reach it not read yet): the moment to say the digest will take a while."""

    bytes: int
    reached: Callable[[], None]


@dataclass(frozen=True, slots=True)
class ManifestDiff:
    changed: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


def _unreadable(path: str, exc: OSError) -> PipexError:
    return PipexError(
        f"cannot read {path} to compute its digest: {exc.strerror or exc}",
        hint="make it readable by the user running pipex, or leave it out of the mount",
    )


def file_digest(path: str, expected: int = 0, version: int = 1) -> tuple[str, int]:
    """A file's digest (hex) in format ``version`` and how many bytes were read, without following a final symlink:
    in format 1 the SHA-256 of its bytes, in format 2 the same below ``chunked.THRESHOLD`` bytes.

    ``expected``: the size stat reported; a file that size needs one read (a short read of a regular file is its
    end), and a bigger one is read in 1 MiB chunks into one reused buffer (format 2: in chunks across cores).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)  # never hang on a fifo
    try:
        return _FILE_DIGESTS[version](fd, expected)
    finally:
        os.close(fd)


def _digest_fd(fd: int, expected: int) -> tuple[str, int]:
    # Bare fds: a file object per file costs more than the read itself for small files. One byte more than stat
    # said tells a small file's end in one read; a big file is read in whole, page-aligned 1 MiB blocks (an offset
    # of 1 MiB + 1 made the kernel copy every page in two pieces: ~2x the system time).
    want = expected + 1 if expected < _BIG else _BIG
    first = os.read(fd, want)
    h = hashlib.sha256(first)
    size = len(first)
    if size == want:  # not a short read: a big file, or one that grew since stat; read on to the end
        if expected >= _BIG:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)  # a larger readahead window
        buf = bytearray(_BIG)
        view = memoryview(buf)
        while n := os.readv(fd, (buf,)):
            h.update(view[:n])  # hashlib releases the GIL here
            size += n
    return h.hexdigest(), size


def _digest_fd_2(fd: int, expected: int) -> tuple[str, int]:
    if expected >= THRESHOLD:
        return chunked_digest(fd, expected)
    digest, size = _digest_fd(fd, expected)
    if size >= THRESHOLD:  # it grew past the threshold since stat: the value must follow the bytes read
        return stream_digest(fd)
    return digest, size


_FILE_DIGESTS = {1: _digest_fd, 2: _digest_fd_2}


class _Walker:
    """Hashes one tree in one pass of the safe walk (``safetree.walk``: directory descriptors, no link followed,
    files opened relative to their directory); the regular-file path is kept lean (it runs per file)."""

    def __init__(
        self,
        cache: StatCache | None,
        manifest: dict[str, str] | None,
        limit: int = MANIFEST_LIMIT,
        version: int = 1,
        heavy: Heavy | None = None,
    ) -> None:
        self.cache = cache
        self.heavy = heavy
        self.reading = 0  # bytes of the files read so far, the one about to be read included (``heavy``)
        self.version = version
        self.digest_fd = _FILE_DIGESTS[version]
        self.limit = limit
        self.truncated = False
        self.started = fs_clock_ns()  # before any stat: the racy rule's reference point
        self.size = 0
        self.files = 0
        self.hits = 0
        self.misses = 0
        # None: no manifest (an artifacts digest): then nothing per file outlives its directory's frame.
        self.manifest = manifest

    def regular(self, path: str, st: os.stat_result, node: Node | None = None) -> tuple[str, int]:
        """(hex digest, size) of a regular file the cache did not know (``node``: open it through the walk)."""
        self.misses += 1
        if self.heavy is not None:
            self.reading += st.st_size
            if self.reading >= self.heavy.bytes:
                told, self.heavy = self.heavy, None  # said once
                told.reached()
        try:
            if node is None:
                digest, size = file_digest(path, st.st_size, self.version)
            else:
                fd = open_file(node)
                try:
                    digest, size = self.digest_fd(fd, st.st_size)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        # A file that grew or shrank while it was read is hashed as read, but not cached under the old stat.
        if self.cache is not None and size == st.st_size:
            self.cache.store(path, st, digest, started_ns=self.started)
        return digest, size

    def leaf(self, path: str, rel: str, st: os.stat_result, node: Node | None = None) -> tuple[str, int, str]:
        """(kind, size, hex digest) of any non-directory entry, and its manifest line."""
        mode = st.st_mode
        if stat.S_ISREG(mode):
            kind = "x" if mode & stat.S_IXUSR else "f"
            directory, _, name = path.rpartition("/")
            digest = match(self.cache.directory(directory), name, st) if self.cache is not None else None
            if digest is None:
                digest, size = self.regular(path, st, node)
            else:
                self.hits += 1
                size = st.st_size
            self.size += size
        elif stat.S_ISLNK(mode):
            kind = "l"
            try:  # the target's exact bytes, never followed
                if node is None:
                    target = os.readlink(os.fsencode(path))  # noqa: PTH115
                else:
                    target = os.readlink(os.fsencode(node.name), dir_fd=node.dir_fd)
            except OSError as exc:
                raise _unreadable(path, exc) from exc
            digest, size = hashlib.sha256(target).hexdigest(), len(target)
        else:
            kind, digest, size = _OTHER_KINDS.get(stat.S_IFMT(mode), "?"), _EMPTY, 0
        self.files += 1
        if self.manifest is not None:
            self.manifest[rel] = f"{kind}:{digest}" if kind in "fxl" else kind
        return kind, size, digest

    def tree(self, root: str) -> tuple[str, int]:
        """(hex digest, size) of the directory ``root``: each directory's lines are hashed when the walk leaves it
        (entries in the walk's order: sorted by their names' bytes, independent of the locale)."""
        cache = self.cache
        manifest = self.manifest
        # One frame per directory on the current path: its lines, their total size, the cache's entries for it.
        frames: list[tuple[list[str], list[int], Mapping[str, str], str]] = [
            ([], [0], cache.directory(root) if cache is not None else _NO_ENTRIES, root)
        ]
        try:
            for node in walk(root, post_order=True, follow_root=True):
                if node.kind == "dir":
                    if not node.leaving:
                        path = f"{root}/{node.rel}"
                        frames.append(([], [0], cache.directory(path) if cache is not None else _NO_ENTRIES, path))
                        continue
                    lines, total, _, _ = frames.pop()
                    if manifest is not None and len(manifest) > self.limit:  # checked per directory, not per file
                        manifest = self.manifest = None
                        self.truncated = True
                    # names as str: encoding the joined text gives back their exact bytes
                    digest = hashlib.sha256("".join(lines).encode(_FS_ENCODING, _FS_ERRORS)).hexdigest()
                    if manifest is not None:
                        manifest[node.rel] = "d"
                    frames[-1][0].append(f"d {total[0]} {digest} {node.name}\0")
                    frames[-1][1][0] += total[0]
                    continue
                lines, total, known, directory = frames[-1]
                st = node.st
                name = node.name
                if node.kind == "file":
                    kind = "x" if st.st_mode & stat.S_IXUSR else "f"
                    cached = match(known, name, st)
                    if cached is None:
                        digest, size = self.regular(f"{directory}/{name}", st, node)
                    else:
                        digest, size = cached, st.st_size
                        self.hits += 1
                    self.files += 1
                    self.size += size
                    if manifest is not None:
                        manifest[node.rel] = f"{kind}:{digest}"
                else:
                    kind, size, digest = self.leaf(f"{directory}/{name}", node.rel, st, node)
                lines.append(f"{kind} {size} {digest} {name}\0")
                total[0] += size
        except OSError as exc:
            raise _unreadable(exc.filename if isinstance(exc.filename, str) else root, exc) from exc
        lines, total, _, _ = frames[0]
        return hashlib.sha256("".join(lines).encode(_FS_ENCODING, _FS_ERRORS)).hexdigest(), total[0]


def tree_digest(
    path: Path,
    *,
    cache: StatCache | None = None,
    manifest: bool = True,
    manifest_limit: int = MANIFEST_LIMIT,
    version: int = MOUNT_FORMAT,
    heavy: Heavy | None = None,
) -> TreeDigest:
    """The content digest of the file or directory tree at ``path`` in format ``version`` (see the module docstring).

    ``cache`` lets unchanged files skip their read; the caller saves it. ``manifest=False``: leave
    ``TreeDigest.manifest`` empty, so memory does not grow with the number of files (only with the depth and the
    widest directory). Past ``manifest_limit`` entries the manifest is ``{TRUNCATED: ""}``. Raises ``PipexError``
    when something in the tree cannot be read. ``ValueError`` for a format not in ``FORMATS``, or a stat cache with
    format 2 (the cache holds format-1 file digests). ``heavy``: told once when the bytes to read reach its size.
    """
    if version not in FORMATS:
        raise ValueError(f"unknown tree digest format {version!r}")
    if cache is not None and version != MOUNT_FORMAT:
        raise ValueError("the stat cache holds format-1 file digests")
    # Plain str paths throughout: the walk runs per file and pathlib's objects would dominate its cost.
    root = os.path.abspath(path)  # noqa: PTH100 - absolute, but symlinks in it kept as the caller named them
    walker = _Walker(cache, {} if manifest else None, manifest_limit, version, heavy)
    try:
        st = os.stat(root)  # noqa: PTH116 - the root is followed, as a bind mount follows it
    except OSError as exc:
        raise _unreadable(root, exc) from exc
    if stat.S_ISDIR(st.st_mode):
        kind = "d"
        digest, size = walker.tree(root)
    else:
        kind, size, digest = walker.leaf(root, "", st)
    if cache is not None:
        cache.count(hits=walker.hits, misses=walker.misses)
    top = hashlib.sha256(f"pipex-tree-{version}\0{kind} {size} {digest} \0".encode()).hexdigest()
    found = {TRUNCATED: ""} if walker.truncated else walker.manifest or {}
    return TreeDigest(f"sha256:{top}", walker.size, walker.files, MappingProxyType(found), version)


def listing_digest(
    entries: Iterable[tuple[str, str, int, str]], version: int = 1, big: Callable[[str, int], str] | None = None
) -> tuple[str, int]:
    """What ``tree_digest(root, manifest=False)`` gives (digest, bytes of regular files) for a directory ``root``
    holding exactly ``entries``, computed without reading it: for a tree just written from a listing whose every
    file was hashed as it was written (a shared-cache hit), so the same bytes are not read and hashed twice.

    An entry is (path relative to the root, ``/``-separated; kind ``d``, ``f``, ``x`` or ``l``; size; SHA-256 hex
    of the file's bytes), a link's size and digest being those of its target's bytes; every directory is listed
    before what it holds. The encoding is the walk's (see the module docstring). In format 2 a regular file of at
    least ``chunked.THRESHOLD`` bytes has a chunked digest that its SHA-256 cannot give: ``big(rel, size)`` computes
    it (reads that file again: only big files are read twice)."""
    if version not in FORMATS or (version != 1 and big is None):
        raise ValueError(f"listing_digest: format {version!r} needs a digest for big files")
    children: dict[str, list[tuple[bytes, str, str, int, str]]] = {"": []}  # dir → (name bytes, name, kind, ...)
    files = 0
    for rel, kind, size, listed in entries:
        parent, _, name = rel.rpartition("/")
        digest = listed
        if kind == "d":
            children[rel] = []
        elif kind in ("f", "x"):
            files += size
            if version != 1 and size >= THRESHOLD and big is not None:
                digest = big(rel, size)
        children[parent].append((name.encode(_FS_ENCODING, _FS_ERRORS), name, kind, size, digest))

    def of(directory: str) -> tuple[str, int]:
        lines: list[str] = []
        total = 0
        for _, name, kind, listed_size, listed_digest in sorted(children[directory], key=lambda item: item[0]):
            if kind == "d":
                digest, size = of(f"{directory}/{name}" if directory else name)
            else:
                digest, size = listed_digest, listed_size
            lines.append(f"{kind} {size} {digest} {name}\0")
            total += size
        return hashlib.sha256("".join(lines).encode(_FS_ENCODING, _FS_ERRORS)).hexdigest(), total

    digest, size = of("")
    top = hashlib.sha256(f"pipex-tree-{version}\0d {size} {digest} \0".encode()).hexdigest()
    return f"sha256:{top}", files


def diff_manifests(old: Mapping[str, str], new: Mapping[str, str]) -> ManifestDiff:
    """Paths whose value changed, that appeared, and that disappeared, each sorted.

    A directory is named only when nothing under it is: adding ``data/`` with files lists the files.
    """
    changed = sorted(p for p, v in new.items() if p in old and old[p] != v)
    added = sorted(p for p in new if p not in old)
    removed = sorted(p for p in old if p not in new)
    covered = {q[:i] for q in (*changed, *added, *removed) for i, c in enumerate(q) if c == "/"}

    def shown(paths: list[str], manifest: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(p + "/" if manifest[p] == "d" else p for p in paths if manifest[p] != "d" or p not in covered)

    return ManifestDiff(shown(changed, new), shown(added, new), shown(removed, old))


def save_manifest(path: Path, manifest: Mapping[str, str]) -> None:
    """Write a manifest as JSON (callers write it inside a staging directory that is committed by rename)."""
    path.write_text(json.dumps(dict(manifest), sort_keys=True, separators=(",", ":")), encoding="utf-8")


def load_manifest(path: Path) -> dict[str, str] | None:
    """A saved manifest, or ``None`` when it is absent or unreadable (explain then says less, nothing fails)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None
    return data
