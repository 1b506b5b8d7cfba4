"""``pipex list`` (alias ``ls``): the workspaces of the workdir with their runs, caches, size and use."""

from __future__ import annotations

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import print_json, table, workdir_of

EPILOG = options.epilog(
    [
        ("pipex list", "the workspaces of the workdir"),
        ("pipex ls --workdir /data/pipex", "another workdir"),
        ("pipex list --json | jq '.[].name'", ""),
    ],
    "IN USE names the process holding a workspace (a run, or a maintenance command). With --json: a list of "
    '{"name", "runs", "caches", "size", "inUse", "holder": {"pid", "command"} or null} (size in bytes; [] '
    "when there are none). Takes no lock.",
)


def list_(ctx: typer.Context, json: options.Json = False, workdir: options.Workdir = None) -> None:
    """List the workspaces with their runs, caches and size (alias: ls)."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex list` loads this only when it runs
    from pipex.workspace.inventory import list_workspaces

    where = workdir_of(opts)
    found = list_workspaces(where)
    if opts.json:
        print_json([w.to_json() for w in found])
        return
    if not found:
        typer.echo(f"no workspaces in {where}")
        return
    # start-up: `pipex list` loads this only when it runs
    from pipex.cli.reporters.base import human_size

    rows = [
        [
            w.name,
            str(w.runs),
            str(w.caches),
            human_size(w.size),
            f"pid {w.holder.pid} ({w.holder.command})" if w.holder else "-",
        ]
        for w in found
    ]
    table(["WORKSPACE", "RUNS", "CACHES", "SIZE", "IN USE"], rows)


def register(app: typer.Typer) -> None:
    app.command("list", epilog=EPILOG)(list_)
    app.command("ls", epilog=EPILOG, hidden=True)(list_)
