"""One ``Line`` per event: the text both the plain and the live reporter print for it.

The format is stable (CI logs get grepped)::

    pipeline geodata · workspace geodata · 4 steps        (`· dry run` appended for --dry-run)
    ⇣ build  pulling alpine:3.20
    ▶ build  started                                      (with --explain: `started (<reason>; <reason>)`)
    · build  job 1234                                     (the attempt became a batch job: --executor slurm)
    ✓ build  1.2s 3.4 KB                                  (size left out when the step wrote nothing)
    ✓ build  1.2s 3.4 KB on node7                         (the node its batch job ran on: --executor slurm)
    = test  cached
    - notify  skipped (condition)                         (or `skipped (dependency)`)
    ? deploy  would run (no previous successful run)
    ↻ flaky  retry 2/3 in 5.0s: exited with code 1
    ✗ report  exit 1 0.4s
    ✗ setup-db  exit 2 (setup) 3.1s
    ✗ slow  timeout 30.0s
    ✗ fetch  failed (image) 0.3s                          (the message follows in the run's summary)
    ✗ tool  exit 127 (command) 0.1s                       (the step's command is not in its image)
    ✗ build  cancelled 2.0s
    [build] a line the step wrote                         (--verbose: stdout and stderr)
    ! resource limits not enforced (memory of step build, and any later step): …   (a warning, once per run)

i.e. ``<symbol> <step id>  <detail>``: the symbol says the state, the step id is what ``pipex logs`` takes.
"""

from __future__ import annotations

from pipex.cli.reporters.base import Line, human_duration, human_size
from pipex.engine.events import (
    ImagePull,
    PipelineStart,
    RunWarning,
    StepCached,
    StepEnd,
    StepJob,
    StepLog,
    StepRef,
    StepRetry,
    StepSkipped,
    StepStart,
    StepWaiting,
    StepWarning,
    StepWouldRun,
)

# Reasons whose exit code (or state word) already says everything; others carry a message worth printing.
_SELF_EXPLAINED = frozenset({None, "exit", "setup", "timeout", "cancelled"})


def step_line(symbol: str, style: str, step: StepRef, detail: str, *, width: int = 0, detail_style: str = "") -> Line:
    return ((symbol, style), (" ", ""), (step.id.ljust(width), ""), ("  ", ""), (detail, detail_style))


def pipeline_line(event: PipelineStart) -> Line:
    parts = [("pipeline ", "dim"), (event.pipeline, "bold"), (" · workspace ", "dim"), (event.workspace, "bold")]
    if event.steps:
        n = len(event.steps)
        parts.append((f" · {n} step{'' if n == 1 else 's'}", "dim"))
    if event.dry_run:
        parts.append((" · dry run", "yellow"))
    return tuple(parts)


def start_line(event: StepStart, *, width: int = 0) -> Line:
    detail = "started" + (f" ({'; '.join(event.reasons)})" if event.reasons else "")
    return step_line("▶", "cyan", event.step, detail, width=width)


def job_line(event: StepJob, *, width: int = 0) -> Line:
    """The batch job an attempt became (Slurm): the id ``squeue``/``scontrol``/``scancel`` take."""
    return step_line("·", "dim", event.step, f"job {event.job}", width=width, detail_style="dim")


def pull_line(event: ImagePull, *, width: int = 0) -> Line:
    return step_line("⇣", "blue", event.step, f"pulling {event.image}", width=width)


def retry_line(event: StepRetry, *, width: int = 0) -> Line:
    detail = f"retry {event.attempt}/{event.max}"
    if event.delay > 0:
        detail += f" in {human_duration(event.delay)}"
    if event.reason:
        detail += f": {event.reason}"
    return step_line("↻", "yellow", event.step, detail, width=width, detail_style="yellow")


def warning_line(event: StepWarning, *, width: int = 0) -> Line:
    return step_line("!", "yellow", event.step, f"warning: {event.message}", width=width, detail_style="yellow")


def run_warning_line(event: RunWarning) -> Line:
    return (("!", "yellow"), (" ", ""), (event.message, "yellow"))


def log_line(event: StepLog) -> Line:
    return ((f"[{event.step.id}]", "dim"), (" ", ""), (event.line, ""))


def failure_detail(status: str, exit_code: int | None, reason: str | None) -> str:
    """``exit 1``, ``exit 2 (setup)``, ``timeout``, ``cancelled``, ``failed (image)``."""
    if status in ("timeout", "cancelled"):
        return status
    if exit_code is not None:
        return f"exit {exit_code}" + ("" if reason in (None, "exit") else f" ({reason})")
    return "failed" + (f" ({reason})" if reason else "")


def failure_message(reason: str | None, message: str | None) -> str | None:
    """The message worth printing after a failure: only when the exit code does not already say it."""
    return message if message and reason not in _SELF_EXPLAINED else None


def end_line(event: StepEnd, *, width: int = 0) -> Line:
    if event.status == "success":
        detail = human_duration(event.duration)
        if event.artifacts_size:
            detail += f" {human_size(event.artifacts_size)}"
        return step_line("✓", "green", event.step, detail + _on_node(event), width=width)
    # The message (an engine's answer, a missing image) is printed once, in the summary at the end of the run.
    detail = f"{failure_detail(event.status, event.exit_code, event.reason)} {human_duration(event.duration)}"
    return step_line("✗", "red", event.step, detail + _on_node(event), width=width, detail_style="red")


def _on_node(event: StepEnd) -> str:
    """Where a batch job ran (Slurm), for the node's logs or a node that fails every step; local: nothing."""
    return f" on {event.node}" if event.node else ""


def cached_line(event: StepCached, *, width: int = 0) -> Line:
    detail = "cached (store)" if event.source == "store" else "cached"
    return step_line("=", "dim", event.step, detail, width=width, detail_style="dim")


def skipped_line(event: StepSkipped, *, width: int = 0) -> Line:
    return step_line("-", "yellow", event.step, f"skipped ({event.reason})", width=width, detail_style="dim")


def would_run_line(event: StepWouldRun, *, width: int = 0) -> Line:
    detail = "would run" + (f" ({'; '.join(event.reasons)})" if event.reasons else "")
    return step_line("?", "magenta", event.step, detail, width=width)


def waiting_line(event: StepWaiting, *, width: int = 0) -> Line:
    return step_line("⏸", "yellow", event.step, f"waiting for approval: {event.message}", width=width)


FinishEvent = StepEnd | StepCached | StepSkipped | StepWouldRun | StepWaiting


def finish_line(event: FinishEvent, *, width: int = 0) -> Line:
    """The line of a step's final state."""
    if isinstance(event, StepWaiting):
        return waiting_line(event, width=width)
    if isinstance(event, StepEnd):
        return end_line(event, width=width)
    if isinstance(event, StepCached):
        return cached_line(event, width=width)
    if isinstance(event, StepSkipped):
        return skipped_line(event, width=width)
    return would_run_line(event, width=width)
