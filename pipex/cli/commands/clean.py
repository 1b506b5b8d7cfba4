"""``pipex clean``: delete every workspace of the workdir that no process is using."""

from __future__ import annotations

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import container_sweeper, plural, print_json, remove_tree_of, warn_all, workdir_of

EPILOG = options.epilog(
    [
        ("pipex clean", "delete all workspaces not in use"),
        ("pipex clean --workdir /tmp/pipex-ci", "in another workdir"),
    ],
    "Workspaces in use (a live run) are kept and named on stderr; the exit status is still 0. With --json: "
    '{"removed": list of names, "bytes", "inUse": list of {"name", "holder"}}.',
)


def clean(ctx: typer.Context, json: options.Json = False, workdir: options.Workdir = None) -> None:
    """Delete all workspaces that are not in use."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    from pipex.workspace.maintenance import clean as clean_workdir

    sweeper = container_sweeper(opts)
    try:
        done = clean_workdir(workdir_of(opts), remove_tree_of(opts), sweeper)
    finally:
        sweeper.close()
    warn_all(sweeper.warnings)
    if opts.json:
        busy = [{"name": name, "holder": who} for name, who in done.busy]
        print_json({"removed": list(done.removed.names), "bytes": done.removed.bytes, "inUse": busy})
        return
    for name, who in done.busy:
        typer.echo(f'kept workspace "{name}": in use by {who}', err=True)
    if not opts.quiet:
        from pipex.cli.reporters.base import human_size

        count = plural(len(done.removed.names), "workspace")
        typer.echo(f"removed {count} ({human_size(done.removed.bytes)})")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(clean)
