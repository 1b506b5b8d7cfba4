"""``pipex exec WS -f STEPFILE``: run one step in a workspace, its inputs from the workspace's runs."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, TextIO, cast

import typer

from pipex.cli import complete, options

if TYPE_CHECKING:
    from pipex.cli.reporters.base import Reporter
    from pipex.engine.events import RunResult

EPILOG = options.epilog(
    [
        ("pipex exec demo -f step.yml", "run the step of step.yml in workspace demo"),
        ("pipex exec demo -f pipeline.yml --step report", "one step of a pipeline file"),
        ("pipex exec demo -f s.yml --input data=download", "download's output at /input/data"),
        ("pipex exec demo -f s.yml --ephemeral > out.txt", "stdout only; keeps no run"),
    ],
    "The step's inputs and every --input are mounted read-only at /input/<alias> from the named steps' last "
    "successful runs in the workspace. The step is cached like in `pipex run`: nothing changed, nothing runs "
    "(--force runs it anyway). A failed step keeps its run, so `pipex logs WS STEP` shows why. --ephemeral "
    "always runs, streams the step's stdout to stdout and its stderr to stderr, keeps no run (so there is "
    "nothing for `pipex logs`), and exits with the step's exit status.",
    "Exit codes: 0 success, 1 the step failed (with --ephemeral: the step's exit status), 2 usage or "
    "validation error, 3 engine unavailable, 4 workspace in use, 130 interrupted.",
)


def exec_(
    ctx: typer.Context,
    workspace: Annotated[
        str, typer.Argument(metavar="WS", help="Workspace to run the step in.", autocompletion=complete.workspaces)
    ],
    file: Annotated[
        Path,
        typer.Option(
            "--file", "-f", metavar="STEPFILE", help="Step file (one step, or a pipeline with --step).", dir_okay=False
        ),
    ],
    step: Annotated[
        str | None, typer.Option("--step", metavar="ID", help="The step to run, in a file of several.")
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            metavar="[ALIAS=]STEP",
            help="Mount STEP's last successful run at /input/ALIAS.",
            autocompletion=complete.steps,
        ),
    ] = None,
    ephemeral: Annotated[
        bool, typer.Option("--ephemeral", help="Stream stdout and stderr, keep no run, exit with the step's status.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Run even if cached.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the step's log lines.")] = False,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", metavar="FILE", help="dotenv file for the step and its `if`.", dir_okay=False),
    ] = None,
    secret_file: options.SecretFiles = None,
    secret: options.SecretNames = None,
    executor: options.Executor = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Run one step in a workspace (the original's exec), cached like `run`."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex exec` loads this only when it runs
    from pipex.cli.reporters import make_reporter
    from pipex.engine.engine import Engine

    engine = Engine(workdir=opts.workdir, runtime=opts.engine_runtime(), host=opts.host)
    events = engine.exec(
        file,
        workspace,
        step=step,
        inputs=inputs or (),
        ephemeral=ephemeral,
        force=force,
        env_file=env_file,
        secrets=options.given_secrets(secret_file, secret),
        stdout=_binary_stdout() if ephemeral else None,  # the step's stdout, byte for byte
        stderr=_binary_stream(sys.stderr) if ephemeral else None,  # and its stderr: nothing is kept to read later
        executor=executor,  # type: ignore[arg-type]  # any string: RunOptions.check names the executors
    )
    reporter: Reporter
    if ephemeral:
        # The step's stdout is pipex's stdout; its stderr went to stderr as it came, and no run is kept:
        # only why it failed and the final line, never a `pipex logs` command for a run that does not exist.
        from pipex.cli.reporters.summary import QuietReporter

        reporter = QuietReporter(sys.stderr, workspace=workspace, color=opts.color(sys.stderr), kept=False)
    else:
        reporter = make_reporter(
            json=opts.json,
            stream_err=sys.stderr,
            stream_out=sys.stdout,
            color=opts.color(sys.stderr),
            verbose=verbose,
            quiet=opts.quiet,
            workspace=workspace,
        )
    # start-up: `pipex exec` loads this only when it runs
    from pipex.cli.commands.run import consume

    result = asyncio.run(consume(engine, lambda: events, reporter))
    raise typer.Exit(exit_status(result, ephemeral=ephemeral))


def exit_status(result: RunResult, *, ephemeral: bool) -> int:
    """--ephemeral: the step's own exit status (a container's code, or 1 if it never exited)."""
    if not ephemeral or result.status != "failed" or not result.steps:
        return result.exit_code
    code = result.steps[0].exit_code
    return code if code else 1


def register(app: typer.Typer) -> None:
    app.command("exec", epilog=EPILOG)(exec_)


def _binary_stdout() -> BinaryIO:
    return _binary_stream(sys.stdout)


def _binary_stream(text: TextIO) -> BinaryIO:
    buffer = getattr(text, "buffer", None)
    if buffer is not None:
        text.flush()
        return cast("BinaryIO", buffer)
    return cast("BinaryIO", _TextBytes(text))


class _TextBytes(io.RawIOBase):
    """Bytes into a text stream (CliRunner's stdout in tests): decoded, invalid bytes kept as escapes."""

    def __init__(self, text: TextIO) -> None:
        super().__init__()
        self.text = text

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.text.write(bytes(data).decode("utf-8", errors="surrogateescape"))
        return len(data)
