"""``pipex run [PATH]``: run a pipeline, skipping the steps whose fingerprint has not changed.

No ``from __future__ import annotations`` here: typer would evaluate every annotation string of ``run`` at each
start (~5 ms); the few annotations naming type-checking-only imports are quoted instead.
"""

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipex.cli import complete, options
from pipex.cli.argv import FORCE_ALL
from pipex.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipex.cli.reporters.base import Reporter
    from pipex.engine.engine import Engine
    from pipex.engine.events import Event, RunResult
    from pipex.engine.options import RunOptions
    from pipex.model.pipeline import Pipeline

EPILOG = options.epilog(
    [
        ("pipex run", "./pipeline.yml in the workspace named after the pipeline"),
        ("pipex run examples/text-processing -w demo", "another file, workspace demo"),
        ("pipex run --dry-run", "what would run and why; touches nothing"),
        ("pipex run --explain", "run, saying why each step is not cached"),
        ("pipex run -f", "force every step"),
        ("pipex run --force stats,report", "force two steps"),
        ("pipex run -t report -c 2", "report and its dependencies, 2 at a time"),
        ("pipex run --json | jq .event", "JSON lines on stdout"),
        ("pipex run -d -w demo", "in the background; then: pipex attach demo"),
    ],
    "A step is cached when its fingerprint (image ID, command, environment, content of its mounts, sources and "
    "inputs) equals that of its last successful run. -f/--force takes an optional comma list of steps: the "
    "word after it is the list (-f a,b), as in the original pipex; write PATH before -f to force every step of "
    "another pipeline (pipex run other/ -f).",
    "Exit codes: 0 success, 1 a step failed, 2 usage or validation error, 3 engine unavailable, "
    "4 workspace in use, 5 suspended (approval gates wait: pipex approve WS STEP, then pipex resume WS), "
    "130 interrupted.",
)


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


