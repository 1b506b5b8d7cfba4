"""``pipex cancel``: stop a detached run cleanly and wait until it has recorded its end."""

from __future__ import annotations

import os
import signal
import time

from pipex.daemon.eventlog import log_path, read_current, writer_alive
from pipex.errors import WorkspaceError
from pipex.workspace.layout import Workspace

KILL_AFTER = 20.0  # seconds after the first SIGTERM: a second one kills the containers at once


def cancel_run(ws: Workspace, *, timeout: float = 60.0, poll: float = 0.1) -> str:
    """Signal the workspace's detached run to stop and wait for it to end; its run id."""
    current = read_current(ws)
    path = log_path(ws, current.run_id)
    if not writer_alive(path):
        raise WorkspaceError(
            f'no detached run is in progress in workspace "{ws.name}" (the last one, {current.run_id}, has ended)',
            hint=f"`pipex attach {ws.name}` replays how it ended",
        )
    _signal(current.pid)
    started = time.monotonic()
    second = False
    while writer_alive(path):
        waited = time.monotonic() - started
        if waited > timeout:
            raise WorkspaceError(
                f"run {current.run_id} (pid {current.pid}) did not stop within {timeout:g} s",
                hint=f"try again, or kill it with `kill -9 {current.pid}` (its containers are reaped next run)",
            )
        if waited > KILL_AFTER and not second:
            _signal(current.pid)
            second = True
        time.sleep(poll)
    return current.run_id


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it ended on its own meanwhile
    except PermissionError as exc:
        raise WorkspaceError(f"cannot signal pid {pid}: {exc.strerror}", hint="run pipex cancel as its user") from exc
