"""``pipex rm WS...``: delete workspaces — all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipex.cli import complete, options
from pipex.cli.commands.wscommon import container_sweeper, plural, print_json, remove_tree_of, warn_all, workdir_of
from pipex.cli.confirm import DryRun, Yes, confirm

EPILOG = options.epilog(
    [
        ("pipex rm geodata", "delete one workspace"),
        ("pipex rm geodata scratch", "several: all must exist and be free (asks first)"),
        ("pipex rm -y a b c", "several, without asking"),
        ("pipex rm --dry-run a b", "what would be deleted, and its size"),
    ],
    "Removing more than one workspace asks first on a terminal; -y/--yes skips the question, and without a "
    "terminal it is required (rm refuses, exit 2). Every name is checked and every workspace locked before "
    "anything is deleted: one missing name (exit 1) or one workspace in use (exit 4) deletes nothing. Files "
    "written by containers as another user are deleted through the engine, and so are containers a killed pipex "
    "left for these workspaces (no engine: a warning, the files are deleted all the same). "
    'With --json: {"removed": list of names, "bytes"}.',
)


def rm(
    ctx: typer.Context,
    workspaces: Annotated[
        list[str],
        typer.Argument(metavar="WORKSPACE...", help="Workspaces to delete.", autocompletion=complete.workspaces),
    ],
    yes: Yes = False,
    dry_run: DryRun = False,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Delete workspaces (their runs, state and caches)."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex rm` loads this only when it runs
    from pipex.cli.reporters.base import human_size
    from pipex.workspace.maintenance import remove_workspaces

    where = workdir_of(opts)
    names = list(dict.fromkeys(workspaces))
    if dry_run:
        _dry_run(where, names, json=opts.json)
        return
    if len(names) > 1:
        # start-up: `pipex rm` loads this only when it runs
        from pipex.workspace.inventory import tree_size

        check_exist(where, names, "; nothing was removed")
        size = sum(tree_size(where / name) for name in names)
        quoted = ", ".join(names)
        confirm(
            f"delete {plural(len(names), 'workspace')} ({quoted}; {human_size(size)}) in {where}?",
            yes=yes,
            command="pipex rm",
        )
    sweeper = container_sweeper(opts)
    try:
        done = remove_workspaces(where, workspaces, remove_tree_of(opts), sweeper)
    finally:
        sweeper.close()
    warn_all(sweeper.warnings)
    if opts.json:
        print_json({"removed": list(done.names), "bytes": done.bytes})
    elif not opts.quiet:
        shown = ", ".join(f'"{n}"' for n in done.names)
        noun = "workspace" if len(done.names) == 1 else "workspaces"
        typer.echo(f"removed {noun} {shown} ({human_size(done.bytes)})")


def _dry_run(where: Path, names: list[str], *, json: bool) -> None:
    """What ``rm`` would delete: every name must exist, as for the real thing."""
    # start-up: `pipex rm` loads this only when it runs
    from pipex.cli.reporters.base import human_size
    from pipex.workspace.inventory import tree_size

    check_exist(where, names, "")
    sizes = {n: tree_size(where / n) for n in names}
    if json:
        print_json({"wouldRemove": [{"name": n, "bytes": b} for n, b in sizes.items()], "bytes": sum(sizes.values())})
        return
    for name, size in sizes.items():
        typer.echo(f'would remove workspace "{name}" ({human_size(size)})')
    typer.echo(f"would remove {plural(len(names), 'workspace')} ({human_size(sum(sizes.values()))}) in {where}")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(rm)


def check_exist(where: Path, names: list[str], suffix: str) -> None:
    """Every name must be a workspace: checked before asking, so the question is never asked for nothing."""
    # start-up: `pipex rm` loads this only when it runs
    from pipex.errors import WorkspaceNotFound
    from pipex.workspace.ids import check_workspace_name

    missing = [n for n in names if not (where / check_workspace_name(n)).is_dir()]
    if missing:
        quoted = ", ".join(f'"{m}"' for m in missing)
        one = len(missing) == 1
        raise WorkspaceNotFound(
            f"{'workspace' if one else 'workspaces'} {quoted} {'does' if one else 'do'} not exist in {where}{suffix}",
            hint="`pipex list` shows the workspaces; `--workdir` selects another workdir",
        )
