"""The end of a run's output, rendered from its ``RunResult``: what failed and why, then one final line.

Format (stable)::

    (blank line)
    ✗ report  exit 1
      hint: …                                   (for reasons image, network, command)
      │ Traceback (most recent call last):
      │ ValueError: bad row 12
      all output: pipex logs geodata report
    ✗ failed after 4.1s: 3 ran, 5 cached, 1 failed, 1 skipped

Each failed step shows the last lines it wrote (``StepOutcome.tail``: stderr, or stdout when stderr is empty)
and the command printing all of them. A failure without a step (the engine stopped) prints ``error: …``.
The final line's counts are the ``RunResult``'s metrics (``ran``: containers that ran to an end, failed ones
included; not cancelled steps nor steps whose image could not be had); a stopped run (interrupted, cancelled,
timed out) adds how many steps the next run reuses from the cache; a dry run counts ``would run`` instead of
``ran``/``failed``.
"""

from __future__ import annotations

import shlex
from typing import TextIO

from pipex.cli.reporters.base import Line, count, human_duration, render, sanitize
from pipex.cli.reporters.lines import failure_detail, failure_message
from pipex.engine.events import Event, LogLines, PipelineEnd, RunResult, StepOutcome

_WORDS = {
    "success": "succeeded",
    "failed": "failed",
    "timeout": "timed out",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
    "suspended": "suspended",
}


# What to do about a failure whose reason says it all (the README's Troubleshooting says the same).
REASON_HINTS = {
    "image": "pull it, check the name, or set the kit's `image`; offline, `runtimes/shell-image.sh` builds the "
    "shell kit's image from busybox",
    "network": "rootless networking needs slirp4netns or pasta and a usable /dev/net/tun: run `pipex doctor`; "
    "or drop allowNetwork from the step",
    "command": "the image has no such executable: check `cmd` (or the image's entrypoint), or use an image that has it",
}


_STOPPED = ("interrupted", "cancelled", "timeout")


def failed_outcomes(result: RunResult) -> list[StepOutcome]:
    failed = set(result.failed_steps)
    return [o for o in result.steps if o.id in failed]


def failure_lines(result: RunResult, workspace: str = "", *, kept: bool = True) -> list[Line]:
    """A block per failed step: its failure, its last output lines, how to see all of it.

    ``kept=False`` (``exec --ephemeral``): the step's output went to pipex's own stdout/stderr and no run was
    kept, so neither its last lines nor a ``pipex logs`` command are shown."""
    ws = result.workspace or workspace
    lines: list[Line] = []
    outcomes = failed_outcomes(result)
    for o in outcomes:
        lines.append(())
        what = failure_detail(o.state, o.exit_code, o.reason)
        message = failure_message(o.reason, o.message)
        head: list[tuple[str, str]] = [("✗", "red"), (" ", ""), (o.id, "bold"), ("  ", ""), (what, "red")]
        if message:
            head.append((f": {message}", "red"))
        lines.append(tuple(head))
        hint = REASON_HINTS.get(o.reason or "")
        if hint:
            lines.append((("  hint: ", "yellow"), (hint, "")))
        # A failure before the step ran has only pipex's own message as its log: said once, above.
        tail = [text for text in o.tail if text != f"pipex: {o.message}"] if kept else []
        lines.extend((("  │ ", "dim"), (sanitize(text), "")) for text in tail)
        if kept and o.run_id is not None and len(tail) == len(o.tail):
            if not o.tail:
                lines.append((("  (no output)", "dim"),))
            command = f"pipex logs {shlex.quote(ws)} {shlex.quote(o.id)}"
            lines.append((("  all output: ", "dim"), (command, "")))
    if not outcomes and not result.ok:
        errors = tuple(e.message for e in result.errors) or ((result.error,) if result.error else ())
        if errors:
            lines.append(())
        lines.extend((("error:", "red"), (" ", ""), (message, "")) for message in errors)
    return lines


def final_line(result: RunResult) -> Line:
    """``✓ succeeded in 2m03s: 3 ran, 5 cached, 0 failed, 1 skipped``."""
    m = result.metrics
    if result.dry_run:
        counts = f"{count(m.would_run)} would run, {count(m.cached)} cached, {count(m.skipped)} skipped"
        word = "dry run" if result.ok else f"dry run {_WORDS.get(result.status, result.status)}"
    else:
        counts = f"{count(m.ran)} ran, {count(m.cached)} cached, {count(m.failed)} failed, {count(m.skipped)} skipped"
        if m.cancelled:
            counts += f", {count(m.cancelled)} cancelled"
        if result.status in _STOPPED:
            # What an interrupted run leaves: every step that succeeded (or was cached) is reused next time.
            kept = sum(o.state in ("success", "cached") for o in result.steps)
            counts += f"; the next run reuses {kept} step{'' if kept == 1 else 's'} from the cache"
        word = _WORDS.get(result.status, result.status)
    when = "in" if result.ok else "after"
    symbol, style = ("✓", "green") if result.ok else ("✗", "red")
    if result.status == "suspended":
        symbol, style = "⏸", "yellow"
        counts += f", {count(len(result.waiting))} waiting for approval"
    return (
        (symbol, style),
        (" ", ""),
        (f"{word} {when} {human_duration(result.duration)}", f"bold {style}"),
        (f": {counts}", ""),
    )


def waiting_lines(result: RunResult, workspace: str = "") -> list[Line]:
    """A run held by approval gates: which, and exactly what to type next."""
    if not result.waiting or result.dry_run:
        return []
    ws = shlex.quote(result.workspace or workspace)
    gates = ",".join(result.waiting)
    out: list[Line] = [()]
    out += [
        (("⏸", "yellow"), (" ", ""), (gate, "bold"), ("  waiting for approval", "yellow")) for gate in result.waiting
    ]
    approve = " && ".join(f"pipex approve {ws} {shlex.quote(g)}" for g in result.waiting)
    out.append((("  approve: ", "dim"), (approve, "")))
    out.append((("  then:    ", "dim"), (f"pipex resume {ws}", ""), ("   (or pipex run again)", "dim")))
    out.append((("  or:      ", "dim"), (f"pipex reject {ws} {shlex.quote(result.waiting[0])} -m REASON", "")))
    if len(result.waiting) > 1:
        out.append((("  (in advance, e.g. in CI: pipex run --approve ", "dim"), (gates, ""), (")", "dim")))
    return out


def summary_lines(result: RunResult, workspace: str = "", *, kept: bool = True) -> list[Line]:
    return [*failure_lines(result, workspace, kept=kept), *waiting_lines(result, workspace), final_line(result)]


class QuietReporter:
    """``-q``: nothing while the run goes, then only the failure summary and the final line."""

    def __init__(self, stream: TextIO, *, workspace: str, color: bool = False, kept: bool = True) -> None:
        self.stream = stream
        self.kept = kept
        self.workspace = workspace
        self.color = color
        self.wants_logs = False

    def handle(self, event: Event) -> None:
        if isinstance(event, PipelineEnd):
            text = "".join(
                render(line, color=self.color) + "\n"
                for line in summary_lines(event.result, self.workspace, kept=self.kept)
            )
            self.stream.write(text)
            self.stream.flush()

    def handle_lines(self, lines: LogLines) -> None:
        """Shows no output lines (it asks for none: ``wants_logs`` is False)."""

    def close(self) -> None:
        self.stream.flush()
