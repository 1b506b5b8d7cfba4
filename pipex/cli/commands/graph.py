"""``pipex graph [PATH] [--format mermaid|dot|json]``: the pipeline's DAG, deterministic text on stdout."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipex.cli import complete, options
from pipex.errors import UsageError

EPILOG = options.epilog(
    [
        ("pipex graph", "a Mermaid flowchart of ./pipeline.yml"),
        ("pipex graph ci.yml --format dot | dot -Tsvg > ci.svg", ""),
        ("pipex graph --format json | jq .edges", ""),
        ("pipex graph --workspace geodata", "colour steps cached, changed or failed"),
    ],
    "Shapes: rectangle = image step, rounded = kit step, hexagon = conditional step (if). Dashed edges "
    'are optional inputs; edges labelled "copy" are copyToOutput inputs. The same file always gives '
    "byte-identical output, so graphs can be committed and diffed. "
    "--workspace adds each step's state there, as a dry run decides it: cached, changed (would run), failed "
    "(its last run failed and it would run again), skipped, running (a live run is on it); in JSON as "
    '"state" (null for a step the workspace has never run).',
)


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    json = "json"


def graph(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH", help="Pipeline file or directory (default: the current directory).", show_default=False
        ),
    ] = None,
    fmt: Annotated[
        GraphFormat | None,
        typer.Option("--format", help="Output format (default: mermaid; json with --json).", show_default=False),
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            metavar="WS",
            help="Colour each step by its state in this workspace.",
            show_default=False,
            autocompletion=complete.workspaces,
        ),
    ] = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Print the pipeline's steps and their inputs as a Mermaid, Graphviz dot or JSON graph."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    if opts.json and fmt not in (None, GraphFormat.json):
        raise UsageError(f"--json conflicts with --format {fmt.value}", hint="give only one of them")
    chosen = GraphFormat.json if opts.json else (fmt or GraphFormat.mermaid)
    # start-up: `pipex graph` loads this only when it runs
    from pipex.graph import render_graph
    from pipex.kits.check import load  # lazy: pydantic and the kits

    pipeline = load(path)
    overlay = None
    if workspace is not None:
        # start-up: `pipex graph` loads this only when it runs
        from pipex.engine.engine import Engine
        from pipex.engine.overlay import overlay_states
        from pipex.workspace.layout import Workspace

        engine = Engine(opts.workdir, opts.engine_runtime(), host=opts.host)
        where = Workspace(engine.workdir_for(pipeline), workspace)
        overlay = overlay_states(engine, pipeline, where)
    typer.echo(render_graph(pipeline, chosen.value, overlay=overlay), nl=False)


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(graph)
