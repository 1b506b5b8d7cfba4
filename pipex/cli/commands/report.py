"""``pipex report WS``: a recorded run as one self-contained HTML page, or as JSON or TSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import WorkspaceArg, workdir_of

EPILOG = options.epilog(
    [
        ("pipex report geodata", "the newest run, as ./report.html"),
        ("pipex report geodata --run 20261204T101500123Z-1a2b3c4d -o run.html", ""),
        ("pipex report geodata --format json | jq .steps", "the same data as JSON"),
        ("pipex report geodata --format tsv -o trace.tsv", "one row per step"),
        ("pipex run --report report.html", "write it at the end of a run"),
    ],
    "The HTML page needs no network (nothing is fetched, a Content-Security-Policy forbids it): a summary "
    "with the command that reproduces the run, the graph coloured by outcome, a timeline of every step "
    "(queued, pulling, setup, run, retries), and the steps with reasons, exit codes, sizes, limits and the "
    "last lines of a failure's log. json and tsv go to stdout unless -o is given (-o - is stdout for html "
    "too); --json is --format json. Run ids: `pipex runs WS`. Takes no lock.",
)

FormatOpt = Annotated[
    str, typer.Option("--format", metavar="FORMAT", help="html (default), json or tsv.", show_default=False)
]


def report(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    run: Annotated[
        str | None, typer.Option("--run", metavar="RUN_ID", help="This run instead of the newest (`pipex runs`).")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write (html default: report.html)."),
    ] = None,
    fmt: FormatOpt = "html",
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Render a recorded pipeline run: HTML with graph and timeline, or JSON or TSV."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex report` loads this only when it runs
    from pipex.report import check_format

    chosen = check_format("json" if opts.json else fmt)
    if output is None:
        output = "report.html" if chosen == "html" else "-"
    write_report(workdir_of(opts), workspace, run, output, chosen, quiet=opts.quiet)


def write_report(workdir: Path, workspace: str, run_id: str | None, output: str, fmt: str, *, quiet: bool) -> None:
    """Render and write the report (``-``: stdout); say where it went on stderr."""
    # start-up: `pipex report` loads this only when it runs
    from pipex.errors import UsageError
    from pipex.report import render
    from pipex.workspace.layout import Workspace

    text = render(Workspace(workdir, workspace), run_id, fmt)
    if output == "-":
        typer.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", hint="choose another file with -o") from exc
    if not quiet:
        # start-up: `pipex report` loads this only when it runs
        from pipex.report.fmt import size

        typer.echo(f"report written to {path} ({size(len(text.encode('utf-8')))})", err=True)


def format_of(path: str) -> str:
    """``run --report FILE``: the format its extension names (html unless .json or .tsv)."""
    suffix = Path(path).suffix.lower()
    return {".json": "json", ".tsv": "tsv"}.get(suffix, "html")


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(report)
