"""Time the run reporters on 10,000 steps' events (target: each whole feed, close included, under 1 s).

Run: ``.venv/bin/python bench/bench_live_view.py [STEPS]``. Two feeds: a dry run (every step cached or
would run) and a run (each step started then ended, four at a time, with a retry now and then). Each goes
through the live view (``make_reporter(tty=True, color=True)``, its 10 Hz ticker running) into a fake
240x50 terminal, and through the plain reporter into a fake pipe. Prints the best of three per reporter.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from pipex.cli.reporters import make_reporter
from pipex.engine.events import (
    Event,
    Metrics,
    PipelineEnd,
    PipelineStart,
    RunResult,
    StepCached,
    StepEnd,
    StepOutcome,
    StepRef,
    StepRetry,
    StepStart,
    StepWouldRun,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CONCURRENCY = 4


class FakeTerminal(io.StringIO):
    """Counts what a terminal would receive; reports itself as a TTY."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.chars = 0
        self.writes = 0

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.chars += len(text)
        self.writes += 1
        return len(text)


def _events(
    steps: list[StepRef], body: Callable[[Callable[..., Event]], Iterator[Event]], *, dry_run: bool
) -> list[Event]:
    seq = iter(range(1, 10**9))

    def make(cls: type[Event], **fields: object) -> Event:
        n = next(seq)
        return cls(run_id="r1", seq=n, ts=T0 + timedelta(milliseconds=n), workspace="bench", **fields)

    out = [make(PipelineStart, pipeline="bench", steps=tuple(steps), dry_run=dry_run)]
    out += body(make)
    outcomes = tuple(StepOutcome(s.id, s.name, "cached") for s in steps)
    result = RunResult(
        run_id="r1",
        workspace="bench",
        status="success",
        steps=outcomes,
        duration=12.0,
        metrics=Metrics(ran=len(steps)),
        dry_run=dry_run,
    )
    out.append(make(PipelineEnd, result=result))
    return out


def dry_run(steps: list[StepRef]) -> list[Event]:
    def body(make: Callable[..., Event]) -> Iterator[Event]:
        for i, step in enumerate(steps):
            if i % 50:
                yield make(StepCached, step=step, cached_run_id=f"run-{i}")
            else:
                yield make(StepWouldRun, step=step, reasons=("the command changed",))

    return _events(steps, body, dry_run=True)


def run(steps: list[StepRef]) -> list[Event]:
    def body(make: Callable[..., Event]) -> Iterator[Event]:
        for start in range(0, len(steps), CONCURRENCY):
            batch = steps[start : start + CONCURRENCY]
            for step in batch:
                yield make(StepStart, step=step, image="alpine:3.20")
            for step in batch:
                if start % 1000 == 0:
                    yield make(StepRetry, step=step, attempt=2, max=3, delay=1.0, reason="exited with code 1")
                yield make(
                    StepEnd,
                    step=step,
                    status="success",
                    exit_code=0,
                    reason=None,
                    step_run_id="x",
                    duration=1.5,
                    artifacts_size=4096,
                )

    return _events(steps, body, dry_run=False)


def feed(events: list[Event], *, tty: bool) -> tuple[float, FakeTerminal]:
    terminal = FakeTerminal(tty)
    started = time.perf_counter()
    reporter = make_reporter(
        json=False,
        stream_err=terminal,
        stream_out=io.StringIO(),
        tty=tty,
        color=tty,
        verbose=False,
        quiet=False,
        workspace="bench",
        environ={"TERM": "xterm-256color", "COLUMNS": "240", "LINES": "50"},
    )
    for event in events:
        reporter.handle(event)
    reporter.close()
    return time.perf_counter() - started, terminal


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    steps = [StepRef(f"step-{i:05d}", f"Step {i}") for i in range(count)]
    for name, events in (("dry run", dry_run(steps)), ("run", run(steps))):
        for reporter, tty in (("live", True), ("plain", False)):
            best, terminal = min((feed(events, tty=tty) for _ in range(3)), key=lambda got: got[0])
            print(
                f"{name:8} {reporter:6} {len(events):>7,} events  {best:6.3f} s  "
                f"({terminal.writes:,} writes, {terminal.chars / 1e6:.1f} MB)"
            )


if __name__ == "__main__":
    main()
