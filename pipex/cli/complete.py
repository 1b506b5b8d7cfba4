"""Shell completion of workspace names and step ids, read from the workdir without taking any lock.

A completion runs at every TAB press, possibly while a run holds the workspace: it only lists directories
and reads ``state.json`` (replaced atomically, so always whole). Any problem means no candidates, never an
error on the user's terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _workdir(ctx: Any) -> Path:
    from pipex.engine.engine import resolve_workdir

    given = None
    node = ctx
    while node is not None and given is None:  # the command's own --workdir, else the root's
        given = node.params.get("workdir")
        node = node.parent
    return resolve_workdir(given)


def workspaces(ctx: Any, incomplete: str) -> list[str]:
    """The workspaces of the workdir starting with ``incomplete``."""
    try:
        from pipex.workspace.inventory import workspace_names

        return [name for name in workspace_names(_workdir(ctx)) if name.startswith(incomplete)]
    except Exception:  # completion never fails loudly
        return []


def steps(ctx: Any, incomplete: str) -> list[str]:
    """The steps the workspace (the command's ``workspace`` argument) has runs of, starting with ``incomplete``."""
    try:
        from pipex.workspace.layout import Workspace
        from pipex.workspace.state import load_state

        name = ctx.params.get("workspace")
        if not name:
            return []
        state = load_state(Workspace(_workdir(ctx), str(name)).state_path)
        return sorted(step for step in state.steps if step.startswith(incomplete))
    except Exception:  # completion never fails loudly
        return []
