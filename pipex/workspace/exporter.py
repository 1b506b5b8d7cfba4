"""Copying a committed run's artifacts out of the workspace, safely (see ``artifacts`` and ``safetree``).

Sources are listed by the safe walk and opened through directory descriptors (``artifacts.open_file``); only
regular files, directories and links that stay inside are exported. FIFOs, sockets, devices, names holding
control characters and links that leave the tree are skipped and reported (``Exported.skipped``,
``skip_reason``). Every file written is new (``O_CREAT | O_EXCL``): never through a link, never into a file that
was there.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipex.errors import UsageError, WorkspaceError
from pipex.workspace.artifacts import Entry, entries, escapes, locate, open_file
from pipex.workspace.safetree import name_problem


@dataclass(slots=True)
class Exported:
    """What ``export`` did: files and bytes copied, links recreated, links skipped because they leave the tree."""

    dest: Path
    files: int = 0
    bytes: int = 0
    links: int = 0
    skipped: list[Entry] = field(default_factory=list)  # each with ``what``: why it was skipped

    def to_json(self) -> dict[str, object]:
        return {
            "dest": str(self.dest),
            "files": self.files,
            "bytes": self.bytes,
            "links": self.links,
            "skipped": [e.to_json() for e in self.skipped],
        }


def export(root: Path, dest: Path, sub: str = "", *, hint: str | None = None) -> Exported:
    """Copy ``root/sub`` into the directory ``dest`` (created if missing); nothing is overwritten.

    Every destination is checked before the first byte is copied, so a conflict copies nothing.
    """
    top = locate(root, sub, hint=hint)[1] if sub else Entry("", "dir")
    if top.kind == "dir":
        items = entries(root, sub, hint=hint)
        base = top.path
    else:
        items, base = [top], posixpath_parent(top.path)
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory", hint="give a new or existing directory")
    links = {e.path for e in items if e.kind == "link"}
    skipped: list[Entry] = []
    planned: list[tuple[Entry, Path]] = []
    gone: set[str] = set()  # skipped directories: their contents go with them, unreported
    for e in items:
        if _under(e.path, gone):
            continue
        why = skip_reason(e, links)
        if why is None:
            planned.append((e, dest / _strip(e.path, base)))
            continue
        skipped.append(replace(e, what=why))
        if e.kind == "dir":
            gone.add(e.path)
    for entry, target in planned:
        if os.path.lexists(target) and not (entry.kind == "dir" and target.is_dir() and not target.is_symlink()):
            raise UsageError(
                f"{target} already exists; nothing was copied", hint="export into a new or empty directory"
            )
    done = Exported(dest, skipped=skipped)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for entry, target in planned:
            _copy(root, entry, target, done)
    except OSError as exc:
        raise WorkspaceError(f"cannot export to {dest}: {exc.strerror} ({exc.filename})") from exc
    return done


def skip_reason(entry: Entry, links: set[str]) -> str | None:
    """Why ``entry`` is not exported (one line for a warning), or ``None``."""
    problem = name_problem(entry.path)
    if problem is not None:
        return problem
    if entry.kind == "link" and escapes(entry, links):
        return "it points outside the artifacts"
    if entry.kind == "other":
        return f"it is {entry.what or 'not a regular file, directory or link'}"
    return None


def _under(path: str, dirs: set[str]) -> bool:
    return bool(dirs) and any(path.startswith(d + "/") for d in dirs)


def _copy(root: Path, entry: Entry, target: Path, done: Exported) -> None:
    if entry.kind == "dir":
        target.mkdir(exist_ok=True)
    elif entry.kind == "link":
        os.symlink(entry.target or "", target)
        done.links += 1
    elif entry.kind == "file":
        with open_file(root, entry.path) as src:
            mode = os.fstat(src.fileno()).st_mode & 0o777
            # O_EXCL | O_NOFOLLOW: never write through a link or over a file that appeared since the check.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(target, flags, mode | 0o600), "wb") as dst:
                shutil.copyfileobj(src, dst)
        done.files += 1
        done.bytes += entry.size


def posixpath_parent(path: str) -> str:
    return path.rpartition("/")[0]


def _strip(path: str, base: str) -> str:
    return path[len(base) + 1 :] if base else path
