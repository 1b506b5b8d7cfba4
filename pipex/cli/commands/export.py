"""``pipex export WS STEP DEST``: copy a step's artifacts out of the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import RunOpt, StepArg, WorkspaceArg, handle, plural, print_json

EPILOG = options.epilog(
    [
        ("pipex export geodata extract ./out", "copy all artifacts into ./out"),
        ("pipex export geodata extract ./tiles --path tiles", "one directory"),
        ("pipex export geodata extract . --path rows.csv", "one file"),
        ("pipex export geodata convert ./out", "a fan-out step: each instance into ./out/<key>/"),
    ],
    "Reads the step's last successful run (--run for another). DEST is created if missing; nothing in it is "
    "overwritten (a conflict copies nothing). Links that stay inside the artifacts are copied as links; links "
    "pointing outside (absolute, up past the top, or through another link), FIFOs, sockets, devices and names "
    "holding control characters are skipped with a warning, never followed. A fan-out step's plain id "
    "exports every instance, each into DEST/<key>/ (each must be new or empty). With --json: "
    '{"dest", "files", "bytes", "links", "skipped": list of {"path", "type", "size", "target"}}.',
)


def export(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    step: StepArg,
    dest: Annotated[Path, typer.Argument(metavar="DEST", help="Directory to copy into (created if missing).")],
    path: Annotated[
        str | None, typer.Option("--path", metavar="PATH", help="Only this file or directory of the artifacts.")
    ] = None,
    run: RunOpt = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Copy a step's artifacts to DEST."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    done = handle(opts, workspace).export(step, dest, path or "", run=run)
    for entry in done.skipped:
        noun = "link " if entry.kind == "link" else ""
        typer.echo(f'warning: skipped {noun}"{entry.display()}": {entry.what}', err=True)
    if opts.json:
        print_json(done.to_json())
        return
    if not opts.quiet:
        # start-up: `pipex export` loads this only when it runs
        from pipex.cli.reporters.base import human_size

        links = f" and {plural(done.links, 'link')}" if done.links else ""
        typer.echo(f"exported {plural(done.files, 'file')} ({human_size(done.bytes)}){links} to {dest}")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(export)
