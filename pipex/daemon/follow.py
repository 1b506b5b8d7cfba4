"""Following a detached run: replay its event log, then read new lines as they are appended, until the
``PipelineEnd``. If the background process died without one (``kill -9``, a crash), the stream still ends with
exactly one ``PipelineEnd``: a failed one saying so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pipex.daemon.eventlog import log_path, read_current, writer_alive
from pipex.engine.codec import decode
from pipex.engine.engine import Engine
from pipex.engine.events import Event, PipelineEnd
from pipex.engine.terminal import fault_result
from pipex.errors import WorkspaceError
from pipex.workspace.layout import Workspace

POLL_SECONDS = 0.1


def attach(engine: Engine, workspace: str, run_id: str | None = None) -> AsyncIterator[Event]:
    """The events of the workspace's detached run (``run_id``: an earlier one) in ``engine``'s workdir: those so
    far, then live ones until its ``PipelineEnd``. Leaving the loop early does not stop the run."""
    return follow(Workspace(engine.workdir_for(), workspace), run_id)


async def follow(ws: Workspace, run_id: str | None = None, poll: float = POLL_SECONDS) -> AsyncIterator[Event]:
    run_id = run_id or read_current(ws).run_id
    path = log_path(ws, run_id)
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise WorkspaceError(f'workspace "{ws.name}" has no event log for run {run_id}') from None
    last: Event | None = None
    pending = b""
    with stream:
        while True:
            chunk = stream.read()
            gone = False
            if not chunk:
                if writer_alive(path):
                    await asyncio.sleep(poll)
                    continue
                # The writer is gone: what it wrote before exiting is readable now; a torn last line is dropped.
                chunk, gone = stream.read(), True
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    last = decode(json.loads(line))
                except ValueError as exc:
                    raise WorkspaceError(f"{path} is damaged: {exc}") from exc
                yield last
                if isinstance(last, PipelineEnd):
                    return
            if gone:
                yield _died(ws, run_id, last)
                return


def _died(ws: Workspace, run_id: str, last: Event | None) -> PipelineEnd:
    message = "the detached pipex process ended before the run did (killed?); its log is " + str(
        log_path(ws, run_id).with_suffix(".log")
    )
    result = fault_result(run_id, ws.name, message)
    seq = last.seq + 1 if last is not None else 1
    return PipelineEnd(run_id=run_id, seq=seq, ts=datetime.now(UTC), workspace=ws.name, result=result)
