"""``pipex rm WS...``: delete workspaces — all or nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import container_sweeper, print_json, remove_tree_of, warn_all, workdir_of

EPILOG = options.epilog(
    [
        ("pipex rm geodata", "delete one workspace"),
        ("pipex rm geodata scratch", "several: all must exist and be free"),
    ],
    "Every name is checked and every workspace locked before anything is deleted: one missing name (exit 1) "
    "or one workspace in use (exit 4) deletes nothing. Files written by containers as another user are "
    "deleted through the engine, and so are containers a killed pipex left for these workspaces (no engine: a "
    'warning, the files are deleted all the same). With --json: {"removed": list of names, "bytes"}.',
)


def rm(
    ctx: typer.Context,
    workspaces: Annotated[list[str], typer.Argument(metavar="WORKSPACE...", help="Workspaces to delete.")],
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Delete workspaces (their runs, state and caches)."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    from pipex.workspace.maintenance import remove_workspaces

    sweeper = container_sweeper(opts)
    try:
        done = remove_workspaces(workdir_of(opts), workspaces, remove_tree_of(opts), sweeper)
    finally:
        sweeper.close()
    warn_all(sweeper.warnings)
    if opts.json:
        print_json({"removed": list(done.names), "bytes": done.bytes})
    elif not opts.quiet:
        from pipex.cli.reporters.base import human_size

        names = ", ".join(f'"{n}"' for n in done.names)
        noun = "workspace" if len(done.names) == 1 else "workspaces"
        typer.echo(f"removed {noun} {names} ({human_size(done.bytes)})")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(rm)
