"""Starting a detached run: a background ``python -m pipex run … --_detached-child FD`` process.

The child double-forks into its own session (no controlling terminal: closing the terminal does not reach it),
takes the workspace lock, and only then writes one JSON line on the status pipe ``FD``: ``{"ok": true, "runId",
"pid", "events"}``, or ``{"ok": false, "error", "message", "hint", "exitCode"}`` if it could not start (a busy
workspace: it touched nothing). The parent waits for that line, so every error is reported where the user is.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipex import errors
from pipex.errors import PipexError, UsageError

if TYPE_CHECKING:
    from pipex.engine.engine import Engine
    from pipex.engine.options import RunOptions
    from pipex.model.pipeline import Pipeline

CHILD_OPTION = "--_detached-child"


@dataclass(frozen=True, slots=True)
class DetachedRun:
    """A run going on in a background pipex process: ``pipex attach WORKSPACE`` / ``Engine.attach`` follow it."""

    run_id: str
    workspace: str
    pid: int
    events: Path  # its event log (JSON lines)


def child_args(options: RunOptions) -> list[str]:
    """``pipex run`` options that reproduce ``options`` (the workspace is always given)."""
    args = ["--workspace", str(options.workspace)]
    if options.force is True:
        args.append("--force=*")
    elif options.force:
        args.append("--force=" + ",".join(options.force))
    if options.target:
        args.append("--target=" + ",".join(options.target))
    if options.concurrency is not None:
        args.append(f"--concurrency={options.concurrency}")
    if options.env_file is not None:
        args.append(f"--env-file={options.env_file.absolute()}")
    if options.timeout is not None:
        args.append(f"--timeout={options.timeout}")
    args.append(f"--pull={options.pull}")
    if options.explain:
        args.append("--explain")
    if options.strict_limits:
        args.append("--strict-limits")
    return args


def detach_run(engine: Engine, pipeline: Pipeline, options: RunOptions) -> DetachedRun:
    from dataclasses import replace

    if not isinstance(engine.runtime_choice, str):
        raise UsageError("a detached run needs the runtime by name (auto, podman or docker), not a Runtime object")
    if pipeline.source is None:
        raise UsageError(
            "a detached run needs a pipeline read from a file", hint="write it with pipeline.to_yaml() and load that"
        )
    workdir = engine.workdir_for(pipeline)
    options = replace(options, workspace=options.workspace or pipeline.id)
    argv = [sys.executable, "-m", "pipex", "--workdir", str(workdir)]
    if engine.runtime_choice != "auto":
        argv += ["--runtime", engine.runtime_choice]
    if engine.host:
        argv += ["--host", engine.host]
    read_end, write_end = os.pipe()
    argv += ["run", str(pipeline.source), *child_args(options), CHILD_OPTION, str(write_end)]
    env = None if engine.environ is None else dict(engine.environ)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_end,),
            start_new_session=True,
            env=env,
        )
    finally:
        os.close(write_end)
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
    return _started(json.loads(line))


def _started(message: dict[str, Any]) -> DetachedRun:
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
