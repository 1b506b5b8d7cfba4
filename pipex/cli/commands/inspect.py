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
        ("pipex inspect geodata convert --json | jq '.[].status'", "a fan-out step: every instance's"),
    ],
    "The record holds the run's status, reason, exit code, times, image and digest, command, environment, "
    "the names and sources of its secrets (never their values: pipex never stores them), inputs with their "
    "digests, mounts, caches, fingerprint and its parts, artifacts digest and size, and the engine. Variables "
    "whose names look secret (*TOKEN*, *PASSWORD*, *SECRET*, *_KEY, *CREDENTIAL*) are stored and shown as ***; "
    "any other env value is shown as written: declare secrets under secrets:. The last run is inspected even "
    "when it failed. A fan-out step's plain id gives every instance's record: one YAML document each (separated "
    "by ---), or with --json a list.",
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
    ws = handle(opts, workspace)
    instances = [] if run is not None else ws.instances(step)
    if instances:  # a fan-out step: every instance's last run (each has one: that is how it is listed)
        records = [ws.inspect(one) for one in instances]
        if opts.json:
            print_json(records)
            return
        typer.echo("---\n".join(_yaml(meta) for meta in records), nl=False)
        return
    meta = ws.inspect(step, run=run)
    if opts.json:
        print_json(meta)
        return
    typer.echo(_yaml(meta), nl=False)


def _yaml(meta: dict[str, Any]) -> str:
    import yaml  # lazy: only the text form needs it

    ordered: dict[str, Any] = {k: meta[k] for k in FIRST if k in meta}
    ordered.update({k: meta[k] for k in sorted(meta) if k not in ordered})
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(inspect)
