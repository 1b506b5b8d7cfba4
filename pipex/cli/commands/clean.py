"""``pipex clean``: delete every workspace of the workdir that no process is using."""

from __future__ import annotations

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import container_sweeper, plural, print_json, remove_tree_of, warn_all, workdir_of
from pipex.cli.confirm import DryRun, Yes, confirm

EPILOG = options.epilog(
    [
        ("pipex clean --dry-run", "what would be deleted, and its size"),
        ("pipex clean", "delete all workspaces not in use (asks first)"),
        ("pipex clean -y --workdir /tmp/pipex-ci", "in another workdir, without asking"),
    ],
    "On a terminal clean asks before deleting; -y/--yes skips the question, and without a terminal it is "
    "required (clean refuses, exit 2). Workspaces in use (a live run) are kept and named on stderr; the exit "
    'status is still 0. With --json: {"removed": list of names, "bytes", "inUse": list of {"name", "holder"}}; '
    'with --dry-run --json: {"wouldRemove": list of {"name", "bytes"}, "bytes", "inUse"}.',
)


def clean(
    ctx: typer.Context,
    yes: Yes = False,
    dry_run: DryRun = False,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Delete all workspaces that are not in use."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex clean` loads this only when it runs
    from pipex.cli.reporters.base import human_size
    from pipex.workspace.inventory import list_workspaces
    from pipex.workspace.maintenance import clean as clean_workdir

    where = workdir_of(opts)
    found = list_workspaces(where)
    free = [w for w in found if w.holder is None]
    total = sum(w.size for w in free)
    if dry_run:
        busy = [{"name": w.name, "holder": w.holder.describe()} for w in found if w.holder is not None]
        if opts.json:
            would = [{"name": w.name, "bytes": w.size} for w in free]
            print_json({"wouldRemove": would, "bytes": total, "inUse": busy})
            return
        for w in free:
            typer.echo(f'would remove workspace "{w.name}" ({human_size(w.size)})')
        for item in busy:
            typer.echo(f'would keep workspace "{item["name"]}": in use by {item["holder"]}', err=True)
        typer.echo(f"would remove {plural(len(free), 'workspace')} ({human_size(total)}) in {where}")
        return
    if free:
        names = ", ".join(w.name for w in free[:10]) + (", …" if len(free) > 10 else "")
        question = f"delete {plural(len(free), 'workspace')} ({names}; {human_size(total)}) in {where}?"
        confirm(question, yes=yes, command="pipex clean")
    sweeper = container_sweeper(opts)
    try:
        done = clean_workdir(where, remove_tree_of(opts), sweeper)
    finally:
        sweeper.close()
    warn_all(sweeper.warnings)
    if opts.json:
        busy_json = [{"name": name, "holder": who} for name, who in done.busy]
        print_json({"removed": list(done.removed.names), "bytes": done.removed.bytes, "inUse": busy_json})
        return
    for name, who in done.busy:
        typer.echo(f'kept workspace "{name}": in use by {who}', err=True)
    if not opts.quiet:
        count = plural(len(done.removed.names), "workspace")
        typer.echo(f"removed {count} ({human_size(done.removed.bytes)})")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(clean)
