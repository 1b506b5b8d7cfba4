"""``pipex logs WS STEP``: a step's logs as bytes, from its last run, an earlier attempt, or live (``-f``)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from pipex.cli import options
from pipex.cli.commands.wscommon import RunOpt, StepArg, WorkspaceArg, handle
from pipex.errors import UsageError

if TYPE_CHECKING:
    from pipex.workspace.api import WorkspaceHandle

EPILOG = options.epilog(
    [
        ("pipex logs geodata extract", "stdout, then stderr, of the last run"),
        ("pipex logs geodata extract -s stderr", "only stderr"),
        ("pipex logs geodata extract --attempt 1", "the first attempt of a retried step"),
        ("pipex logs geodata extract -f", "follow the step of a live run until it ends"),
        ("pipex logs geodata extract --json | jq -r .line", "JSON lines: {stream, line}"),
        ("pipex logs geodata convert", "a fan-out step: every instance's, lines prefixed [convert[eu]]"),
    ],
    "The logs are written as the step wrote them (bytes, unchanged). The last run is shown even when it "
    "failed. With -f and a live run in the workspace, waits for the step to start, streams its lines as they "
    "come (following retries) and exits when it ends; with no live run it prints the last run's logs. "
    'With --json: one {"stream", "line"} object per line (stdout\'s lines, then stderr\'s; bytes that are not '
    "UTF-8 replaced by U+FFFD); not with -f. A fan-out step's plain id prints each instance's logs in turn, "
    'every line prefixed with the instance (`[convert[eu]] `; in JSON a "step" key); -f takes one instance.',
)


class StreamChoice(StrEnum):
    stdout = "stdout"
    stderr = "stderr"
    both = "both"


def logs(
    ctx: typer.Context,
    workspace: WorkspaceArg,
    step: StepArg,
    stream: Annotated[StreamChoice, typer.Option("--stream", "-s", help="Which log to print.")] = StreamChoice.both,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow a live run's step until it ends.")] = False,
    attempt: Annotated[
        int | None,
        typer.Option("--attempt", metavar="N", min=1, help="The logs of attempt N of a retried step."),
    ] = None,
    run: RunOpt = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Print a step's logs (stdout and stderr of its last run)."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    if follow and (attempt is not None or run is not None):
        raise UsageError("--follow follows the live run; it cannot be combined with --attempt or --run")
    if follow and opts.json:
        raise UsageError("--follow prints the step's bytes as they come; it has no JSON form", hint="drop --json")
    ws = handle(opts, workspace)
    instances = [] if run is not None else ws.instances(step)
    if instances and follow:
        raise UsageError(
            f'step "{step}" ran as {len(instances)} instances; -f follows one', hint=f"e.g. '{instances[0]}'"
        )
    if opts.json:
        for one in instances or [step]:
            _json_lines(ws, one, stream, attempt, run, named=bool(instances))
        return
    out = typer.get_binary_stream("stdout")
    if instances:  # a fan-out step: every instance's logs, each line prefixed as in the run's plain output
        for one in instances:
            out.write(_prefixed(ws.log_bytes(one, stream.value, attempt), f"[{one}] ".encode()))
        out.flush()
        return
    if follow:

        def write(data: bytes) -> None:
            out.write(data)
            out.flush()

        if ws.follow(step, stream.value, write) is not None:
            return
    out.write(ws.log_bytes(step, stream.value, attempt, run=run))
    out.flush()


def _prefixed(data: bytes, prefix: bytes) -> bytes:
    """Every line of ``data`` after ``prefix``; a last line without a newline gets one (the next one's prefix
    must start a line)."""
    if not data:
        return b""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join(prefix + line + b"\n" for line in lines)


def _json_lines(
    ws: WorkspaceHandle, step: str, stream: StreamChoice, attempt: int | None, run: str | None, *, named: bool = False
) -> None:
    """One ``{"stream", "line"}`` object per line: stdout's lines, then stderr's (as the text form orders them);
    ``named``: with ``"step"`` first (the instance, when a fan-out step's logs are all printed).

    A line is split on ``\\n`` only and decoded as UTF-8 with undecodable bytes replaced (U+FFFD); a last line
    without a newline is a line too."""
    # start-up: `pipex logs` loads this only when it runs
    import json as jsonlib

    streams: tuple[Literal["stdout", "stderr"], ...] = ("stdout", "stderr")
    if stream is not StreamChoice.both:
        streams = ("stdout",) if stream is StreamChoice.stdout else ("stderr",)
    for name in streams:
        data = ws.log_bytes(step, name, attempt, run=run)
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for raw in lines:
            text = raw.decode("utf-8", errors="replace")
            line = {"step": step, "stream": name, "line": text} if named else {"stream": name, "line": text}
            typer.echo(jsonlib.dumps(line, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(logs)
