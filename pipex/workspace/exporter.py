"""Copying a committed run's artifacts out of the workspace, safely (see ``artifacts`` for the rules)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipex.errors import UsageError, WorkspaceError
from pipex.workspace.artifacts import Entry, entries, escapes, locate


@dataclass(slots=True)
class Exported:
    """What ``export`` did: files and bytes copied, links recreated, links skipped because they leave the tree."""

    dest: Path
    files: int = 0
    bytes: int = 0
    links: int = 0
    skipped: list[Entry] = field(default_factory=list)

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
    planned = [(e, dest / _strip(e.path, base)) for e in items]
    for entry, target in planned:
        if os.path.lexists(target) and not (entry.kind == "dir" and target.is_dir() and not target.is_symlink()):
            raise UsageError(
                f"{target} already exists; nothing was copied", hint="export into a new or empty directory"
            )
    done = Exported(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for entry, target in planned:
            _copy(root, entry, target, done)
    except OSError as exc:
        raise WorkspaceError(f"cannot export to {dest}: {exc.strerror} ({exc.filename})") from exc
    return done


def _copy(root: Path, entry: Entry, target: Path, done: Exported) -> None:
    host = root / entry.path
    if entry.kind == "dir":
        target.mkdir(exist_ok=True)
    elif entry.kind == "link":
        if escapes(entry):
            done.skipped.append(entry)
            return
        os.symlink(entry.target or "", target)
        done.links += 1
    elif entry.kind == "file":
        src_fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        mode = os.fstat(src_fd).st_mode & 0o777
        # O_EXCL: never write through a link or over a file that appeared since the check.
        dst_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode | 0o600)
        with os.fdopen(src_fd, "rb") as src, os.fdopen(dst_fd, "wb") as dst:
            shutil.copyfileobj(src, dst)
        done.files += 1
        done.bytes += entry.size


def posixpath_parent(path: str) -> str:
    return path.rpartition("/")[0]


def _strip(path: str, base: str) -> str:
    return path[len(base) + 1 :] if base else path
