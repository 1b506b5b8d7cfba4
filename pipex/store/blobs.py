"""Blobs (``cas/<hh>/<hex>``): file contents named by their SHA-256, hashed on every copy in and out.

Writing: the bytes go to a temp file in ``tmp/`` (same filesystem), are hashed on the way, fsynced, made read-only
and renamed to their name; a blob that is already there is not written again (two writers of one blob write the
same bytes, so whichever rename lands last changes nothing). Reading: the blob is opened without following links,
must be a regular file of the recorded size, and is hashed while copied; a mismatch is ``StoreCorrupt``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import uuid
from pathlib import Path

from pipex.errors import StoreCorrupt

CHUNK = 1 << 20
BLOB_MODE = 0o444  # immutable once named; readable by the group that shares the store (see the README)
EMPTY = hashlib.sha256(b"").hexdigest()
_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


def blob_path(root: Path, hexdigest: str) -> Path:
    return root / "cas" / hexdigest[:2] / hexdigest


def temp_path(root: Path) -> Path:
    return root / "tmp" / f"{uuid.uuid4().hex}.tmp"


def shared_dir(path: Path) -> Path:
    """``path`` as a directory the store's group may add to: created ``2775`` (setgid: entries inherit the group)."""
    try:
        path.mkdir(mode=0o775)
    except FileExistsError:
        return path
    with contextlib.suppress(OSError):  # the umask narrowed mkdir's mode; another user may own it already
        path.chmod(0o2775)
    return path


def write_blob(root: Path, src: int) -> tuple[str, int]:
    """Store the bytes readable from ``src`` (to its end) as a blob; → (sha256 hex, size)."""
    tmp = temp_path(root)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    h = hashlib.sha256()
    size = 0
    try:
        try:
            while chunk := os.read(src, CHUNK):
                h.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.fchmod(fd, BLOB_MODE)
        finally:
            os.close(fd)
        hexdigest = h.hexdigest()
        final = blob_path(root, hexdigest)
        if final.exists():
            return hexdigest, size
        shared_dir(final.parent)
        os.replace(tmp, final)
        return hexdigest, size
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _check_stat(hexdigest: str, st: os.stat_result, size: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise StoreCorrupt(f"blob {hexdigest[:12]} is not a regular file")
    if st.st_size != size:
        raise StoreCorrupt(f"blob {hexdigest[:12]} has {st.st_size} bytes, the record says {size} (truncated?)")


def stat_blob(root: Path, hexdigest: str, size: int) -> None:
    """``StoreCorrupt`` unless the blob is there as a regular file of ``size`` bytes: one ``lstat``, no byte read
    (what a dry run may claim; the bytes are hashed when the entry is fetched). The empty blob, which ``copy_blob``
    never reads, need not be there."""
    if size == 0 and hexdigest == EMPTY:
        return
    try:
        st = os.lstat(blob_path(root, hexdigest))
    except FileNotFoundError as exc:
        raise StoreCorrupt(f"blob {hexdigest[:12]} is missing") from exc
    except OSError as exc:
        raise StoreCorrupt(f"blob {hexdigest[:12]} cannot be opened: {exc.strerror}") from exc
    _check_stat(hexdigest, st, size)


def open_blob(root: Path, hexdigest: str, size: int) -> int:
    """A read descriptor of the blob, which must be a regular file of ``size`` bytes (else ``StoreCorrupt``);
    ``FileNotFoundError`` when it is missing."""
    path = blob_path(root, hexdigest)
    try:
        fd = os.open(path, _READ)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise StoreCorrupt(f"blob {hexdigest[:12]} cannot be opened: {exc.strerror}") from exc
    try:
        _check_stat(hexdigest, os.fstat(fd), size)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def copy_blob(root: Path, hexdigest: str, size: int, dst: int) -> None:
    """Copy the blob into ``dst``, hashing it on the way: ``StoreCorrupt`` unless the bytes match its name.

    Exactly ``size`` bytes are read (``open_blob`` checked the file has that many), in reads no larger than what
    is left; the empty blob is not opened at all (its bytes are known from its name)."""
    if size == 0:
        if hexdigest != EMPTY:
            raise StoreCorrupt(f"blob {hexdigest[:12]} does not match its digest (corrupt or tampered with)")
        return
    try:
        src = open_blob(root, hexdigest, size)
    except FileNotFoundError as exc:
        raise StoreCorrupt(f"blob {hexdigest[:12]} is missing") from exc
    h = hashlib.sha256()
    left = size
    try:
        while left and (chunk := os.read(src, min(left, CHUNK))):
            h.update(chunk)
            left -= len(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(dst, view) :]
    finally:
        os.close(src)
    if left or h.hexdigest() != hexdigest:
        raise StoreCorrupt(f"blob {hexdigest[:12]} does not match its digest (corrupt or tampered with)")


def check_blob(root: Path, hexdigest: str, size: int) -> None:
    """``StoreCorrupt`` unless the blob exists and holds exactly the bytes of its name (``pipex cache verify``)."""
    try:
        src = open_blob(root, hexdigest, size)
    except FileNotFoundError as exc:
        raise StoreCorrupt(f"blob {hexdigest[:12]} is missing") from exc
    h = hashlib.sha256()
    try:
        while chunk := os.read(src, CHUNK):
            h.update(chunk)
    finally:
        os.close(src)
    if h.hexdigest() != hexdigest:
        raise StoreCorrupt(f"blob {hexdigest[:12]} does not match its digest (corrupt or tampered with)")
