"""``pipex validate [PATH]``: load a pipeline and report every problem, touching no engine."""

from __future__ import annotations

import json as jsonlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipex.cli import options
from pipex.cli.errors import display_path
from pipex.errors import PipelineError, Problem

EPILOG = options.epilog(
    [
        ("pipex validate", "./pipeline.yml, .yaml or .json"),
        ("pipex validate examples/geodata", "the pipeline file of a directory"),
        ("pipex validate ci.yml --json", "a JSON report on stdout"),
    ],
    'Prints "ok: FILE: valid pipeline "ID" (N steps)" (a green check mark on a colour terminal) and exits 0, '
    'or prints every problem as an "error:" line on stderr and exits 2. With --json: '
    '{"valid": true|false, "file": FILE, "problems": list of {"location", "message", "hint"} (the first 1,000), '
    '"problemCount": N}.',
)
# Output stays bounded for a file with 300,000 problems; problemCount says how many there are in all.
MAX_JSON_PROBLEMS = 1000


def validate(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH", help="Pipeline file or directory (default: the current directory).", show_default=False
        ),
    ] = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Check a pipeline file: fields, ids, inputs, cycles, paths, kits and conditions."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    from pipex.kits.check import load  # lazy: pydantic and the kits

    try:
        pipeline = load(path)
    except PipelineError as exc:
        if not opts.json:
            raise  # printed by pipex.cli.errors, one line per problem
        problems = exc.problems or (Problem("", exc.message, exc.hint),)
        source = exc.source or (str(path) if path is not None else None)
        _print_json(
            {
                "valid": False,
                "file": display_path(source) if source else None,
                "problems": [
                    {"location": p.location, "message": p.message, "hint": p.hint} for p in problems[:MAX_JSON_PROBLEMS]
                ],
                "problemCount": len(problems),
            }
        )
        raise typer.Exit(exc.exit_code) from exc
    file = display_path(pipeline.source or pipeline.root)
    # start-up: `pipex validate` loads this only when it runs
    from pipex.model.secrets import env_warnings

    notes = env_warnings(pipeline.steps)
    if opts.json:
        found: dict[str, object] = {"valid": True, "file": file, "problems": [], "problemCount": 0}
        _print_json({**found, "warnings": notes} if notes else found)
        return
    # start-up: `pipex validate` loads this only when it runs
    import warnings

    from pipex.errors import SecretInEnv

    for note in notes:
        warnings.warn(SecretInEnv(note), stacklevel=1)
    if opts.quiet:
        return
    count = len(pipeline.steps)
    text = f'{file}: valid pipeline "{pipeline.id}" ({count} step{"" if count == 1 else "s"})'
    mark = "\x1b[32m✓\x1b[0m" if opts.color(sys.stdout) else "ok:"
    typer.echo(f"{mark} {text}")


def _print_json(data: object) -> None:
    typer.echo(jsonlib.dumps(data, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(validate)
