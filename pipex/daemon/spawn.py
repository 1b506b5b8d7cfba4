"""Starting a detached run: a background ``python -m pipex.daemon`` process (``child.py``) for a ``RunOptions``.

The parent writes what the run needs — the pipeline file, the workdir, the runtime by name, the ``RunOptions`` —
to a JSON request file (``DetachedRequest``) that the child reads and deletes: the options cross as data, never
as a command line re-parsed by the CLI. The child double-forks into its own session (no controlling terminal:
closing the terminal does not reach it), takes the workspace lock, and only then writes one JSON line on the
status pipe: ``{"ok": true, "runId", "pid", "events"}``, or ``{"ok": false, "error", "message", "hint",
"exitCode"}`` if it could not start (a busy workspace: it touched nothing). The parent waits for that line, so
every error is reported where the user is.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Unpack

from pipex import errors
from pipex.daemon.request import DetachedRequest
from pipex.engine.engine import Engine
from pipex.engine.options import RunKeywords, RunOptions
from pipex.errors import PipexError, UsageError
from pipex.model.pipeline import Pipeline


@dataclass(frozen=True, slots=True)
class DetachedRun:
    """A run going on in a background pipex process: ``pipex attach WORKSPACE`` / ``pipex.daemon.attach``
    follow it."""

    run_id: str
    workspace: str
    pid: int
    events: Path  # its event log (JSON lines)


def start(
    engine: Engine, pipeline: Pipeline, options: RunOptions | None = None, **keywords: Unpack[RunKeywords]
) -> DetachedRun:
    """Start ``engine``'s run of ``pipeline`` in a background process and return once that process holds the
    workspace lock (errors before that are raised here); ``attach`` follows it. ``options``/keywords as for
    ``Engine.run``. A dry run is read-only: it is never detached (``UsageError``)."""
    options = engine.run_options(options, keywords)
    if options.dry_run:
        raise UsageError("a dry run is not detached: it only reads", hint="run it without -d")
    if not isinstance(engine.runtime_choice, str):
        raise UsageError("a detached run needs the runtime by name (auto, podman or docker), not a Runtime object")
    if pipeline.source is None:
        raise UsageError(
            "a detached run needs a pipeline read from a file", hint="write it with pipeline.to_yaml() and load that"
        )
    request = DetachedRequest(
        pipeline=pipeline.source.absolute(),
        cwd=Path.cwd(),
        workdir=engine.workdir_for(pipeline),
        runtime=engine.runtime_choice,
        host=engine.host,
        options=replace(options, workspace=options.workspace or pipeline.id),
    )
    fd, name = tempfile.mkstemp(prefix="pipex-run-", suffix=".json")  # private (0600); the child deletes it
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(request.to_json(), file)  # secret names only: their values go through a pipe
    secrets = {key: value.reveal() for key, value in options.secrets.items()}
    try:
        return _spawn(Path(name), None if engine.environ is None else dict(engine.environ), secrets)
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(name).unlink()  # the child did not get to it


def _spawn(request: Path, env: dict[str, str] | None, secrets: dict[str, str]) -> DetachedRun:
    read_end, write_end = os.pipe()
    # The secrets' values cross on a pipe the child reads first: never in its argv, its request file or its logs.
    secrets_read, secrets_write = os.pipe()
    argv = [sys.executable, "-m", "pipex.daemon", "--status-fd", str(write_end)]
    argv += ["--secrets-fd", str(secrets_read), str(request)]
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_end, secrets_read),
            start_new_session=True,
            env=env,
        )
    except BaseException:
        os.close(secrets_write)
        raise
    finally:
        os.close(write_end)
        os.close(secrets_read)
    # A thread: more than a pipe's buffer would block until the child reads, and the child may die first.
    threading.Thread(target=_send_secrets, args=(secrets_write, secrets), daemon=True).start()
    with os.fdopen(read_end, "rb") as status:
        line = status.readline()  # one line, or EOF when the child died first
    if not line:
        assert proc.stderr is not None
        tail = proc.stderr.read().decode(errors="replace").strip().splitlines()
        proc.stderr.close()
        proc.wait()
        why = tail[-1] if tail else f"exit status {proc.returncode}"
        raise PipexError(f"the detached run did not start: {why}", hint="run it without -d to see every message")
    assert proc.stderr is not None
    proc.stderr.close()
    proc.wait()  # the intermediate process exits at once; the run lives on in its child
    return started(json.loads(line))


def _send_secrets(fd: int, secrets: dict[str, str]) -> None:
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(json.dumps(secrets).encode("utf-8", "surrogateescape"))
    except OSError:
        pass  # the child died before reading: its status line says why


def started(message: dict[str, Any]) -> DetachedRun:
    """The run the child's status line describes, or its error raised."""
    if message.get("ok"):
        m = message
        return DetachedRun(str(m["runId"]), str(m["workspace"]), int(m["pid"]), Path(m["events"]))
    raise rebuild_error(message)


def rebuild_error(message: dict[str, Any]) -> PipexError:
    """The child's error as the same ``pipex.errors`` class where it can be rebuilt, with its exit code."""
    cls = getattr(errors, str(message.get("error")), None)
    text, hint = str(message.get("message")), message.get("hint")
    error: PipexError | None = None
    if isinstance(cls, type) and issubclass(cls, PipexError):
        with contextlib.suppress(TypeError):
            error = cls(text, hint=hint)
    if error is None:
        error = PipexError(text, hint=hint)
    error.exit_code = int(message.get("exitCode", error.exit_code))
    return error
