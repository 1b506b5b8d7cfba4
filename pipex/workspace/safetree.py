"""The one safe walk over a tree a container wrote: every read, copy, hash, listing and export of artifacts uses it.

A step's ``/output`` is hostile data. It may hold links to anywhere on the host (``/home/me/.ssh``, ``../../..``),
FIFOs that hang a reader, sockets, devices, names with newlines, and trees deep enough to exhaust file descriptors.
The walk therefore:

- opens every directory with ``O_DIRECTORY | O_NOFOLLOW`` relative to its parent's descriptor (``dir_fd``) and
  checks it is the inode it listed, so no symlink is ever followed, not even one swapped in while the walk runs;
- lists each directory once, sorted by the bytes of its names (digests must not depend on the locale), and keeps
  only the listings of the directories on the current path: memory is bounded by depth × width, not by the tree;
- reports, in ``regular_only`` mode, every entry that is not a regular file or a directory (symlinks, FIFOs,
  sockets, devices) and every name a consumer could not safely reproduce (control characters such as a newline,
  paths longer than ``MAX_PATH`` bytes) as a ``Skipped`` naming its relative path and why; nothing of it is read;
- never descends deeper than ``MAX_DEPTH`` directories (each level holds one descriptor), reporting the cut.

Files are opened through ``open_file``: relative to the parent's descriptor, ``O_NOFOLLOW | O_NONBLOCK``, and then
checked to be a regular file, so a FIFO or a link raced in is refused by the kernel instead of followed or waited
on. Hard links (``st_nlink > 1``) are regular files: reading or hashing their bytes reads the run's own data, and
every copy pipex makes writes a *new* file (``O_CREAT | O_EXCL``), so a copy never becomes a link to, nor writes
into, a file outside the run. Deleting unlinks the name only.

Consumers that must write a copy use ``make_dir``/``create_file``, which create entries relative to a destination
directory's descriptor with ``O_NOFOLLOW``/``O_EXCL``: an earlier copy (or anybody) cannot redirect them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["file", "dir", "link", "fifo", "socket", "char device", "block device", "other"]

MAX_DEPTH = 128  # directories below the root; each level of the walk holds one descriptor
MAX_PATH = 4096  # bytes of a relative path (PATH_MAX): longer ones cannot be reproduced by a copy
_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK  # never hang on a FIFO swapped in
_KINDS: dict[int, Kind] = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "link",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "char device",
    stat.S_IFBLK: "block device",
}
_WHAT: dict[Kind, str] = {
    "link": "a symlink",
    "fifo": "a FIFO",
    "socket": "a socket",
    "char device": "a character device",
    "block device": "a block device",
    "other": "not a regular file or directory",
}


def kind_of(mode: int) -> Kind:
    return _KINDS.get(stat.S_IFMT(mode), "other")


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of the walk. ``dir_fd`` is its parent's descriptor, valid only until the walk moves on."""

    rel: str  # "/"-separated, relative to the root ("" for the root itself)
    name: str
    kind: Kind
    st: os.stat_result
    dir_fd: int
    leaving: bool = False  # ``post_order``: the second visit of a directory, after its contents

    def readlink(self) -> str:
        return os.readlink(self.name, dir_fd=self.dir_fd)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry left alone: its relative path and why (``a symlink (-> /etc/passwd)``, ``a FIFO``, …)."""

    rel: str
    why: str

    def message(self, where: str = "") -> str:
        """``skipped "x/p" of input a: a FIFO`` (``where``: `` of input a``)."""
        return f"skipped {shown(self.rel)}{where}: {self.why}"


def shown(rel: str) -> str:
    """A relative path quoted for one line of output: control characters escaped, so a name cannot forge lines."""
    if rel.isprintable():
        return f'"{rel}"'
    return repr(rel)


def printable(text: str) -> str:
    """``text`` with control characters (and undecodable bytes) escaped, unquoted: a link target in a message."""
    return text if text.isprintable() else repr(text)[1:-1]


def name_problem(rel: str) -> str | None:
    """Why a copy could not reproduce this path faithfully, or ``None``."""
    if any(ord(c) < 32 or ord(c) == 127 for c in rel):
        return "its name holds control characters (a newline?)"
    if len(rel.encode(_FS_ENCODING, _FS_ERRORS)) > MAX_PATH:
        return f"its path is longer than {MAX_PATH} bytes"
    return None


def describe(node: Node) -> str:
    """What a non-regular entry is, for a warning: ``a symlink (-> /etc/passwd)``, ``a FIFO``."""
    what = _WHAT.get(node.kind, node.kind)
    if node.kind == "link":
        try:
            return f"{what} (-> {printable(node.readlink())}); pipex never follows links a step wrote"
        except OSError:
            return what
    return what


def open_root(root: str | os.PathLike[str], *, follow: bool = False) -> int:
    """A descriptor of the directory ``root``; ``follow``: the root may itself be a symlink (a bind mount's
    source), otherwise a link there is refused (``ELOOP``/``ENOTDIR``)."""
    return os.open(root, _DIR_FLAGS | (0 if follow else os.O_NOFOLLOW))


def open_file(node: Node) -> int:
    """A read descriptor of the regular file ``node`` (the caller closes it); ``OSError`` when it is gone or was
    swapped for something else since it was listed."""
    return open_at(node.name, node.dir_fd)


def open_at(name: str, dir_fd: int) -> int:
    fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", name)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _listing(fd: int) -> list[tuple[bytes, os.DirEntry[str]]]:
    with os.scandir(fd) as it:
        items = [(e.name.encode(_FS_ENCODING, _FS_ERRORS), e) for e in it]
    items.sort(key=lambda pair: pair[0])
    return items


def walk(
    root: str | os.PathLike[str] | int,
    *,
    regular_only: bool = False,
    on_skip: Callable[[Skipped], None] | None = None,
    post_order: bool = False,
    follow_root: bool = False,
    tolerant: bool = False,
) -> Iterator[Node]:
    """Every entry under the directory ``root`` (not the root itself), depth first, each directory sorted.

    ``root``: a path, or a directory descriptor (borrowed, not closed). ``regular_only``: yield only regular
    files and directories with reproducible names; everything else goes to ``on_skip``. Otherwise every entry
    is yielded with its kind (links and FIFOs too, never followed nor opened). Directories deeper than
    ``MAX_DEPTH`` are always skipped and reported. ``post_order`` adds a ``leaving`` node after each directory's
    contents. Raises ``OSError`` when the root or a directory cannot be read (``tolerant``: a directory below the
    root that cannot be read is reported and skipped instead, e.g. one a container left mode 0700 as another uid).
    """
    report = on_skip or (lambda _skipped: None)
    top = root if isinstance(root, int) else open_root(root, follow=follow_root)
    stack: list[tuple[int, str, Iterator[tuple[bytes, os.DirEntry[str]]], Node | None]] = []
    try:
        stack.append((top, "", iter(_listing(top)), None))
        while stack:
            fd, prefix, items, here = stack[-1]
            item = next(items, None)
            if item is None:
                stack.pop()
                if fd != top:
                    os.close(fd)
                if post_order and here is not None:
                    yield Node(here.rel, here.name, "dir", here.st, stack[-1][0], leaving=True)
                continue
            entry = item[1]
            name = entry.name
            rel = prefix + name
            try:
                st = entry.stat(follow_symlinks=False)  # fstatat(fd, name, AT_SYMLINK_NOFOLLOW), now
            except FileNotFoundError:
                continue  # removed since the listing: nothing to read
            kind = kind_of(st.st_mode)
            if regular_only:
                why = describe(Node(rel, name, kind, st, fd)) if kind not in ("file", "dir") else name_problem(rel)
                if why is not None:
                    report(Skipped(rel, why))
                    continue
            if kind != "dir":
                yield Node(rel, name, kind, st, fd)
                continue
            if len(stack) > MAX_DEPTH:
                report(Skipped(rel, f"it is nested deeper than {MAX_DEPTH} directories"))
                continue
            try:
                sub = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):  # swapped or removed since listed
                    report(Skipped(rel, "it changed while pipex read it"))
                    continue
                if tolerant:
                    report(Skipped(rel, f"it cannot be read ({exc.strerror})"))
                    continue
                raise
            now = os.fstat(sub)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                os.close(sub)
                report(Skipped(rel, "it changed while pipex read it"))
                continue
            node = Node(rel, name, "dir", st, fd)
            try:
                listing = _listing(sub)
            except OSError as exc:
                os.close(sub)
                if not tolerant:
                    raise
                report(Skipped(rel, f"it cannot be read ({exc.strerror})"))
                continue
            except BaseException:
                os.close(sub)
                raise
            stack.append((sub, rel + "/", iter(listing), node))
            yield node
    finally:
        for fd, *_ in stack:
            if fd != top:
                os.close(fd)
        if not isinstance(root, int):
            os.close(top)


# -- writing copies ---------------------------------------------------------------------------------------------
def make_dir(name: str, dir_fd: int, mode: int = 0o755) -> int:
    """A descriptor of the directory ``name`` inside ``dir_fd``, created if missing; an existing symlink or file
    there raises ``OSError`` (``ELOOP``/``ENOTDIR``/``EEXIST``) instead of being followed."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, mode, dir_fd=dir_fd)
    return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)


def create_file(name: str, dir_fd: int, mode: int, *, replace: bool = False) -> int:
    """A new file ``name`` in ``dir_fd`` opened for writing (``O_EXCL | O_NOFOLLOW``: never through a link, never
    into an existing inode, so never into a hard link's other names). ``replace``: unlink a regular file of that
    name first (a later copy wins); anything else there raises ``OSError``."""
    if replace:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISREG(st.st_mode):
                os.unlink(name, dir_fd=dir_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(name, flags, mode, dir_fd=dir_fd)


def copy_fd(src: int, dst: int) -> int:
    """Copy all of ``src`` into ``dst`` (kernel-side where it can); → bytes copied."""
    total = 0
    while True:
        try:
            n = os.sendfile(dst, src, None, 1 << 30)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS) or total:
                raise
            break
        if n == 0:
            return total
        total += n
    while chunk := os.read(src, 1 << 20):  # sendfile unsupported between these two: plain reads
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view) :]
        total += len(chunk)
    return total
