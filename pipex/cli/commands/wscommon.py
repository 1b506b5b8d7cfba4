"""What the workspace commands share: their arguments, the workspace handle, JSON and table printing.

Not a command itself (not in ``COMMANDS``); ``show``, ``logs``, ``inspect``, ``cat``, ``export``, ``list``,
``prune``, ``rm``, ``rm-step`` and ``clean`` import it.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from pipex.cli import complete
from pipex.cli.options import GlobalOptions

if TYPE_CHECKING:
    from pipex.engine.wsclean import ContainerSweeper
    from pipex.workspace.api import WorkspaceHandle

T = TypeVar("T")

WorkspaceArg = Annotated[
    str,
    typer.Argument(
        metavar="WORKSPACE", help="The workspace (`pipex list` shows them).", autocompletion=complete.workspaces
    ),
]
StepArg = Annotated[str, typer.Argument(metavar="STEP", help="The step id.", autocompletion=complete.steps)]
RunOpt = Annotated[
    str | None,
    typer.Option("--run", metavar="RUN_ID", help="Read this run of the step instead (run ids: `pipex show`)."),
]


def workdir_of(opts: GlobalOptions) -> Path:
    """The workdir exactly as ``run`` finds it: ``--workdir`` > ``$PIPEX_WORKDIR`` > ``.pipex.yml`` > default."""
    # start-up: `pipex wscommon` loads this only when it runs
    from pipex.model.project import find_configured_workdir
    from pipex.workspace.workdir import resolve_workdir

    return resolve_workdir(opts.workdir, configured=find_configured_workdir)


def remove_tree_of(opts: GlobalOptions) -> Callable[[Path], None]:
    # start-up: `pipex wscommon` loads this only when it runs
    from pipex.engine.removal import engine_remove_tree

    return engine_remove_tree(opts.runtime or "auto", opts.host)


def container_sweeper(opts: GlobalOptions) -> ContainerSweeper:
    """What ``rm``/``clean`` call for each workspace they delete: removes its containers (see wsclean)."""
    # start-up: `pipex wscommon` loads this only when it runs
    from pipex.engine.wsclean import ContainerSweeper

    return ContainerSweeper(opts.runtime or "auto", opts.host)


def warn_all(warnings: Sequence[str]) -> None:
    for text in warnings:
        typer.echo(f"warning: {text}", err=True)


def handle(opts: GlobalOptions, name: str) -> WorkspaceHandle:
    """The named workspace of the chosen workdir; the engine is contacted only to delete container files."""
    # start-up: `pipex wscommon` loads this only when it runs
    from pipex.workspace.api import WorkspaceHandle

    return WorkspaceHandle(workdir_of(opts), name, remove_tree_of(opts))


def print_json(data: object) -> None:
    typer.echo(jsonlib.dumps(data, ensure_ascii=False, indent=2))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns separated by two spaces, like ``podman ps``; the last column is not padded."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        typer.echo("  ".join(cells).rstrip())


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def each_instance(
    instances: Sequence[str], step: str, read: Callable[[str], T], lacking: str, hint: str, *, shown: int = 5
) -> list[tuple[str, T]]:
    """``read`` of every instance of the fan-out ``step`` that has what it reads: instances that lack it (it
    raises ``WorkspaceNotFound``) are named in a warning, or in the error when none has it (``lacking``: what
    they lack, ``no artifact "x.csv"``). A path that is unsafe in one instance stops everything, naming it."""
    # start-up: `pipex wscommon` loads this only when it runs
    from pipex.errors import UnsafePath, WorkspaceNotFound

    found: list[tuple[str, T]] = []
    missing: list[str] = []
    for one in instances:
        try:
            found.append((one, read(one)))
        except UnsafePath as exc:
            raise UnsafePath(f"{one}: {exc.message}", hint=exc.hint) from None
        except WorkspaceNotFound:
            missing.append(one)
    names = ", ".join(missing[:shown]) + (f" and {len(missing) - shown} more" if len(missing) > shown else "")
    if not found:
        raise WorkspaceNotFound(
            f'{lacking} in any of the {len(instances)} instances of "{step}": {names}',
            hint=hint,
        )
    if missing:
        typer.echo(f'warning: {lacking} in {len(missing)} of {len(instances)} instances of "{step}": {names}', err=True)
    return found


def header(name: str, first: bool) -> str:
    """``==> convert[eu] <==``, as ``head``/``tail`` head each of several files (a blank line before the next)."""
    return f"==> {name} <==" if first else f"\n==> {name} <=="
