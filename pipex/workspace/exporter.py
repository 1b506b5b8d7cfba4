"""Copying a committed run's artifacts out of the workspace, safely (see ``artifacts`` and ``safetree``).

Sources are listed by the safe walk and opened through directory descriptors (``artifacts.open_file``); only
regular files, directories and links that stay inside are exported. FIFOs, sockets, devices, names holding
control characters and links that leave the tree are skipped and reported (``Exported.skipped``,
``skip_reason``). Every file written is new (``O_CREAT | O_EXCL``): never through a link, never into a file that
was there.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipex.errors import UsageError, WorkspaceError
from pipex.workspace import safetree
from pipex.workspace.artifacts import Entry, escapes, locate, open_dir, open_file
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

    Every destination is checked before the first byte is copied, so a conflict copies nothing. The tree is
    streamed through the safe walk twice (check, then copy): memory grows with its depth and widest directory
    and with the links and skipped entries it holds, never with its files.
    """
    top = locate(root, sub, hint=hint)[1] if sub else Entry("", "dir")
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory", hint="give a new or existing directory")
    if top.kind != "dir":
        return _export_one(root, top, dest, hint)
    with open_dir(root, top.path, hint=hint) as top_fd:
        links = _links(top_fd, top.path)
        done = Exported(dest)
        base = os.fspath(dest)
        for entry in _planned(top_fd, top.path, links, done.skipped):
            target = f"{base}/{_strip(entry.path, top.path)}"  # plain str: pathlib interns every part it parses
            try:
                st = os.lstat(target)
            except FileNotFoundError:
                continue
            if not (entry.kind == "dir" and stat.S_ISDIR(st.st_mode)):
                raise UsageError(
                    f"{target} already exists; nothing was copied", hint="export into a new or empty directory"
                )
        try:
            dest.mkdir(parents=True, exist_ok=True)
            _copy_tree(top_fd, top.path, links, dest, done)
        except OSError as exc:
            raise WorkspaceError(f"cannot export to {dest}: {exc.strerror} ({exc.filename})") from exc
    return done


def export_each(roots: Mapping[str, Path], dest: Path, sub: str = "", *, hint: str | None = None) -> Exported:
    """Each of ``roots`` (name → artifacts, e.g. a fan-out step's instances by key) into its own ``dest/<name>/``.

    As with ``export``, a problem copies nothing: every ``dest/<name>`` must be new or an empty directory, and
    ``sub`` must exist in every root, before the first byte is copied."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory", hint="give a new or existing directory")
    for name, root in roots.items():
        if sub:
            locate(root, sub, hint=hint)
        target = dest / name
        if os.path.lexists(target) and not (target.is_dir() and not target.is_symlink() and _empty(target)):
            raise UsageError(f"{target} already exists; nothing was copied", hint="export into a new directory")
    done = Exported(dest)
    for name, root in roots.items():
        one = export(root, dest / name, sub, hint=hint)
        done.files += one.files
        done.bytes += one.bytes
        done.links += one.links
        done.skipped.extend(replace(e, path=f"{name}/{e.path}") for e in one.skipped)
    return done


def _empty(directory: Path) -> bool:
    with os.scandir(directory) as entries:
        return next(entries, None) is None


def _export_one(root: Path, entry: Entry, dest: Path, hint: str | None) -> Exported:
    done = Exported(dest)
    why = skip_reason(entry, set())
    if why is not None:
        done.skipped.append(replace(entry, what=why))
        return done
    target = dest / posixpath.basename(entry.path)
    if os.path.lexists(target):
        raise UsageError(f"{target} already exists; nothing was copied", hint="export into a new or empty directory")
    try:
        dest.mkdir(parents=True, exist_ok=True)
        if entry.kind == "link":
            os.symlink(entry.target or "", target)
            done.links += 1
        elif entry.kind == "file":
            with open_file(root, entry.path, hint=hint) as src:
                mode = os.fstat(src.fileno()).st_mode & 0o777
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode | 0o600)
                try:
                    safetree.copy_fd(src.fileno(), fd)
                finally:
                    os.close(fd)
            done.files += 1
            done.bytes += entry.size
    except OSError as exc:
        raise WorkspaceError(f"cannot export to {dest}: {exc.strerror} ({exc.filename})") from exc
    return done


def _entry(node: safetree.Node, prefix: str) -> Entry:
    rel = f"{prefix}/{node.rel}" if prefix else node.rel
    if node.kind == "link":
        return Entry(rel, "link", 0, node.readlink())
    if node.kind in ("file", "dir"):
        return Entry(rel, node.kind, node.st.st_size if node.kind == "file" else 0)
    return Entry(rel, "other", 0, None, safetree.describe(node))


def _links(top_fd: int, prefix: str) -> set[str]:
    """The paths of the tree's links: ``escapes`` must know them all before judging any one."""
    return {_entry(n, prefix).path for n in safetree.walk(top_fd) if n.kind == "link"}


def _planned(top_fd: int, prefix: str, links: set[str], skipped: list[Entry] | None = None) -> Iterator[Entry]:
    """The entries to export, in walk order (a directory before its contents); the others go to ``skipped``
    (a skipped directory's contents go with it, unreported)."""
    gone: str | None = None  # the skipped directory the walk is inside of (depth first: one at a time)
    for node in safetree.walk(top_fd):
        entry = _entry(node, prefix)
        if gone is not None and entry.path.startswith(gone + "/"):
            continue
        gone = None
        why = skip_reason(entry, links)
        if why is None:
            yield entry
            continue
        if skipped is not None:
            skipped.append(replace(entry, what=why))
        if entry.kind == "dir":
            gone = entry.path


def _copy_tree(top_fd: int, prefix: str, links: set[str], dest: Path, done: Exported) -> None:
    """Copy what ``_planned`` yields, a second walk: files opened through the walk's descriptors, never by path."""
    base = os.fspath(dest)
    planned = _planned(top_fd, prefix, links)
    wanted = next(planned, None)
    for node in safetree.walk(top_fd):
        if wanted is None:
            break
        if _entry_path(node, prefix) != wanted.path:
            continue  # skipped, or inside a skipped directory
        entry, wanted = wanted, next(planned, None)
        target = f"{base}/{_strip(entry.path, prefix)}"
        if entry.kind == "dir":
            with contextlib.suppress(FileExistsError):
                os.mkdir(target)  # noqa: PTH102 - a str path, see above
        elif entry.kind == "link":
            os.symlink(entry.target or "", target)
            done.links += 1
        elif entry.kind == "file":
            src = safetree.open_file(node)
            try:
                mode = os.fstat(src).st_mode & 0o777
                # O_EXCL | O_NOFOLLOW: never write through a link or over a file that appeared since the check.
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                dst = os.open(target, flags, mode | 0o600)
                try:
                    safetree.copy_fd(src, dst)
                finally:
                    os.close(dst)
            finally:
                os.close(src)
            done.files += 1
            done.bytes += entry.size


def _entry_path(node: safetree.Node, prefix: str) -> str:
    return f"{prefix}/{node.rel}" if prefix else node.rel


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


def _strip(path: str, base: str) -> str:
    return path[len(base) + 1 :] if base else path
