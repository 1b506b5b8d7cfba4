"""The labels every pipex container carries, so pipex can find (and reap) exactly its own containers.

``pipex.workdir`` is a hash of the absolute workdir path: two workspaces named ``main`` in two workdirs
must never touch each other's containers. ``pipex.pid`` + ``pipex.host`` say which process on which machine
owns the container, so the next start can remove containers whose owner died (even by ``kill -9``).
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

PIPEX = "pipex"
WORKSPACE = "pipex.workspace"
WORKDIR = "pipex.workdir"
RUN = "pipex.run"
STEP = "pipex.step"
PID = "pipex.pid"
HOST = "pipex.host"


def workdir_hash(workdir: Path) -> str:
    """A short stable id of the absolute workdir path, resolved through symlinks so that two spellings of one
    directory are one workdir."""
    absolute = os.path.realpath(workdir)
    return hashlib.sha256(absolute.encode()).hexdigest()[:16]


def this_host() -> str:
    return socket.gethostname()


def owner_labels(workdir: Path, workspace: str) -> dict[str, str]:
    """The labels selecting every container of one workspace in one workdir (a ``Runtime.list`` filter)."""
    return {PIPEX: "1", WORKSPACE: workspace, WORKDIR: workdir_hash(workdir)}


def container_labels(
    workdir: Path,
    workspace: str,
    run_id: str,
    step_id: str,
    *,
    pid: int | None = None,
    host: str | None = None,
) -> dict[str, str]:
    """Labels of a container pipex creates; ``pid``/``host`` default to this process on this machine."""
    return {
        **owner_labels(workdir, workspace),
        RUN: run_id,
        STEP: step_id,
        PID: str(os.getpid() if pid is None else pid),
        HOST: this_host() if host is None else host,
    }
