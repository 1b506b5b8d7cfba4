"""``pipex attach WS``: follow a detached run — its events so far, then live until it ends."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from pipex.cli import complete, options

EPILOG = options.epilog(
    [
        ("pipex run -d -w demo", "start a run in the background"),
        ("pipex attach demo", "follow it; Ctrl-C detaches, the run goes on"),
        ("pipex attach demo --json", "its events as JSON lines"),
    ],
    "Attaching after the run ended replays it. The exit status is the run's: 0 success, 1 failed, "
    "130 cancelled or interrupted (also when you detach with Ctrl-C). `pipex cancel WS` stops the run.",
)


def attach(
    ctx: typer.Context,
    workspace: Annotated[
        str, typer.Argument(metavar="WS", help="Workspace of the detached run.", autocompletion=complete.workspaces)
    ],
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the steps' log lines.")] = False,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Follow a detached run (`run -d`) until it ends; exit with its status."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex attach` loads this only when it runs
    from pipex.cli.reporters import make_reporter
    from pipex.daemon.follow import attach as follow_run
    from pipex.engine.engine import Engine
    from pipex.engine.events import PipelineEnd

    engine = Engine(workdir=opts.workdir)
    reporter = make_reporter(
        json=opts.json,
        stream_err=sys.stderr,
        stream_out=sys.stdout,
        color=opts.color(sys.stderr),
        verbose=verbose,
        quiet=opts.quiet,
        workspace=workspace,
    )

    async def follow() -> int:
        async for event in follow_run(engine, workspace):
            reporter.handle(event)
            if isinstance(event, PipelineEnd):
                return event.result.exit_code
        return 1

    try:
        code = asyncio.run(follow())
    except KeyboardInterrupt:
        reporter.close()
        typer.echo(
            f"detached; the run goes on (pipex attach {workspace} to follow it, pipex cancel {workspace} to stop it)",
            err=True,
        )
        raise typer.Exit(130) from None
    reporter.close()
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(attach)
