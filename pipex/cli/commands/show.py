"""``pipex show WS [STEP]``: each step's last run — status, duration, size, finish time, run id — and any live
run; with STEP only that step's (a fan-out step's: one row per instance)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipex.cli import complete, options
from pipex.cli.commands.wscommon import WorkspaceArg, handle, print_json, table

OptionalStep = Annotated[
    str | None,
    typer.Argument(
        metavar="[STEP]",
        help="Only this step (a fan-out step: each of its instances).",
        autocompletion=complete.steps,
        show_default=False,
    ),
]

EPILOG = options.epilog(
    [
        ("pipex show geodata", "a table of the steps' last runs"),
        ("pipex show geodata --json | jq '.steps[].status'", ""),
        ("pipex show geodata convert", "a fan-out step: one row per instance (convert[eu], …)"),
    ],
    "Steps are listed in the order they last finished; a step a live run is working on shows as running. "
    "Times are UTC. With --json: "
    '{"workspace", "inUse", "holder": {"pid", "command"} or null, "steps": list of {"step", "status", "runId", '
    '"durationMs", "size", "finishedAt", "lastSuccess", "outputs"}} (sizes in bytes, durations in ms). With STEP, '
    "only that step's row, or a fan-out step's instances' rows (their records under --json). Takes no lock.",
)


def show(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    step: OptionalStep = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Show the steps of a workspace: status, duration, size, finish time and run id of their last run."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    summary = handle(opts, workspace).show(step)
    if opts.json:
        print_json(summary.to_json())
        return
    # start-up: `pipex show` loads this only when it runs
    from pipex.cli.reporters.base import human_duration, human_size

    if summary.live is not None:
        typer.echo(f'workspace "{workspace}" is in use by {summary.live.holder.describe()}')
    if not summary.steps:
        typer.echo(f'no runs yet in workspace "{workspace}"')
        return
    rows = [
        [
            s.step,
            s.status,
            human_duration(s.duration_ms / 1000) if s.duration_ms is not None else "-",
            human_size(s.size) if s.size is not None else "-",
            _when(s.finished_at),
            s.run_id or "-",
        ]
        for s in summary.steps
    ]
    table(["STEP", "STATUS", "DURATION", "SIZE", "FINISHED", "RUN"], rows)


def _when(iso: str | None) -> str:
    """``2026-11-23T21:13:13.007Z`` → ``2026-11-23 21:13:13`` (UTC, to the second)."""
    return iso[:19].replace("T", " ") if iso else "-"


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(show)
