"""Asking before deleting: ``clean`` and ``rm`` of several workspaces, as podman and apt ask.

On a terminal the question is asked on stderr (stdout stays the command's result); ``-y/--yes`` answers it in
advance. Without a terminal nobody can answer, so the command refuses rather than guess: scripts pass ``--yes``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, TextIO

import typer

from pipex.errors import PipexError, UsageError

Yes = Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking (needed without a terminal).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="List what would be deleted and its size; delete nothing.")]


class Declined(PipexError):
    """The user answered no: nothing was deleted (exit 1, like podman's declined prompts)."""

    exit_code = 1


def confirm(
    question: str,
    *,
    yes: bool,
    command: str,
    stdin: TextIO | None = None,
    ask: Callable[[str], bool] | None = None,
) -> None:
    """Return when the deletion may go ahead; raise ``UsageError`` (no terminal) or ``Declined`` (answered no)."""
    if yes:
        return
    source = sys.stdin if stdin is None else stdin
    isatty = getattr(source, "isatty", None)
    if not (isatty and isatty()):
        raise UsageError(
            f"{command} deletes without undo and asks first, but stdin is not a terminal",
            hint=f"pass -y/--yes to delete without asking; `{command} --dry-run` lists what would go",
        )
    answer = (ask or _ask)(question)
    if not answer:
        raise Declined("nothing was deleted")


def _ask(question: str) -> bool:
    return bool(typer.confirm(question, default=False, err=True))
