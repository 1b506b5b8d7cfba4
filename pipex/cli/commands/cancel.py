"""``pipex cancel WS``: stop a detached run cleanly (containers stopped and removed, ``cancelled`` recorded)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipex.cli import complete, options

EPILOG = options.epilog(
    [("pipex cancel demo", "stop the detached run of workspace demo and wait until it has stopped")],
    "The run stops like on Ctrl-C: running containers get SIGTERM (then SIGKILL after 10 s), are removed, and "
    "their steps are recorded as cancelled. Exit codes: 0 stopped, 1 no detached run in progress.",
)


def cancel(
    ctx: typer.Context,
    workspace: Annotated[
        str, typer.Argument(metavar="WS", help="Workspace of the detached run.", autocompletion=complete.workspaces)
    ],
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SEC", help="How long to wait for the run to stop.")
    ] = 60.0,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Stop a detached run cleanly and wait for it to end."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex cancel` loads this only when it runs
    from pipex.cli.commands.wscommon import workdir_of
    from pipex.daemon.cancel import cancel_run
    from pipex.workspace.layout import Workspace

    ws = Workspace(workdir_of(opts), workspace)
    run_id = cancel_run(ws, timeout=timeout)
    if opts.json:
        # start-up: `pipex cancel` loads this only when it runs
        import json as jsonlib

        typer.echo(jsonlib.dumps({"runId": run_id, "workspace": ws.name, "status": "cancelled"}))
    elif not opts.quiet:
        typer.echo(f'cancelled run {run_id} in workspace "{ws.name}"', err=True)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(cancel)
