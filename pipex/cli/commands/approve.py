"""``pipex approve WS STEP [-m TEXT]``: approve an approval gate a run waits at (``reject.py`` is its twin)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from pipex.cli import options

EPILOG = options.epilog(
    [
        ("pipex approve demo publish-ok", "approve the gate; then: pipex resume demo"),
        ('pipex approve demo publish-ok -m "checked the totals"', "with a note"),
        ("pipex run --approve publish-ok", "approve in advance (CI)"),
    ],
    "Records who, when and the text in the workspace, bound to the inputs the gate waits with: if they change, "
    "the gate waits again. Exit codes: 0 recorded, 2 not a waiting gate, 4 a run holds the workspace.",
)

Message = Annotated[str, typer.Option("--message", "-m", metavar="TEXT", help="Why (kept with the decision).")]


def approve(
    ctx: typer.Context,
    workspace: Annotated[str, typer.Argument(metavar="WS", help="Workspace of the suspended run.")],
    step: Annotated[str, typer.Argument(metavar="STEP", help="The approval gate.")],
    message: Message = "",
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Approve an approval gate that a run waits at; `pipex resume WS` then goes on."""
    decide(ctx, workspace, step, approved=True, message=message, json=json, workdir=workdir)


def decide(
    ctx: typer.Context, workspace: str, step: str, *, approved: bool, message: str, json: bool, workdir: Path | None
) -> None:
    """Both commands: record the decision, say what happened and what to type next."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex approve` loads this only when it runs
    from pipex.cli.commands.wscommon import workdir_of
    from pipex.engine.gates import decide_gate
    from pipex.workspace.layout import Workspace

    ws = Workspace(workdir_of(opts), workspace)
    decision, run_id = decide_gate(ws, step, approved=approved, text=message)
    word = "approved" if approved else "rejected"
    if opts.json:
        # start-up: `pipex approve` loads this only when it runs
        import json as jsonlib

        data = {"workspace": ws.name, "step": step, "decision": word, "by": decision.by, "at": decision.at}
        typer.echo(jsonlib.dumps({**data, "text": decision.text, "runId": run_id}))
    elif not opts.quiet:
        next_step = f"pipex resume {shlex.quote(ws.name)}"
        typer.echo(f'{word} {step} in workspace "{ws.name}" as {decision.by}; go on: {next_step}', err=True)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(approve)
