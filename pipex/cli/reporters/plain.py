"""Line-per-event text for logs and pipes (CI): no cursor movement, no colour, flushed per event.

The line formats are those of ``pipex.cli.reporters.lines`` (and ``summary`` at the end). An image pull prints
one ``pulling`` line per image, not its progress; ``--verbose`` adds the steps' output lines, prefixed
``[step]`` and passed through unchanged. Those are flushed within ``FLUSH_AFTER`` (50 ms) rather than one by
one (see ``flushing``); every other line at once.
"""

from __future__ import annotations

from typing import TextIO

from pipex.cli.reporters import lines
from pipex.cli.reporters.base import Line, plain
from pipex.cli.reporters.flushing import SoonFlush
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


class PlainReporter:
    def __init__(self, stream: TextIO, *, verbose: bool = False, workspace: str = "") -> None:
        self.stream = stream
        self.verbose = verbose
        self.wants_logs = verbose
        self.workspace = workspace
        self._pulling: set[str] = set()
        self._flush = SoonFlush(stream)
        # stderr is line-buffered (always, since Python 3.9): that is a flush per output line again. While the
        # step's lines pour in, the stream is block-buffered and flushed by SoonFlush; close restores it.
        self._relined = verbose and getattr(stream, "line_buffering", False) and hasattr(stream, "reconfigure")
        if self._relined:
            stream.reconfigure(line_buffering=False)  # type: ignore[attr-defined]

    def handle(self, event: Event) -> None:
        if isinstance(event, StepLog):
            if self.verbose:
                text = f"[{event.step.id}] {event.line}\n"
                with self._flush.lock:
                    self.stream.write(text)
                    self._flush.soon()
            return
        if isinstance(event, PipelineEnd):
            self._write(summary_lines(event.result, self.workspace))
            return
        line = self._line(event)
        if line is not None:
            self._write([line])

    def handle_lines(self, lines: LogLines) -> None:
        if self.verbose:
            prefix = f"[{lines.step.id}] "
            text = "".join([f"{prefix}{line}\n" for line in lines.lines])
            with self._flush.lock:
                self.stream.write(text)
                self._flush.soon()

    def _line(self, event: Event) -> Line | None:
        if isinstance(event, (StepEnd, StepCached, StepSkipped, StepWouldRun, StepWaiting)):
            return lines.finish_line(event)
        if isinstance(event, StepStart):
            return lines.start_line(event)
        if isinstance(event, StepRetry):
            return lines.retry_line(event)
        if isinstance(event, StepJob):
            return lines.job_line(event)
        if isinstance(event, StepWarning):
            return lines.warning_line(event)
        if isinstance(event, ImagePull):
            if event.image in self._pulling:  # progress of a pull already announced
                return None
            self._pulling.add(event.image)
            return lines.pull_line(event)
        if isinstance(event, PipelineStart):
            return lines.pipeline_line(event)
        if isinstance(event, RunWarning):
            return lines.run_warning_line(event)
        return None

    def _write(self, out: list[Line]) -> None:
        text = "".join(plain(line) + "\n" for line in out)
        with self._flush.lock:
            self.stream.write(text)
            self._flush.now()

    def close(self) -> None:
        with self._flush.lock:
            self._flush.now()
            if self._relined:
                self._relined = False
                self.stream.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
