"""The background process of a detached run (``pipex run … --_detached-child FD``).

It leaves the terminal's session (double fork + ``setsid``; ``SIGHUP`` ignored), runs the pipeline, and on
the first event — the workspace lock is held by then — opens the event log, moves its own stdout/stderr into the
workspace and tells the parent on the status pipe. ``SIGTERM``/``SIGINT`` cancel the run cleanly (containers
stopped and removed, ``cancelled`` recorded); a second one kills the containers at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipex.daemon.eventlog import EventLog
from pipex.errors import PipexError

if TYPE_CHECKING:
    from pipex.engine.engine import Engine
    from pipex.model.pipeline import Pipeline


def daemonize() -> None:
    """Fork again so the run is nobody's child, in a session of its own (``Popen`` made the first one)."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def run_child(status_fd: int, load: Callable[[], Pipeline], engine: Engine, kwargs: dict[str, Any]) -> int:
    daemonize()
    status = _Status(status_fd)
    try:
        pipeline = load()
    except PipexError as exc:
        status.failed(exc)
        return exc.exit_code
    return asyncio.run(_serve(engine, pipeline, kwargs, status))


class _Status:
    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def send(self, message: dict[str, Any]) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.write(fd, (json.dumps(message) + "\n").encode())
        except OSError:
            pass  # the parent is gone: nobody to tell
        finally:
            os.close(fd)

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, PipexError):
            name, message, hint, code = type(exc).__name__, exc.message, exc.hint, exc.exit_code
        else:
            name, message, hint, code = "PipexError", f"internal error: {exc!r}", None, 1
        self.send({"ok": False, "error": name, "message": message, "hint": hint, "exitCode": code})


async def _serve(engine: Engine, pipeline: Pipeline, kwargs: dict[str, Any], status: _Status) -> int:
    from pipex.engine.events import PipelineEnd
    from pipex.workspace.layout import Workspace

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, engine.cancel)
    log: EventLog | None = None
    code = 1
    try:
        async for event in engine.run(pipeline, **{**kwargs, "logs": True}):
            if log is None:
                ws = Workspace(engine.workdir_for(pipeline), event.workspace)
                log = EventLog(ws, event.run_id)
                log.redirect_stdio()
                where = {"workspace": ws.name, "pid": os.getpid(), "events": str(log.path)}
                status.send({"ok": True, "runId": event.run_id, **where})
            log.append(event)
            if isinstance(event, PipelineEnd):
                code = event.result.exit_code
    except BaseException as exc:
        status.failed(exc)  # only reaches the parent if the run never started
        if isinstance(exc, PipexError):
            return exc.exit_code
        raise
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if log is not None:
            log.close()
    return code
