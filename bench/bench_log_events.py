"""Per-line cost of a chatty step in process: N log lines through ``Engine.run`` into each reporter.

Run: ``.venv/bin/python bench/bench_log_events.py [LINES] [MODE…] [--repeat N]`` (default 200,000 lines, every
mode, best of 3). One step of the in-memory runtime prints LINES lines of 105 bytes, handed over in 64 KiB
chunks cut anywhere (as the attach stream's frame reader hands them over), generated as they are read so
the runtime holds no copy of the output. Each mode runs in a fresh interpreter, so its peak RSS is its own:

* ``plain``: the plain reporter without ``--verbose`` (no ``StepLog`` wanted: ``logs=False``);
* ``verbose``: the plain reporter with ``--verbose`` (``[step] line`` per line);
* ``json``: ``--json`` (a ``step_log`` JSON line per line);
* ``live``: the live view without ``--verbose`` on a fake terminal (it shows each running step's last line);
* ``events``: the events iterated and dropped (the engine's share alone), one ``StepLog`` per line as the Python
  API hands them out (the reporters take each chunk's lines whole, as the CLI asks: ``on_log_lines``).

Reporters write to ``/dev/null`` through text files buffered as the CLI's stdout (by blocks) and stderr (by
lines) are when redirected. Prints
seconds, µs per line (after subtracting the same run with no output) and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

MODES = ("plain", "verbose", "json", "live", "events")
LINE = 106  # bytes a line, newline included (bench_engine prints the same lines)
CHUNK = 1 << 16
PIPELINE = "id: logs\nsteps:\n  - id: talk\n    image: alpine:3.20\n    cmd: [sh, -c, talk]\n"


def chunks(lines: int) -> Iterator[bytes]:
    """``lines`` lines like bench_engine's (``%08d %096d``), in CHUNK-byte pieces that ignore line ends."""
    block = "".join(f"{i:08d} {i:096d}\n" for i in range(4096)).encode()  # made once: the bench's own cost is ~0
    data = memoryview(block * 16)  # 6.9 MB: a whole number of CHUNKs is cut from it at a time
    total = lines * LINE
    sent = 0
    while sent < total:
        take = min(CHUNK, total - sent)
        start = sent % len(data)
        if start + take > len(data):
            take = len(data) - start
        yield bytes(data[start : start + take])
        sent += take


def one(mode: str, lines: int) -> tuple[float, float, int]:
    """Run the pipeline once in this process → (seconds, CPU seconds of all threads, lines the consumer saw)."""
    from pipex.cli.reporters import make_reporter
    from pipex.engine.engine import Engine
    from pipex.engine.events import LogLines, StepLog
    from pipex.engine.options import RunOptions
    from pipex.model import load
    from pipex.runtime.base import LogChunk, Stream
    from pipex.runtime.fake import FakeRuntime

    class Talking(FakeRuntime):
        def start_attached(self, container: str, *, started: Callable[[], None] | None = None) -> Iterator[LogChunk]:
            self.start(container)
            if started is not None:
                started()
            for data in chunks(lines):
                yield LogChunk(Stream.STDOUT, data)

    with tempfile.TemporaryDirectory(prefix="pipex-bench-") as tmp:
        root = Path(tmp)
        (root / "pipeline.yml").write_text(PIPELINE)
        pipeline = load(root / "pipeline.yml")
        engine = Engine(workdir=root / "wd", runtime=Talking())
        # Like the CLI's streams redirected to a file: stdout block-buffered, stderr line-buffered.
        devnull = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115 - closed below
        devnull_err = Path(os.devnull).open("w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed below
        terminal = _Terminal()
        reporter = None
        if mode != "events":
            reporter = make_reporter(
                json=mode == "json",
                stream_err=terminal if mode == "live" else devnull_err,
                stream_out=devnull,
                tty=mode == "live",
                color=False,
                verbose=mode == "verbose",
                quiet=False,
                workspace="logs",
                environ={"TERM": "xterm", "COLUMNS": "200", "LINES": "50"},
            )
        wants = True if reporter is None else reporter.wants_logs
        seen = 0

        def on_lines(lines: LogLines) -> None:
            nonlocal seen
            seen += len(lines.lines)
            assert reporter is not None
            reporter.handle_lines(lines)

        # As the CLI runs it (pipex.cli.commands.run.run_in_foreground).
        options = RunOptions(force=True, logs=wants, on_log_lines=None if reporter is None else on_lines)

        async def consume() -> None:
            nonlocal seen
            async for event in engine.run(pipeline, options):
                if isinstance(event, StepLog):
                    seen += 1
                if reporter is not None:
                    reporter.handle(event)

        began, cpu = time.perf_counter(), time.process_time()
        try:
            asyncio.run(consume())
        finally:
            if reporter is not None:
                reporter.close()
            devnull.close()
            devnull_err.close()
        return time.perf_counter() - began, time.process_time() - cpu, seen


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def child(mode: str, lines: int, repeat: int) -> None:
    empty = [one(mode, 0) for _ in range(repeat)]
    full = [one(mode, lines) for _ in range(repeat)]
    base, base_cpu = min(r[0] for r in empty), min(r[1] for r in empty)
    best, cpu, seen = min(r[0] for r in full), min(r[1] for r in full), full[0][2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_line = (best - base) / max(lines, 1) * 1e6
    per_line_cpu = (cpu - base_cpu) / max(lines, 1) * 1e6
    print(
        f"{mode:8} {lines:>9,} lines  {best:6.2f} s  {per_line:5.1f} µs/line  (CPU {per_line_cpu:5.1f} µs/line)  "
        f"peak RSS {rss:4.0f} MB  StepLog seen: {seen:,}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lines", nargs="?", type=int, default=200_000)
    parser.add_argument("modes", nargs="*", choices=[*MODES, []], metavar="MODE", help=f"any of {', '.join(MODES)}")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.lines, args.repeat)
        return
    for mode in args.modes or MODES:
        cmd = [sys.executable, __file__, str(args.lines), "--repeat", str(args.repeat), "--child", mode]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