def run(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH", help="Pipeline file or directory (default: the current directory).", show_default=False
        ),
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            metavar="NAME",
            help="Workspace name (default: the pipeline id).",
            autocompletion=complete.workspaces,
        ),
    ] = None,
    force: Annotated[
        str | None,
        typer.Option(
            "--force",
            "-f",
            metavar="[STEPS]",
            help="Re-run steps even if cached: all, or the comma list after it.",
            autocompletion=complete.pipeline_steps,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run and why; read-only.")] = False,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            "-t",
            metavar="STEPS",
            help="Run only these steps (comma list) and their inputs.",
            autocompletion=complete.pipeline_steps,
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", metavar="N", help="Containers at once (default: CPUs).")
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            metavar="FILE",
            help="dotenv file for every step and for `if` conditions.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    secret_file: options.SecretFiles = None,
    secret: options.SecretNames = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the steps' log lines.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Say why each step runs.")] = False,
    pull: Annotated[
        str, typer.Option("--pull", metavar="POLICY", help="Image pull policy: always, missing or never.")
    ] = "missing",
    timeout: Annotated[
        float | None, typer.Option("--timeout", metavar="SEC", help="Stop the whole run after SEC seconds.")
    ] = None,
    strict_limits: Annotated[
        bool, typer.Option("--strict-limits", help="Fail a step whose resource limits the engine cannot enforce.")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; follow it with `pipex attach WS`.")
    ] = False,
    attach: Annotated[
        bool, typer.Option("--attach", help="Run in the foreground even when .pipex.yml says detach: true.")
    ] = False,
    cache_store: Annotated[
        Path | None,
        typer.Option(
            "--cache-store",
            metavar="DIR",
            help="A shared cache directory: reuse what other workdirs, users or machines computed (and add to it).",
        ),
    ] = None,
    report: Annotated[
        str | None,
        typer.Option("--report", metavar="FILE", help="Write the run's report there at the end (.html, .json, .tsv)."),
    ] = None,
    approve: Annotated[
        str | None,
        typer.Option("--approve", metavar="STEPS", help="Approve these approval gates in advance (comma list)."),
    ] = None,
    executor: options.Executor = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Run a pipeline: independent steps in parallel, unchanged steps from the cache."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex run` loads this only when it runs
    from pipex.cli.reporters import make_reporter
    from pipex.engine.engine import Engine
    from pipex.engine.options import RunOptions

    engine = Engine(workdir=opts.workdir, runtime=opts.engine_runtime(), host=opts.host)
    if not dry_run:
        engine.start_engine_early()  # Podman's start (no socket) overlaps loading and checking the pipeline
    forced: bool | tuple[str, ...] = False
    if force is not None:
        forced = True if force == FORCE_ALL else _ids(force)
    run_options = RunOptions(
        workspace=workspace,
        force=forced,
        target=_ids(target),
        concurrency=concurrency,
        dry_run=dry_run,
        env_file=env_file,
        timeout=timeout,
        pull=pull,  # type: ignore[arg-type]  # any string: RunOptions.check names the policies
        explain=explain,
        strict_limits=strict_limits,
        cache_store=cache_store.absolute() if cache_store else None,
        secrets=options.given_secrets(secret_file, secret),
        approve=_ids(approve),
        executor=executor,  # type: ignore[arg-type]  # any string: RunOptions.check names the executors
    )
    if detach and attach:
        raise UsageError("-d/--detach and --attach contradict each other", hint="give one of them")
    if report and (detach or dry_run):
        what = "a dry run records nothing" if dry_run else "a detached run ends later"
        raise UsageError(f"--report: {what}", hint="after a run: pipex report WS -o FILE")
    pipeline = _load(path, force, json=opts.json, workspace=workspace)
    if (detach or (pipeline.config.detach and not attach and not report)) and not dry_run:
        _start_detached(engine, pipeline, run_options, json=opts.json, quiet=opts.quiet)
        return
    reporter = make_reporter(
        json=opts.json,
        stream_err=sys.stderr,
        stream_out=sys.stdout,
        color=opts.color(sys.stderr),
        verbose=verbose,
        quiet=opts.quiet,
        workspace=workspace or pipeline.id,
    )
    result = run_in_foreground(engine, pipeline, run_options, reporter)
    if report:
        # start-up: the report renderer only when a report is asked for
        from pipex.cli.commands.report import format_of, write_report

        workdir = engine.workdir_for(pipeline)
        write_report(workdir, result.workspace, result.run_id, report, format_of(report), quiet=opts.quiet)
    raise typer.Exit(result.exit_code)


def run_in_foreground(
    engine: "Engine", pipeline: "Pipeline", run_options: "RunOptions", reporter: "Reporter"
) -> "RunResult":
    """The run, its events to ``reporter`` (``run`` and ``resume``)."""
    # The lines of each chunk whole: no StepLog object per output line on the CLI's path.
    run_options = replace(run_options, logs=reporter.wants_logs, on_log_lines=reporter.handle_lines)
    return asyncio.run(consume(engine, lambda: engine.run(pipeline, run_options), reporter))


def _load(path: Path | None, force: str | None, *, json: bool, workspace: str | None) -> "Pipeline":
    """The pipeline, with two errors made useful: a PATH written after ``-f`` (taken as its list), and, for
    ``--json`` consumers, an invalid pipeline still ends the stream with a ``pipeline_end`` record."""
    # start-up: `pipex run` loads this only when it runs
    from pipex.errors import PipelineError
    from pipex.kits.check import load

    try:
        pipeline = load(path)
    except PipelineError as exc:
        _force_names_a_path(force, ())
        if json:
            typer.echo(validation_end(exc, workspace=workspace))
        raise
    except Exception:
        _force_names_a_path(force, ())
        raise
    _force_names_a_path(force, pipeline.ids)
    return pipeline


def _force_names_a_path(force: str | None, step_ids: "Sequence[str]") -> None:
    """``pipex run -f examples/x``: the original's ``-f`` takes the next word as its list; when that word is
    no step but a path on disk, say how to write what was meant."""
    if force is None or force == FORCE_ALL or "," in force or force in step_ids:
        return
    if Path(force).exists():
        raise UsageError(
            f'--force {force}: "{force}" is not a step of the pipeline but a path (-f takes the next word as '
            "its list of steps)",
            hint=f"to force every step of {force}, write `pipex run {force} --force`",
        )


def validation_end(exc: Exception, *, workspace: str | None) -> str:
    """The one ``pipeline_end`` JSON line of a run whose pipeline did not validate (the ``--json`` contract:
    every stream ends with one), with the problems as ``validate --json`` lists them."""
    # start-up: only an invalid pipeline under --json needs these
    from pipex.cli.reporters.jsonl import dumps_line
    from pipex.engine import terminal
    from pipex.errors import PipelineError
    from pipex.workspace.ids import new_run_id

    problems = exc.problems if isinstance(exc, PipelineError) else ()
    message = exc.message if isinstance(exc, PipelineError) else str(exc)
    end = terminal.validation_end(new_run_id(), workspace or "", message, problems)
    data = end.to_json()
    data["problems"] = [{"location": p.location, "message": p.message, "hint": p.hint} for p in problems]
    return dumps_line(data)


def _start_detached(
    engine: "Engine", pipeline: "Pipeline", run_options: "RunOptions", *, json: bool, quiet: bool
) -> None:
    """Start the run in the background and say how to follow it: the run id on stdout (JSON with --json)."""
    # start-up: `pipex run` loads this only when it runs
    import json as jsonlib

    from pipex.daemon.spawn import start

    started = start(engine, pipeline, run_options)
    if json:
        data = {"runId": started.run_id, "workspace": started.workspace, "pid": started.pid}
        typer.echo(jsonlib.dumps({**data, "events": str(started.events)}))
        return
    typer.echo(started.run_id)
    if not quiet:
        ws = started.workspace
        typer.echo(
            f'detached: run {started.run_id} in workspace "{ws}" (pid {started.pid})\n'
            f"  follow it: pipex attach {ws}\n  stop it:   pipex cancel {ws}",
            err=True,
        )


async def consume(engine: "Engine", events: Callable[[], AsyncIterator["Event"]], reporter: "Reporter") -> "RunResult":
    """Feed a run's events (``run`` or ``exec``) to the reporter; Ctrl-C/SIGTERM stop the run cleanly, a second
    one kills. ``events`` is called inside the event loop, where the run has to live."""
    # start-up: `pipex run` loads this only when it runs
    from pipex.engine.events import PipelineEnd

    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        running = engine.interrupt()
        # On stderr in every mode (stdout may be a JSON stream): the user must know the first one was heard.
        sys.stderr.write(stop_notice(running, engine.interrupts) + "\n")
        sys.stderr.flush()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    result = None
    try:
        async for event in events():
            reporter.handle(event)
            if isinstance(event, PipelineEnd):
                result = event.result
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        reporter.close()
    assert result is not None
    return result


def stop_notice(running: int, nth: int) -> str:
    """What pipex says on the ``nth`` Ctrl-C/SIGTERM while ``running`` steps run."""
    steps = f"{running} running step" + ("" if running == 1 else "s")
    if nth > 1:
        return f"pipex: killing {steps} now"
    return f"pipex: stopping {steps} (Ctrl-C again kills them at once)"


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(run)
