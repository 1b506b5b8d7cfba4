"""A detached run's event log, inside its workspace::

    events/<runId>.jsonl   one ``codec.encode``d event per line, appended whole by one write (readers never
                           see half a line as a line); the writer holds an flock on it while it lives
    events/<runId>.log     the background process's own stdout/stderr (tracebacks, engine messages)
    events/current         {"runId", "pid"} of the latest detached run (replaced atomically)

Whether the writer still lives is the kernel's flock, so a ``kill -9``'d run is seen as dead at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pipex.engine.codec import encode
from pipex.engine.events import Event
from pipex.errors import WorkspaceError
from pipex.workspace.atomic import read_json, write_json
from pipex.workspace.ids import is_run_id
from pipex.workspace.layout import Workspace
from pipex.workspace.lock import held


def events_dir(ws: Workspace) -> Path:
    return ws.events_dir


def log_path(ws: Workspace, run_id: str) -> Path:
    return events_dir(ws) / f"{run_id}.jsonl"


@dataclass(frozen=True, slots=True)
class Current:
    run_id: str
    pid: int


def read_current(ws: Workspace) -> Current:
    """The workspace's latest detached run; ``WorkspaceError`` when it never had one."""
    ws.require()
    try:
        data = read_json(events_dir(ws) / "current")
        current = Current(str(data["runId"]), int(data["pid"]))
    except FileNotFoundError:
        current = None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkspaceError(f"cannot read {events_dir(ws) / 'current'}: {exc}") from exc
    if current is None or not is_run_id(current.run_id):
        raise WorkspaceError(
            f'workspace "{ws.name}" has no detached run',
            hint=f"start one with `pipex run -d -w {ws.name}`",
        )
    return current


def writer_alive(path: Path) -> bool:
    """Whether a process still holds the log open for writing (its flock)."""
    return held(path)


class EventLog:
    """The writer side, owned by the background process (which holds the workspace lock)."""

    def __init__(self, ws: Workspace, run_id: str) -> None:
        self.path = log_path(ws, run_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        write_json(events_dir(ws) / "current", {"runId": run_id, "pid": os.getpid()})

    def redirect_stdio(self) -> None:
        """The process's stdout and stderr go to ``<runId>.log`` from now on (the terminal may be gone)."""
        sys.stdout.flush()
        sys.stderr.flush()
        out = os.open(self.path.with_suffix(".log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)

    def append(self, event: Event) -> None:
        line = (json.dumps(encode(event), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with contextlib.suppress(OSError):  # a full disk must not stop the run; its own record is on disk
            os.write(self._fd, line)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # drops the flock: readers now know the writer is gone
            self._fd = -1
