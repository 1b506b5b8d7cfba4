"""``pipex inspect WS STEP``: the ``meta.json`` of the step's last run, as readable text or raw JSON."""

from __future__ import annotations

from typing import Any

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import RunOpt, StepArg, WorkspaceArg, handle, print_json

EPILOG = options.epilog(
    [
        ("pipex inspect geodata extract", "the last run's record, as text"),
        ("pipex inspect geodata extract --json | jq .fingerprintParts", ""),
        ("pipex inspect geodata extract --run 20261123T101500123Z-1a2b3c4d", ""),
    ],
    "The record holds the run's status, reason, exit code, times, image and digest, command, environment, "
    "the names and sources of its secrets (never their values: pipex never stores them), inputs with their "
    "digests, mounts, caches, fingerprint and its parts, artifacts digest and size, and the engine. Variables "
    "whose names look secret (*TOKEN*, *PASSWORD*, *SECRET*, *_KEY, *CREDENTIAL*) are stored and shown as ***; "
    "any other env value is shown as written: declare secrets under secrets:. The last run is inspected even "
    "when it failed.",
)

# The fields a person looks for first; the rest follow alphabetically.
FIRST = (
    "runId",
    "stepId",
    "stepName",
    "status",
    "reason",
    "message",
    "exitCode",
    "attempt",
    "startedAt",
    "finishedAt",
    "durationMs",
    "image",
    "imageDigest",
    "cmd",
)


def inspect(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    step: StepArg,
    run: RunOpt = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Show the record (meta.json) of a step's last run."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    meta = handle(opts, workspace).inspect(step, run=run)
    if opts.json:
        print_json(meta)
        return
    import yaml  # lazy: only the text form needs it

    ordered: dict[str, Any] = {k: meta[k] for k in FIRST if k in meta}
    ordered.update({k: meta[k] for k in sorted(meta) if k not in ordered})
    text = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000)
    typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(inspect)
