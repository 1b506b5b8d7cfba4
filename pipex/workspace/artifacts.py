"""Reading a committed run's ``artifacts/`` without ever leaving it.

A step's container wrote this tree, so it may hold links anywhere (``/etc/passwd``, ``../../state.json``).
Paths given by the user are checked component by component with ``lstat``: absolute paths, ``..`` and any
symlink on the way are refused with ``UnsafePath``; files are opened with ``O_NOFOLLOW``. Listings show links
as ``name -> target`` and never follow them; ``export`` copies links that stay inside the tree as links and
skips (and reports) the ones that point outside. Committed runs are immutable, so a check stays true.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from pipex.errors import UnsafePath, UsageError, WorkspaceNotFound

Kind = Literal["file", "dir", "link", "other"]
CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Entry:
    """One artifact: its POSIX path relative to the output, what it is, its size, a link's target."""

    path: str
    kind: Kind
    size: int = 0
    target: str | None = None

    def display(self) -> str:
        if self.kind == "dir":
            return self.path + "/"
        if self.kind == "link":
            return f"{self.path} -> {self.target}"
        return self.path

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "type": self.kind, "size": self.size, "target": self.target}


def _kind(mode: int) -> Kind:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def locate(root: Path, rel: str, *, hint: str | None = None) -> tuple[Path, Entry]:
    """The host path of ``rel`` inside ``root`` and what it is; refuses anything that could leave ``root``."""
    if rel.startswith("/"):
        raise UnsafePath(f'path "{rel}" is absolute; artifact paths are relative to the step\'s output', hint=hint)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(f'path "{rel}" contains ".."; it would leave the step\'s artifacts', hint=hint)
    here = root
    for i, part in enumerate(parts):
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            raise WorkspaceNotFound(f'no artifact "{"/".join(parts[: i + 1])}"', hint=hint) from None
        except NotADirectoryError:
            raise WorkspaceNotFound(f'no artifact "{rel}" ("{"/".join(parts[:i])}" is a file)', hint=hint) from None
        if stat.S_ISLNK(st.st_mode):
            target = str(here.readlink())
            where = "/".join(parts[: i + 1])
            raise UnsafePath(f'"{where}" is a symlink (-> {target}); pipex never follows links a step wrote', hint=hint)
    st = os.lstat(here)
    return here, Entry("/".join(parts), _kind(st.st_mode), st.st_size if stat.S_ISREG(st.st_mode) else 0)


def entries(root: Path, sub: str = "", *, hint: str | None = None) -> list[Entry]:
    """Every artifact under ``sub`` (recursively, sorted), links listed as links and never followed."""
    start, top = locate(root, sub, hint=hint) if sub else (root, Entry("", "dir"))
    if top.kind != "dir":
        return [top]
    return sorted(_walk(start, top.path), key=lambda e: e.path)


def _walk(directory: Path, prefix: str) -> Iterator[Entry]:
    try:
        items = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for item in items:
        rel = f"{prefix}/{item.name}" if prefix else item.name
        st = item.stat(follow_symlinks=False)
        kind = _kind(st.st_mode)
        if kind == "link":
            yield Entry(rel, "link", 0, str(Path(item.path).readlink()))
        elif kind == "dir":
            yield Entry(rel, "dir")
            yield from _walk(Path(item.path), rel)
        else:
            yield Entry(rel, kind, st.st_size if kind == "file" else 0)


def open_file(root: Path, rel: str, *, hint: str | None = None) -> BinaryIO:
    """Open a regular artifact for reading (``O_NOFOLLOW``: a link swapped in is refused by the kernel too)."""
    path, entry = locate(root, rel, hint=hint)
    if entry.kind != "file":
        what = "a directory" if entry.kind == "dir" else "not a regular file"
        raise UsageError(f'artifact "{entry.path}" is {what}', hint=hint)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    return os.fdopen(fd, "rb")


def read(root: Path, rel: str, *, hint: str | None = None) -> bytes:
    with open_file(root, rel, hint=hint) as fh:
        return fh.read()


def escapes(link: Entry) -> bool:
    """Whether a link's target leaves the artifacts tree (absolute targets always do: they are host paths)."""
    target = link.target or ""
    if target.startswith("/"):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link.path), target))
    return joined == ".." or joined.startswith("../")


def usage_hint(workspace: str, step: str) -> str:
    return f"`pipex cat {workspace} {step}` lists the artifacts; links show as `name -> target`"
