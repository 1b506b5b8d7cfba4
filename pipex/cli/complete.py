"""Shell completion of workspace names and step ids, read from the workdir without taking any lock.

A completion runs at every TAB press, possibly while a run holds the workspace: it only lists directories
and reads ``state.json`` (replaced atomically, so always whole). Any problem means no candidates, never an
error on the user's terminal.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any


def _workdir(ctx: Any) -> Path:
    # start-up: completion only; the workdir as every command resolves it (.pipex.yml included)
    from pipex.model.project import find_configured_workdir
    from pipex.workspace.workdir import resolve_workdir

    given = None
    node = ctx
    while node is not None and given is None:  # the command's own --workdir, else the root's
        given = node.params.get("workdir")
        node = node.parent
    return resolve_workdir(given, configured=find_configured_workdir)


def workspaces(ctx: Any, incomplete: str) -> list[str]:
    """The workspaces of the workdir starting with ``incomplete``."""
    try:
        from pipex.workspace.inventory import workspace_names  # start-up: only when completing

        return [name for name in workspace_names(_workdir(ctx)) if name.startswith(incomplete)]
    except Exception:  # completion never fails loudly
        return []


def steps(ctx: Any, incomplete: str) -> list[str]:
    """The steps the workspace (the command's ``workspace`` argument) has runs of, starting with ``incomplete``."""
    try:
        # start-up: only when completing
        from pipex.workspace.layout import Workspace
        from pipex.workspace.state import load_state

        name = ctx.params.get("workspace") or _first_positional(ctx)
        if not name:
            return []
        state = load_state(Workspace(_workdir(ctx), str(name)).state_path)
        return sorted(step for step in state.steps if step.startswith(incomplete))
    except Exception:  # completion never fails loudly
        return []


def pipeline_steps(ctx: Any, incomplete: str) -> list[str]:
    """The step ids of the pipeline ``run`` would load, for a comma list (``-t a,b``): completes the last item."""
    try:
        from pipex.kits.check import load  # start-up: only when completing

        done, _, last = incomplete.rpartition(",")
        prefix = f"{done}," if done else ""
        taken = set(done.split(",")) if done else set()
        ids = load(ctx.params.get("path") or _first_positional(ctx)).ids
        return [prefix + step for step in ids if step.startswith(last) and step not in taken]
    except Exception:  # completion never fails loudly
        return []


def _first_positional(ctx: Any) -> str | None:
    """The command's first argument, from the words being completed.

    click drops every parsed value when the word being completed is an option's value (``--input <TAB>``,
    ``-t <TAB>``): the line is incomplete. The words are still in the environment the shell script set.
    """
    line = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS") or ""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    command = ctx.info_name
    if command not in words:
        return None
    valued = {
        opt
        for param in ctx.command.params
        if getattr(param, "param_type_name", "") == "option" and not getattr(param, "is_flag", False)
        for opt in param.opts
    }
    rest = iter(words[words.index(command) + 1 :])
    for word in rest:
        if word in valued:
            next(rest, None)
        elif not word.startswith("-"):
            return word
    return None
