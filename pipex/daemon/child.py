"""The background process of a detached run: ``python -m pipex.daemon --status-fd FD REQUEST`` (see ``spawn``).

It leaves the terminal's session (double fork + ``setsid``; ``SIGHUP`` ignored), runs the pipeline, and on
the first event — the workspace lock is held by then — opens the event log, moves its own stdout/stderr into the
workspace and tells the parent on the status pipe. ``SIGTERM``/``SIGINT`` cancel the run cleanly (containers
stopped and removed, ``cancelled`` recorded); a second one kills the containers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipex.daemon.eventlog import EventLog
from pipex.daemon.request import DetachedRequest
from pipex.engine.engine import Engine
from pipex.engine.events import PipelineEnd
from pipex.engine.options import RunOptions
from pipex.errors import PipexError
from pipex.kits.check import load
from pipex.model.pipeline import Pipeline
from pipex.model.secret import Secret
from pipex.runtime.base import Runtime
from pipex.workspace.layout import Workspace


def main(argv: Sequence[str] | None = None) -> int:
    """The process ``spawn`` starts: read the request, leave the terminal's session, run."""
    parser = argparse.ArgumentParser(prog="python -m pipex.daemon", description="a detached pipex run")
    parser.add_argument("--status-fd", type=int, required=True, help="pipe to report the start on")
    parser.add_argument("--secrets-fd", type=int, help="pipe the secrets' values come on (JSON, read to its end)")
    parser.add_argument("request", type=Path, help="the request file (deleted once read)")
    args = parser.parse_args(argv)
    status = _Status(args.status_fd)
    try:
        secrets = _read_secrets(args.secrets_fd) if args.secrets_fd is not None else {}
        request = DetachedRequest.read(args.request, secrets=secrets)
    except PipexError as exc:
        status.failed(exc)
        return exc.exit_code
    daemonize()
    return run_detached(request, status)


def _read_secrets(fd: int) -> dict[str, Secret]:
    try:
        with os.fdopen(fd, "rb") as pipe:
            data = json.loads(pipe.read().decode("utf-8", "surrogateescape") or "{}")
    except (OSError, ValueError) as exc:
        raise PipexError("the detached run did not receive its secrets", hint="run it without -d") from exc
    return {str(name): Secret(str(value)) for name, value in data.items()}


def daemonize() -> None:
    """Fork again so the run is nobody's child, in a session of its own (``Popen`` made the first one)."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def run_detached(
    request: DetachedRequest, status: _Status | int, *, runtime: Runtime | None = None, redirect_stdio: bool = True
) -> int:
    """Run ``request`` in this process, reporting its start on ``status`` (a pipe's fd). ``runtime``: use this one
    instead of the named engine; ``redirect_stdio=False`` keeps this process's stdout/stderr (both for running a
    detached run inside a test process)."""
    if isinstance(status, int):
        status = _Status(status)
    engine = Engine(request.workdir, runtime or request.runtime, host=request.host)
    try:
        pipeline = load(request.pipeline, cwd=request.cwd)
    except PipexError as exc:
        status.failed(exc)
        return exc.exit_code
    return asyncio.run(_serve(engine, pipeline, request.options, status, redirect_stdio))


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


async def _serve(engine: Engine, pipeline: Pipeline, options: RunOptions, status: _Status, redirect: bool) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, engine.cancel)
    log: EventLog | None = None
    code = 1
    try:
        async for event in engine.run(pipeline, replace(options, logs=True)):
            if log is None:
                ws = Workspace(engine.workdir_for(pipeline), event.workspace)
                log = EventLog(ws, event.run_id)
                if redirect:
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
