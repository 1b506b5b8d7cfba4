"""``pipex reject WS STEP [-m TEXT]``: reject an approval gate a run waits at; it fails (reason ``rejected``)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.approve import Message, decide

EPILOG = options.epilog(
    [('pipex reject demo publish-ok -m "totals are off"', "the gate fails on the next run (pipex resume demo)")],
    "Records who, when and the text in the workspace. The next run fails the gate (reason rejected, a dependency "
    "failure) and skips what depends on it. Exit codes: 0 recorded, 2 not a waiting gate, 4 a run holds the "
    "workspace.",
)


def reject(
    ctx: typer.Context,
    workspace: Annotated[str, typer.Argument(metavar="WS", help="Workspace of the suspended run.")],
    step: Annotated[str, typer.Argument(metavar="STEP", help="The approval gate.")],
    message: Message = "",
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Reject an approval gate that a run waits at; the next run fails it."""
    decide(ctx, workspace, step, approved=False, message=message, json=json, workdir=workdir)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(reject)
