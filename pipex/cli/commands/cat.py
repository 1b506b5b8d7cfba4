"""``pipex cat WS STEP [PATH]``: list a step's artifacts, or write one artifact's bytes to stdout."""

from __future__ import annotations

import shutil
from typing import Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import RunOpt, StepArg, WorkspaceArg, handle, print_json

EPILOG = options.epilog(
    [
        ("pipex cat geodata extract", "list the artifacts (dirs end with /)"),
        ("pipex cat geodata extract rows.csv | head", "one file's bytes"),
        ("pipex cat geodata extract tiles/", "list one directory"),
        ("pipex cat geodata extract --json", "the list as JSON"),
    ],
    "Reads the step's last successful run (--run for another). Links a step wrote are listed as "
    '"name -> target" and never followed; paths that are absolute, contain "..", or go through a link are '
    'refused (exit 2). With --json: a list of {"path", "type" (file|dir|link|other), "size", "target"}.',
)


def cat(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    step: StepArg,
    path: Annotated[
        str | None, typer.Argument(metavar="PATH", help="A file or directory inside the artifacts.", show_default=False)
    ] = None,
    run: RunOpt = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """List a step's artifacts, or print one of them."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    ws = handle(opts, workspace)
    if path and ws.entry(step, path, run=run).kind == "file":
        out = typer.get_binary_stream("stdout")
        with ws.open(step, path, run=run) as fh:
            shutil.copyfileobj(fh, out)
        out.flush()
        return
    found = ws.artifacts(step, path or "", run=run)
    if opts.json:
        print_json([e.to_json() for e in found])
        return
    for entry in found:
        typer.echo(entry.display())


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(cat)
