"""``pipex runs WS``: the workspace's recorded pipeline runs, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import WorkspaceArg, print_json, workdir_of

if TYPE_CHECKING:
    from pipex.workspace.records import RunSummary

EPILOG = options.epilog(
    [
        ("pipex runs geodata", "every recorded run, newest first"),
        ("pipex runs geodata --limit 5", "the last five"),
        ("pipex runs geodata --json | jq '.[0].status'", ""),
    ],
    "One line per `pipex run` (foreground, detached, failed, interrupted): run id, status, duration and counts. "
    "A run whose pipex died shows as interrupted. `pipex report WS --run ID` renders one; `pipex prune WS "
    '--keep-runs N` keeps the newest N. With --json: a list of {"runId", "pipeline", "status", '
    '"startedAt", "durationMs", "counts": {"ran", "cached", "skipped", "failed", "cancelled", "waiting", '
    '"running"}, "failureKind", "error"}. Takes no lock.',
)


def runs(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", metavar="N", min=0, help="Show only the newest N runs.")
    ] = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """List the recorded pipeline runs of a workspace, newest first."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex runs` loads this only when it runs
    from pipex.workspace.api import WorkspaceHandle

    found = WorkspaceHandle(workdir_of(opts), workspace).runs(limit=limit)
    if opts.json:
        print_json([r.to_json() for r in found])
        return
    if not found:
        typer.echo(f'no recorded runs in workspace "{workspace}"', err=True)
        return
    for line in lines(found):
        typer.echo(line)


def lines(found: list[RunSummary]) -> list[str]:
    """``20261204T101500123Z-1a2b3c4d  ✓ success  2m03s  5 ran · 12 cached · 1 skipped``."""
    # start-up: `pipex runs` loads this only when it runs
    from pipex.report.fmt import STATUS_SYMBOL, counts_line, duration

    width = max(len(r.status) for r in found)
    out = []
    for r in found:
        status = f"{STATUS_SYMBOL.get(r.status, '?')} {r.status:<{width}}"
        took = duration(r.duration_ms) if r.duration_ms is not None else "-"
        out.append(f"{r.run_id}  {status}  {took:>6}  {counts_line(dict(r.counts))}".rstrip())
    return out


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(runs)
