"""``pipex prune WS``: delete the runs no state entry refers to."""

from __future__ import annotations

from typing import Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import WorkspaceArg, handle, plural, print_json

EPILOG = options.epilog(
    [
        ("pipex prune geodata", "keep only the runs the state refers to"),
        ("pipex prune geodata --json", "which runs were deleted"),
        ("pipex prune geodata --keep-runs 20", "and all run records but the newest 20"),
    ],
    "Kept for every step: its last run and its last successful run (so the cache and `pipex cat` still work "
    "after a failure). Also removes leftovers of interrupted runs and the event logs of detached runs but the "
    "latest (the one `pipex attach` replays), and forgets the fan-out instances the newest run no longer made "
    "(their item was removed; only after a successful run that decided them all, not narrowed by --target "
    "'step[key]'). Takes the workspace lock: fails with exit 4 while a run uses the "
    "workspace. --keep-runs N also deletes the pipeline-run records (`pipex runs`) but the newest N. With --json: "
    '{"workspace", "removed": list of run ids, "eventLogs": count, "bytes", "instances": the instances '
    'forgotten} (and "records": the run ids of the deleted records, with --keep-runs).',
)


def prune(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    keep_runs: Annotated[
        int | None,
        typer.Option("--keep-runs", metavar="N", min=0, help="Also keep only the newest N pipeline-run records."),
    ] = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Delete the runs of a workspace that no step's state refers to."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    done = handle(opts, workspace).prune(keep_runs=keep_runs)
    if opts.json:
        data = {
            "workspace": workspace,
            "removed": list(done.names),
            "eventLogs": done.event_logs,
            "bytes": done.bytes,
            "instances": list(done.instances),
        }
        if keep_runs is not None:
            data["records"] = list(done.records)
        print_json(data)
    elif not opts.quiet:
        # start-up: `pipex prune` loads this only when it runs
        from pipex.cli.reporters.base import human_size

        if done.names or done.event_logs or done.records or done.instances:
            parts = [plural(len(done.names), "run")] if done.names else []
            parts += [plural(len(done.instances), "stale instance")] if done.instances else []
            parts += [plural(done.event_logs, "event log")] if done.event_logs else []
            parts += [plural(len(done.records), "run record")] if done.records else []
            what = f"{' and '.join(parts)} ({human_size(done.bytes)})"
            typer.echo(f'pruned {what} from workspace "{workspace}"')
        else:
            typer.echo(f'nothing to prune in workspace "{workspace}"')


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(prune)
