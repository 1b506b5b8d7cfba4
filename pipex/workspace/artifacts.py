"""Reading a committed run's ``artifacts/`` without ever leaving it.

A step's container wrote this tree, so it may hold links anywhere (``/etc/passwd``, ``../../state.json``).
Paths given by the user are checked component by component with ``lstat``: absolute paths, ``..`` and any
symlink on the way are refused with ``UnsafePath``; the way is walked one directory descriptor at a time and files
are opened with ``O_NOFOLLOW`` relative to their directory (``safetree``). Listings show links
as ``name -> target`` and never follow them; ``export`` copies links that stay inside the tree as links and
skips (and reports) the ones that point outside. Committed runs are immutable, so a check stays true.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from pipex.errors import UnsafePath, UsageError, WorkspaceError, WorkspaceNotFound
from pipex.workspace import safetree

Kind = Literal["file", "dir", "link", "other"]
CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Entry:
    """One artifact: its POSIX path relative to the output, what it is, its size, a link's target."""

    path: str
    kind: Kind
    size: int = 0
    target: str | None = None
    what: str | None = None  # for "other": what it is ("a FIFO", "a socket"), never serialised

    def display(self) -> str:
        """One line: control characters escaped, so a planted name cannot forge more lines."""
        path = safetree.printable(self.path)
        if self.kind == "dir":
            return path + "/"
        if self.kind == "link":
            return f"{path} -> {safetree.printable(self.target or '')}"
        return path

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "type": self.kind, "size": self.size, "target": self.target}


def _kind(mode: int) -> Kind:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def _parts(rel: str, hint: str | None) -> list[str]:
    if rel.startswith("/"):
        raise UnsafePath(f'path "{rel}" is absolute; artifact paths are relative to the step\'s output', hint=hint)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(f'path "{rel}" contains ".."; it would leave the step\'s artifacts', hint=hint)
    return parts


@contextlib.contextmanager
def _reach(root: Path, rel: str, hint: str | None) -> Iterator[tuple[int, str, os.stat_result]]:
    """(descriptor of the parent directory, final name, its lstat) of ``rel``, reached one directory descriptor
    at a time with ``O_NOFOLLOW``: a symlink anywhere on the way is refused with ``UnsafePath``, never followed.
    For the root itself the name is ``"."``."""
    parts = _parts(rel, hint)
    try:
        fd = safetree.open_root(root)
    except FileNotFoundError:
        raise WorkspaceNotFound("the run has no artifacts directory", hint=hint) from None
    try:
        if not parts:
            yield fd, ".", os.stat(".", dir_fd=fd)
            return
        for i, part in enumerate(parts):
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise WorkspaceNotFound(f'no artifact "{"/".join(parts[: i + 1])}"', hint=hint) from None
            if stat.S_ISLNK(st.st_mode):
                target = safetree.printable(os.readlink(part, dir_fd=fd))
                where = safetree.printable("/".join(parts[: i + 1]))
                raise UnsafePath(
                    f'"{where}" is a symlink (-> {target}); pipex never follows links a step wrote', hint=hint
                )
            if i == len(parts) - 1:
                yield fd, part, st
                return
            if not stat.S_ISDIR(st.st_mode):
                raise WorkspaceNotFound(f'no artifact "{rel}" ("{"/".join(parts[: i + 1])}" is a file)', hint=hint)
            sub = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = sub
    finally:
        os.close(fd)


def checked(rel: str, *, hint: str | None = None) -> str:
    """``rel`` in its normal form (``a/b``), or ``UnsafePath`` when it is absolute or holds ``..``: what is
    refused before any tree is looked at."""
    return "/".join(_parts(rel, hint))


def locate(root: Path, rel: str, *, hint: str | None = None) -> tuple[Path, Entry]:
    """The host path of ``rel`` inside ``root`` and what it is; refuses anything that could leave ``root``."""
    parts = _parts(rel, hint)
    with _reach(root, rel, hint) as (_, _, st):
        kind = _kind(st.st_mode)
        return root.joinpath(*parts), Entry("/".join(parts), kind, st.st_size if kind == "file" else 0)


@contextlib.contextmanager
def open_dir(root: Path, sub: str = "", *, hint: str | None = None) -> Iterator[int]:
    """A descriptor of the directory ``root/sub``, reached like every artifact (no link followed on the way)."""
    with _reach(root, sub, hint) as (fd, name, _):
        sub_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    try:
        yield sub_fd
    finally:
        os.close(sub_fd)


def entries(root: Path, sub: str = "", *, hint: str | None = None) -> list[Entry]:
    """Every artifact under ``sub`` (recursively, sorted), links listed as links and never followed."""
    top = locate(root, sub, hint=hint)[1] if sub else Entry("", "dir")
    if top.kind != "dir":
        return [top]
    with _reach(root, sub, hint) as (fd, name, _):
        sub_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    try:
        return sorted(_walk(sub_fd, top.path), key=lambda e: e.path)
    finally:
        os.close(sub_fd)


def _walk(fd: int, prefix: str) -> Iterator[Entry]:
    for node in safetree.walk(fd):
        rel = f"{prefix}/{node.rel}" if prefix else node.rel
        kind = _kind(node.st.st_mode)
        if kind == "link":
            yield Entry(rel, "link", 0, node.readlink())
        elif kind == "other":
            yield Entry(rel, "other", 0, None, safetree.describe(node))
        else:
            yield Entry(rel, kind, node.st.st_size if kind == "file" else 0)


def open_file(root: Path, rel: str, *, hint: str | None = None) -> BinaryIO:
    """Open a regular artifact for reading: reached through directory descriptors, opened ``O_NOFOLLOW`` and
    checked to be a regular file, so neither a link nor a FIFO swapped in is followed or waited on."""
    with _reach(root, rel, hint) as (fd, name, st):
        kind = _kind(st.st_mode)
        if kind != "file":
            what = "a directory" if kind == "dir" else "not a regular file"
            raise UsageError(f'artifact "{"/".join(_parts(rel, hint))}" is {what}', hint=hint)
        try:
            return os.fdopen(safetree.open_at(name, fd), "rb")
        except OSError as exc:
            raise WorkspaceError(f'cannot read artifact "{rel}": {exc.strerror or exc}', hint=hint) from exc


def read(root: Path, rel: str, *, hint: str | None = None) -> bytes:
    with open_file(root, rel, hint=hint) as fh:
        return fh.read()


def escapes(link: Entry, links: Collection[str] = ()) -> bool:
    """Whether a link's target may leave the artifacts tree: absolute targets always do (they are host paths),
    relative ones when they climb past the top, or when they pass *through* one of ``links`` (the paths of the
    tree's links): ``..`` after a link climbs from wherever that link points, not from where it sits."""
    target = link.target or ""
    if target.startswith("/"):
        return True
    here = [p for p in posixpath.dirname(link.path).split("/") if p]
    parts = [p for p in target.split("/") if p not in ("", ".")]
    for i, part in enumerate(parts):
        if i and "/".join(here) in links:
            return True  # an earlier component is itself a link: never reason through it
        if part == "..":
            if not here:
                return True
            here.pop()
        else:
            here.append(part)
    return False


def usage_hint(workspace: str, step: str) -> str:
    return f"`pipex cat {workspace} {step}` lists the artifacts; links show as `name -> target`"
