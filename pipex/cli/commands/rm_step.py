"""``pipex rm-step WS STEP``: forget a step and delete all of its runs."""

from __future__ import annotations

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import StepArg, WorkspaceArg, handle, plural, print_json

EPILOG = options.epilog(
    [
        ("pipex rm-step geodata extract", "the next run of extract starts afresh"),
    ],
    "Deletes every run of the step and its state entry, so its next run is not a cache hit. Takes the "
    'workspace lock (exit 4 while in use). With --json: {"workspace", "step", "removed": list of run ids, '
    '"bytes"}.',
)


def rm_step(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    step: StepArg,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Delete a step's runs and state."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    done = handle(opts, workspace).remove_step(step)
    if opts.json:
        print_json({"workspace": workspace, "step": step, "removed": list(done.names), "bytes": done.bytes})
    elif not opts.quiet:
        # start-up: `pipex rm-step` loads this only when it runs
        from pipex.cli.reporters.base import human_size

        what = f"{plural(len(done.names), 'run')} ({human_size(done.bytes)})"
        typer.echo(f'removed step "{step}" from workspace "{workspace}": {what}')


def register(app: typer.Typer) -> None:
    app.command("rm-step", epilog=EPILOG)(rm_step)
