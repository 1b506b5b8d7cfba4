"""``pipex cat WS STEP [PATH]``: list a step's artifacts, or write one artifact's bytes to stdout."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Annotated

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import RunOpt, StepArg, WorkspaceArg, each_instance, handle, header, print_json

if TYPE_CHECKING:
    from pipex.workspace.api import WorkspaceHandle
    from pipex.workspace.artifacts import Entry

EPILOG = options.epilog(
    [
        ("pipex cat geodata extract", "list the artifacts (dirs end with /)"),
        ("pipex cat geodata extract rows.csv | head", "one file's bytes"),
        ("pipex cat geodata extract tiles/", "list one directory"),
        ("pipex cat geodata extract --json", "the list as JSON"),
        ("pipex cat geodata convert rows.csv", "a fan-out step: each instance's, after ==> convert[eu] <=="),
    ],
    "Reads the step's last successful run (--run for another). Links a step wrote are listed as "
    '"name -> target" and never followed; paths that are absolute, contain "..", or go through a link are '
    'refused (exit 2). With --json: a list of {"path", "type" (file|dir|link|other), "size", "target"}. '
    "A fan-out step's plain id reads every instance's last successful run, each after a ==> convert[eu] <== "
    "line when there are several (as head and tail do); instances without PATH are named on stderr, and it is "
    'an error (exit 1) only when none has it. With --json: a list of {"step", "entries"}, one per instance.',
)


def cat(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    step: StepArg,
    path: Annotated[
        str | None, typer.Argument(metavar="PATH", help="A file or directory inside the artifacts.", show_default=False)
    ] = None,
    run: RunOpt = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """List a step's artifacts, or print one of them."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    ws = handle(opts, workspace)
    instances = [] if run is not None else ws.instances(step)
    if instances:
        _each(ws, workspace, step, instances, path or "", opts.json)
        return
    if path and ws.entry(step, path, run=run).kind == "file":
        _copy(ws, step, path, run)
        return
    found = ws.artifacts(step, path or "", run=run)
    if opts.json:
        print_json([e.to_json() for e in found])
        return
    _list(found)


def _each(ws: WorkspaceHandle, workspace: str, step: str, instances: list[str], path: str, json: bool) -> None:
    """A fan-out step: PATH (or the listing) of every instance that has it. Each instance is located before
    anything is printed, so a path refused in one of them prints nothing."""
    if path:
        ws.check_path(path, step)  # refused for every instance alike: said once, naming none
        lacking, hint = f'no artifact "{path}"', f"`pipex cat {workspace} {step}` lists each instance's artifacts"
    else:
        lacking, hint = "no successful run", f"`pipex show {workspace}` shows each instance's last run"
    # each instance's entries (PATH's, or all of them), or None for a file PATH: its bytes are printed
    found = each_instance(instances, step, lambda one: _located(ws, one, path), lacking, hint)
    if json:
        listed = [(one, got if got is not None else [ws.entry(one, path)]) for one, got in found]
        print_json([{"step": one, "entries": [e.to_json() for e in got]} for one, got in listed])
        return
    for n, (one, got) in enumerate(found):
        if len(instances) > 1:
            out = typer.get_binary_stream("stdout")
            out.write(header(one, n == 0).encode() + b"\n")  # (the files' bytes go to the same stream)
            out.flush()
        if got is None:
            _copy(ws, one, path, None)
        else:
            _list(got)


def _located(ws: WorkspaceHandle, step: str, path: str) -> list[Entry] | None:
    if path and ws.entry(step, path).kind == "file":
        return None
    return ws.artifacts(step, path)


def _copy(ws: WorkspaceHandle, step: str, path: str, run: str | None) -> None:
    out = typer.get_binary_stream("stdout")
    with ws.open(step, path, run=run) as fh:
        shutil.copyfileobj(fh, out)
    out.flush()


def _list(found: list[Entry]) -> None:
    for entry in found:
        typer.echo(entry.display())


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(cat)
