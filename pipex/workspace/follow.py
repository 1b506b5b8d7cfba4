"""``pipex logs -f``: follow a step of a live run until the step ends.

The live attempt writes ``staging/<runId>/{stdout,stderr}.log``; the files are opened once and read as they
grow, and an open file survives the commit rename, so nothing written before the commit is lost. A retry
makes a new staging directory (the follower moves to it); the step has ended when its newest staging
directory is gone (committed) or when the run holding the workspace lock has ended.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import BinaryIO

from pipex.workspace.layout import Workspace
from pipex.workspace.live import staging_runs
from pipex.workspace.lock import holder_of
from pipex.workspace.reader import Stream

POLL = 0.1


class _Tail:
    """The growing log files of one attempt; in ``both`` mode whole lines are written, so streams never mix
    inside a line."""

    def __init__(self, ws: Workspace, run_id: str, stream: Stream, write: Callable[[bytes], None]) -> None:
        self.ws, self.run_id, self.write = ws, run_id, write
        self.names = ("stdout", "stderr") if stream == "both" else (stream,)
        self.whole_lines = stream == "both"
        self.files: dict[str, BinaryIO] = {}
        self.pending: dict[str, bytes] = dict.fromkeys(self.names, b"")

    def _open(self, name: str) -> BinaryIO | None:
        if name not in self.files:
            for base in (self.ws.staging_dir, self.ws.runs_dir):
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    self.files[name] = (base / self.run_id / f"{name}.log").open("rb")
                    break
        return self.files.get(name)

    def pump(self, *, final: bool = False) -> None:
        for name in self.names:
            fh = self._open(name)
            if fh is None:
                continue
            data = self.pending[name] + fh.read()
            if self.whole_lines and not final:
                cut = data.rfind(b"\n") + 1
                data, self.pending[name] = data[:cut], data[cut:]
            else:
                self.pending[name] = b""
            if data:
                self.write(data)

    def close(self) -> None:
        self.pump(final=True)
        for fh in self.files.values():
            fh.close()


def follow(
    ws: Workspace, step: str, stream: Stream, write: Callable[[bytes], None], *, poll: float = POLL
) -> str | None:
    """Write the live step's log bytes as they come until it ends; the run id followed, or ``None`` when no run
    held the workspace or the run ended before the step started (the caller then prints the committed logs)."""
    tail: _Tail | None = None
    try:
        while True:
            runs = staging_runs(ws).get(step, ())
            newest = runs[-1] if runs else None
            if newest is not None and (tail is None or newest > tail.run_id):
                if tail is not None:
                    tail.close()
                tail = _Tail(ws, newest, stream, write)
            if tail is not None:
                tail.pump()
                if not (ws.staging_dir / tail.run_id).exists():
                    return tail.run_id  # committed (or removed): the step has ended
            if holder_of(ws.lock_path) is None:
                return tail.run_id if tail is not None else None
            time.sleep(poll)
    finally:
        if tail is not None:
            tail.close()
