"""Remove containers left behind by a pipex that died (``kill -9``, a crash, a reboot of the client).

Only containers of the same workdir + workspace, created on this host by a process that no longer exists, are
removed: another host's pid means nothing here, and a live pid (even one reused by an unrelated process) is
left alone — a container reaped by mistake would kill someone's running step, one kept by mistake is reaped
by a later start.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from pipex.errors import ContainerGone
from pipex.procs import pid_alive
from pipex.runtime import labels
from pipex.runtime.base import Runtime


def reap(
    runtime: Runtime,
    workdir: Path,
    workspace: str,
    *,
    pid_alive: Callable[[int], bool] = pid_alive,
    host: str | None = None,
) -> list[str]:
    """Remove this workspace's containers whose owning pipex process is dead; return their ids."""
    here = labels.this_host() if host is None else host
    me = os.getpid()
    removed: list[str] = []
    for container in runtime.list(labels.owner_labels(workdir, workspace)):
        if container.labels.get(labels.HOST) != here:
            continue
        try:
            pid = int(container.labels.get(labels.PID, ""))
        except ValueError:
            continue  # not written by pipex as we know it: never guess
        if pid == me or pid_alive(pid):
            continue
        with contextlib.suppress(ContainerGone):  # another pipex reaped it first: gone all the same
            runtime.remove(container.id)
        removed.append(container.id)
    # After the containers that used them: the secrets made for them (a crash left them behind).
    runtime.reap_secrets(labels.workdir_hash(workdir), pid_alive)
    return removed
