"""The interactive view on a terminal: finished steps scroll by, running steps animate at the bottom.

Design (why it stays fast with 10,000 steps):

* ``handle`` only updates an in-memory model — running steps in start order, image pulls, counters — and
  queues the finished step's line, already rendered to an ANSI string. Nothing is drawn per event.
* A ticker thread draws at most ``refresh_per_second`` (10) times a second: it prints every queued line in
  one write *above* the live area (so the scrollback keeps each finished step, as the plain output would),
  then redraws the live area. A burst of 10,000 cached steps costs a few large writes, not 10,000 redraws.
  The queued lines bypass rich's layout engine (their ANSI text is ready), which is where the time would go.
* The live area (``rich.live.Live``, transient) never outgrows the terminal: one line per running step
  (spinner, elapsed time, ``retry k/n``, the last line it wrote) and per image being pulled, cut to the
  terminal's height with ``… N more running``, then a footer with the counts of every state and the run's
  elapsed time. Finished steps are not repeated there: the most recent ones are the lines right above it.
* If lines are queued faster than a tick drains them (``--verbose`` with a chatty step), ``handle`` flushes
  them itself, which slows the producer instead of growing memory.

On ``PipelineEnd`` the live area is removed and the failure summary and final line are printed; ``close``
does the same cleanup (cursor shown again) when the run ends with an exception.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING

from pipex.cli.reporters import lines
from pipex.cli.reporters.base import Line, count, human_duration, human_size, render, sanitize
from pipex.cli.reporters.summary import summary_lines
from pipex.engine.events import (
    Event,
    ImagePull,
    LogLines,
    PipelineEnd,
    PipelineStart,
    RunWarning,
    StepCached,
    StepEnd,
    StepJob,
    StepLog,
    StepRetry,
    StepSkipped,
    StepStart,
    StepWaiting,
    StepWarning,
    StepWouldRun,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from pipex.engine.options import LogEvents

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MAX_PENDING = 2000  # queued lines that make ``handle`` draw at once
MAX_LABEL = 32  # step ids are padded to the longest, up to this
# Footer counts: (model key, label, style), in display order.
_COUNTS = (
    ("running", "running", "cyan"),
    ("ok", "ok", "green"),
    ("failed", "failed", "red"),
    ("cancelled", "cancelled", "red"),
    ("cached", "cached", "dim"),
    ("would_run", "would run", "magenta"),
    ("skipped", "skipped", "yellow"),
    ("waiting", "waiting for approval", "yellow"),
)


@dataclass(slots=True)
class _Running:
    started: datetime
    retry: str = ""
    last: str = ""  # the last line the step wrote
    job: str = ""  # the attempt's batch job (Slurm), shown as `job 1234`


@dataclass(slots=True)
class _Group:
    """The instances of one fan-out step, shown as one line while any runs: ``convert  3/4 ✓  1 running``."""

    started: datetime
    seen: int = 0
    ok: int = 0
    failed: int = 0
    running: int = 0


def _group_of(step_id: str) -> str | None:
    """The fan-out step of an instance id (``convert[eu-csv]`` → ``convert``), else ``None``."""
    return step_id.rpartition("[")[0] if step_id.endswith("]") else None


@dataclass(slots=True)
class _Pull:
    image: str
    status: str
    current: int | None
    total: int | None


class LiveReporter:
    def __init__(
        self,
        console: Console,
        *,
        verbose: bool = False,
        workspace: str = "",
        refresh_per_second: float = 10.0,
        auto_refresh: bool = True,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.console = console
        self.verbose = verbose
        # The live area shows each running step's latest line: each chunk's last line is enough for that;
        # --verbose prints every line above it.
        self.wants_logs: LogEvents = True if verbose else "last"
        self.workspace = workspace
        self.refresh_per_second = refresh_per_second
        self.auto_refresh = auto_refresh
        self.color = console.color_system is not None and not console.no_color
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()  # the model and the queue
        self._paint = threading.RLock()  # the terminal: one writer at a time
        self._pending: list[str] = []
        self._running: dict[str, _Running] = {}
        self._groups: dict[str, _Group] = {}  # fan-out steps with instances seen, in first-seen order
        self._seen: set[str] = set()  # instances counted in their group
        self._pulls: dict[str, _Pull] = {}  # by step id
        self._announced: set[str] = set()  # images whose pull has a line
        self._done: Counter[str] = Counter()
        self._total = 0
        self._width = 0
        self._started: datetime | None = None
        self._live: Live | None = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._ended = False

    # -- events -------------------------------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        if type(event) is StepLog and not self.verbose and self._live is not None:
            # The hot path of a chatty step: only the running step's last line changes. One attribute store is
            # atomic for the ticker thread, which only reads it: no lock, no line to queue.
            running = self._running.get(event.step.id)
            if running is not None:
                running.last = event.line
            return
        if self._ended:
            return
        if isinstance(event, PipelineEnd):
            self._stop_live()
            self._ended = True
            self._print([render(line, color=self.color) for line in summary_lines(event.result, self.workspace)])
            return
        if self._live is None:
            self._start()
        with self._lock:
            line = self._apply(event)
            if line is not None:
                self._pending.append(render(tuple((sanitize(t), s) for t, s in line), color=self.color))
            backlog = len(self._pending)
        if backlog >= MAX_PENDING:
            self.refresh()

    def handle_lines(self, lines: LogLines) -> None:
        if not self.verbose and self._live is not None:
            running = self._running.get(lines.step.id)  # as handle: only the latest line shows
            if running is not None:
                running.last = lines.lines[-1]
            return
        for event in lines.events():
            self.handle(event)

    def _apply(self, event: Event) -> Line | None:
        """Update the model (under ``_lock``); → the line to print above the live area, if any."""
        if isinstance(event, StepLog):
            running = self._running.get(event.step.id)
            if running is not None:
                running.last = event.line
            return lines.log_line(event) if self.verbose else None
        if isinstance(event, (StepEnd, StepCached, StepSkipped, StepWouldRun, StepWaiting)):
            self._running.pop(event.step.id, None)
            self._pulls.pop(event.step.id, None)
            state = _state(event)
            self._done[state] += 1
            group = self._instance(event.step.id, event.ts)
            if group is not None:
                group.running -= isinstance(event, StepEnd)
                group.ok += state in ("ok", "cached")
                group.failed += state in ("failed", "cancelled")
            return lines.finish_line(event, width=self._width)
        if isinstance(event, StepStart) and (group := self._instance(event.step.id, event.ts)) is not None:
            group.running += 1  # one line for all the running instances of a step, not one each
            return lines.start_line(event, width=self._width) if event.reasons else None
        if isinstance(event, StepStart):
            self._pulls.pop(event.step.id, None)
            before = self._running.get(event.step.id)
            self._running[event.step.id] = _Running(event.ts, retry=before.retry if before else "")
            return lines.start_line(event, width=self._width) if event.reasons else None
        if isinstance(event, StepRetry):
            running = self._running.setdefault(event.step.id, _Running(event.ts))
            running.retry = f"retry {event.attempt}/{event.max}"
            return lines.retry_line(event, width=self._width)
        if isinstance(event, StepJob):
            running = self._running.get(event.step.id)  # an instance runs in its group's line: no job shown
            if running is not None:
                running.job = event.job
            return None
        if isinstance(event, StepWarning):
            return lines.warning_line(event, width=self._width)
        if isinstance(event, ImagePull):
            self._pulls[event.step.id] = _Pull(event.image, event.status, event.current, event.total)
            if event.image in self._announced:
                return None
            self._announced.add(event.image)
            return lines.pull_line(event, width=self._width)
        if isinstance(event, PipelineStart):
            self._started = event.ts
            self._total = len(event.steps)
            self._width = min(max((len(s.id) for s in event.steps), default=0), MAX_LABEL)
            return lines.pipeline_line(event)
        if isinstance(event, RunWarning):
            return lines.run_warning_line(event)
        return None

    def _instance(self, step_id: str, ts: datetime) -> _Group | None:
        """The group of an instance (counted once, on its first event), else ``None``."""
        name = _group_of(step_id)
        if name is None:
            return None
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = _Group(ts)
            self._total -= 1  # the step now counts as its instances
        if step_id not in self._seen:
            self._seen.add(step_id)
            group.seen += 1
            self._total += 1
        return group

    # -- drawing ------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Print the queued lines above the live area and redraw it (the ticker calls this)."""
        with self._paint:
            with self._lock:
                pending, self._pending = self._pending, []
            live = self._live
            if live is None:
                self._print(pending)
                return
            with self.console:  # buffered: the lines and the redraw reach the terminal in one write
                self._print(pending)
                live.refresh()

    def _print(self, rendered: list[str]) -> None:
        if not rendered:
            return
        # start-up: rich is imported once the live view is used
        from rich.segment import Segment, Segments

        # Ready ANSI text: rich must neither parse nor crop it (it would count escape codes as width).
        self.console.print(Segments([Segment("\n".join(rendered) + "\n")]), crop=False, highlight=False, end="")

    def _start(self) -> None:
        # start-up: rich is imported once the live view is used
        from rich.live import Live

        self._live = Live(
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,  # stdout may carry data (`exec --ephemeral`)
            redirect_stderr=False,
            vertical_overflow="crop",
            get_renderable=self._render,
        )
        self._live.start(refresh=False)
        if self.auto_refresh:
            self._ticker = threading.Thread(target=self._tick, name="pipex-live", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        interval = 1 / self.refresh_per_second
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except OSError:  # the terminal is gone: nothing left to draw on
                return

    def _stop_live(self) -> None:
        self._stop.set()
        ticker, self._ticker = self._ticker, None
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join()
        with self._paint:
            self.refresh()
            live, self._live = self._live, None
            if live is not None:
                live.stop()

    def close(self) -> None:
        if not self._ended:
            self._ended = True
            self._stop_live()
        self.console.file.flush()

    # -- the live area ------------------------------------------------------------------------------------

    def _render(self) -> Text:
        # start-up: rich is imported once the live view is used
        from rich.text import Text

        with self._lock:
            now = self._now()
            rows = _rows(self._lines(now), max(self.console.size.height - 2, 2) - 1)
            rows.append(self._footer(now))
        return Text("\n", no_wrap=True, overflow="ellipsis", end="").join(
            Text.assemble(*row, no_wrap=True, overflow="ellipsis", end="") for row in rows
        )

    def _lines(self, now: datetime) -> Iterator[Line]:
        width = self._width
        for step_id, pull in self._pulls.items():
            progress = pull.status
            if pull.current is not None and pull.total:
                progress += f" {human_size(pull.current)} / {human_size(pull.total)}"
            yield (
                ("⇣", "blue"),
                (" ", ""),
                (step_id.ljust(width), ""),
                ("  ", ""),
                (f"pulling {pull.image}", ""),
                ("  ", ""),
                (sanitize(progress), "dim"),
            )
        frame = FRAMES[int(now.timestamp() * 10) % len(FRAMES)]
        for name, group in self._groups.items():
            if group.running <= 0:
                continue
            cells: list[tuple[str, str]] = [
                (frame, "cyan"),
                (" ", ""),
                (name.ljust(width), ""),
                ("  ", ""),
                (f"{group.ok + group.failed}/{group.seen} ✓ {group.running} running", ""),
            ]
            if group.failed:
                cells.append((f"  {group.failed} failed", "red"))
            yield tuple(cells)
        for step_id, running in self._running.items():
            row: list[tuple[str, str]] = [
                (frame, "cyan"),
                (" ", ""),
                (step_id.ljust(width), ""),
                ("  ", ""),
                (human_duration((now - running.started).total_seconds()), ""),
            ]
            if running.job:
                row.append((f"  job {running.job}", "dim"))
            if running.retry:
                row.append((f"  {running.retry}", "yellow"))
            if running.last:
                row.append((f"  {sanitize(running.last)}", "dim"))
            yield tuple(row)

    def _footer(self, now: datetime) -> Line:
        done = self._done
        finished = sum(done.values())
        row: list[tuple[str, str]] = [
            (f"{count(finished)}/{count(self._total)} done" if self._total else f"{count(finished)} done", "bold")
        ]
        running = len(self._running) + sum(max(g.running, 0) for g in self._groups.values())
        counts = {**done, "running": running}
        for key, label, style in _COUNTS:
            if counts.get(key):
                row += [(" · ", "dim"), (f"{count(counts[key])} {label}", style)]
        if self._started is not None:
            row += [(" · ", "dim"), (human_duration((now - self._started).total_seconds()), "dim")]
        return tuple(row)


def _rows(active: Iterator[Line], room: int) -> list[Line]:
    """At most ``room`` lines of ``active``; the last one says how many more there are when they don't fit."""
    rows = list(islice(active, room + 1))
    if len(rows) <= room:
        return rows
    more = len(rows) - room + 1 + sum(1 for _ in active)
    return [*rows[: room - 1], ((f"… {count(more)} more running", "dim"),)]


def _state(event: lines.FinishEvent) -> str:
    if isinstance(event, StepWaiting):
        return "waiting"
    if isinstance(event, StepEnd):
        return {"success": "ok", "cancelled": "cancelled"}.get(event.status, "failed")
    if isinstance(event, StepCached):
        return "cached"
    if isinstance(event, StepSkipped):
        return "skipped"
    return "would_run"
