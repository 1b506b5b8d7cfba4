"""``pipex list``: the workspaces of a workdir with their runs, caches, size and whether a run holds them."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipex.errors import UsageError
from pipex.workspace.ids import check_workspace_name, is_run_id
from pipex.workspace.layout import Workspace
from pipex.workspace.lock import Holder, holder_of
from pipex.workspace.safetree import walk


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    name: str
    runs: int
    caches: int
    size: int
    holder: Holder | None

    def to_json(self) -> dict[str, Any]:
        h = self.holder
        return {
            "name": self.name,
            "runs": self.runs,
            "caches": self.caches,
            "size": self.size,
            "inUse": h is not None,
            "holder": {"pid": h.pid, "command": h.command} if h else None,
        }


def workspace_names(workdir: Path) -> list[str]:
    """The workspaces in ``workdir``, sorted (directories with a valid name; tombstones start with a dot)."""
    try:
        items = list(os.scandir(workdir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = []
    for item in items:
        if item.name.startswith(".") or not item.is_dir(follow_symlinks=False):
            continue
        with contextlib.suppress(UsageError):  # not a workspace pipex could have made
            names.append(check_workspace_name(item.name))
    return sorted(names)


def tree_size(path: Path) -> int:
    """Apparent size of the regular files under ``path`` (the safe walk: links not followed, FIFOs never opened;
    unreadable directories count as 0)."""
    try:
        return sum(node.st.st_size for node in walk(path, tolerant=True) if node.kind == "file")
    except OSError:
        return 0


def describe(ws: Workspace) -> WorkspaceInfo:
    runs = sum(1 for r in ws.run_ids() if is_run_id(r))
    try:
        caches = sum(1 for e in os.scandir(ws.caches_dir) if e.is_dir(follow_symlinks=False))
    except OSError:
        caches = 0
    return WorkspaceInfo(ws.name, runs, caches, tree_size(ws.path), holder_of(ws.lock_path))


def list_workspaces(workdir: Path) -> list[WorkspaceInfo]:
    return [describe(Workspace(workdir, name)) for name in workspace_names(workdir)]
