"""``pipex resume WS``: run the workspace's last pipeline file again with its last options — after ``approve``,
the suspended run goes on; everything it already did comes from the cache."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pipex.cli import options

EPILOG = options.epilog(
    [
        ("pipex approve demo publish-ok && pipex resume demo", "go on past an approval gate"),
        ("pipex resume demo -d", "in the background; then: pipex attach demo"),
    ],
    "The last options are kept (workspace, targets, concurrency, env file, timeout, pull policy…), except "
    "--force (a resumption reuses what was done) and --approve (already recorded). Exit codes as for run: "
    "0 success, 1 a step failed, 5 suspended again, 4 workspace in use.",
)


def resume(
    ctx: typer.Context,
    workspace: Annotated[str, typer.Argument(metavar="WS", help="Workspace whose last run to resume.")],
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; follow it with `pipex attach WS`.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the steps' log lines.")] = False,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Run the workspace's last pipeline again with its last options (after `pipex approve`)."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex resume` loads this only when it runs
    from dataclasses import replace

    from pipex.cli.commands.run import _start_detached, run_in_foreground
    from pipex.cli.commands.wscommon import workdir_of
    from pipex.cli.reporters import make_reporter
    from pipex.engine.engine import Engine
    from pipex.engine.gates import last_run
    from pipex.kits.check import load
    from pipex.workspace.layout import Workspace

    workdir_path = workdir_of(opts)
    file, cwd, run_options = last_run(Workspace(workdir_path, workspace))
    run_options = replace(run_options, workspace=workspace)
    pipeline = load(file, cwd=cwd)
    engine = Engine(workdir=workdir_path, runtime=opts.engine_runtime(), host=opts.host)
    if detach:
        _start_detached(engine, pipeline, run_options, json=opts.json, quiet=opts.quiet)
        return
    reporter = make_reporter(
        json=opts.json,
        stream_err=sys.stderr,
        stream_out=sys.stdout,
        color=opts.color(sys.stderr),
        verbose=verbose,
        quiet=opts.quiet,
        workspace=workspace,
    )
    result = run_in_foreground(engine, pipeline, run_options, reporter)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(resume)
