"""``pipex rm``/``clean``: remove the containers of the workspaces they delete.

A workspace's containers outlive it only when a pipex died (``kill -9``) before its clean-up; such a pipex
always leaves its step's staging directory behind (a container is removed before its run is committed). So the
engine is asked only for workspaces with leftovers in staging: deleting a clean workspace never needs an engine.
When none answers, the files are deleted all the same and a warning says how to remove the containers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pipex.config import RuntimeKind
from pipex.errors import PipexError
from pipex.executors.halt import sweep
from pipex.runtime import labels
from pipex.workspace.layout import Workspace

if TYPE_CHECKING:
    from pipex.runtime.base import Runtime


class ContainerSweeper:
    """A ``before_drop`` for ``pipex.workspace.maintenance``: removes each workspace's containers; the engine is
    opened once, when first needed. ``warnings`` holds what the CLI should print; ``close()`` when done."""

    def __init__(
        self,
        kind: RuntimeKind = "auto",
        host: str | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        runtime: Runtime | None = None,
    ) -> None:
        self.kind = kind
        self.host = host
        self.environ = environ
        self.removed: list[str] = []
        self.warnings: list[str] = []
        self._runtime = runtime
        self._owned = False
        self._unreachable: str | None = None

    def __call__(self, ws: Workspace) -> None:
        if not _has_leftovers(ws):
            return
        runtime = self._open()
        if runtime is None:
            self.warnings.append(
                f'cannot remove the containers of workspace "{ws.name}" ({self._unreachable}); remove them with '
                f"`podman rm -f $(podman ps -aq --filter label={labels.WORKSPACE}={ws.name})` once the engine runs"
            )
            return
        done = sweep(runtime, ws.workdir, ws.name)
        self.removed += done.removed
        self.warnings += [f'workspace "{ws.name}": {error}' for error in done.errors]

    def _open(self) -> Runtime | None:
        if self._runtime is not None or self._unreachable is not None:
            return self._runtime
        # start-up: the runtime clients load only when a deleted workspace has leftover containers
        from pipex.runtime.factory import open_runtime

        try:
            self._runtime = open_runtime(self.kind, self.host, environ=self.environ)
        except PipexError as exc:
            self._unreachable = " ".join(exc.message.split())  # discovery lists what it tried, one a line
            return None
        self._owned = True
        return self._runtime

    def close(self) -> None:
        if self._owned and self._runtime is not None:
            self._runtime.close()


def _has_leftovers(ws: Workspace) -> bool:
    try:
        with os.scandir(ws.staging_dir) as entries:
            return any(True for _ in entries)
    except OSError:
        return False
