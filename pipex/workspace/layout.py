"""One workspace on disk and the operations that keep it consistent.

::

    <workdir>/<workspace>/
      state.json            last and lastSuccess run per step (atomic replace)
      runs/<runId>/         committed runs: artifacts/, stdout.log, stderr.log, meta.json (appear by rename)
      staging/<runId>/      in-flight runs (cleared at the next locked start)
      caches/<name>/        persistent caches (+ caches/<name>.lock for exclusive use)
      step-runs/<id>        symlink → ../runs/<runId> of the last successful run
      lock                  the workspace lock (flock; released by the kernel when pipex dies)

A crash at any instant leaves this consistent: a run is either complete under ``runs/`` or absent from it, and
``state.json`` is either the old or the new version.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipex.errors import UnusableWorkdir, WorkspaceError, WorkspaceNotFound, from_os_error
from pipex.workspace.atomic import fsync_dir, read_json, write_json
from pipex.workspace.ids import check_step_id, check_workspace_name, is_run_id
from pipex.workspace.lock import FileLock
from pipex.workspace.state import RunEntry, State, load_state


class Workspace:
    def __init__(self, workdir: Path, name: str) -> None:
        self.workdir = workdir.absolute()
        self.name = check_workspace_name(name)
        self.path = self.workdir / name
        self._state_lock = threading.Lock()
        self._state: State | None = None
        # Group commit of state.json: steps finishing together share one durable write (see ``_save_through``).
        self._write_lock = threading.Lock()
        self._changes = 0  # changes made to the state in memory
        self._saved = 0  # changes on disk
        self._runs_unsynced = False  # a run was renamed into runs/ by commit(wait=False): fsync runs/ before state

    # -- paths -------------------------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.path / "state.json"

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    @property
    def staging_dir(self) -> Path:
        return self.path / "staging"

    @property
    def caches_dir(self) -> Path:
        return self.path / "caches"

    @property
    def step_runs_dir(self) -> Path:
        return self.path / "step-runs"

    @property
    def events_dir(self) -> Path:
        """Detached runs' event logs (``pipex.daemon.eventlog``)."""
        return self.path / "events"

    @property
    def lock_path(self) -> Path:
        return self.path / "lock"

    def exists(self) -> bool:
        return self.path.is_dir()

    def require(self) -> Workspace:
        if not self.exists():
            raise WorkspaceNotFound(
                f'workspace "{self.name}" does not exist in {self.workdir}',
                hint="`pipex list` shows the workspaces; `--workdir` selects another workdir",
            )
        return self

    def create(self) -> None:
        try:
            for d in (self.runs_dir, self.staging_dir, self.caches_dir, self.step_runs_dir):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG):
                raise from_os_error(exc, f'creating workspace "{self.name}"') from exc
            raise UnusableWorkdir(
                f"cannot create workspace {self.path}: {_why_unusable(exc)}",
                hint=_UNUSABLE_HINTS.get(exc.errno or 0, _UNUSABLE_HINTS[0]),
            ) from exc

    def lock(self, command: str | None = None) -> FileLock:
        """Take the workspace lock now (fails fast with ``WorkspaceBusy``)."""
        self.create()
        return FileLock(self.lock_path, what=f'workspace "{self.name}"', command=command).acquire()

    # -- state -------------------------------------------------------------------------------------------------
    def state(self) -> State:
        with self._state_lock:
            if self._state is None:
                self._state = load_state(self.state_path)
            return self._state

    def record(self, step_id: str, entry: RunEntry, *, wait: bool = True) -> None:
        """Record a finished run of a step and write ``state.json`` atomically (callers hold the workspace lock);
        returns once a ``state.json`` holding it is on disk.

        ``wait=False`` (a run that costs nothing to make again, like a shared-cache hit): the entry is written with
        the next ``state.json`` another step writes, or by ``flush``. The run itself must already be committed: a
        crash before then loses the entry, never leaves ``state.json`` naming a run that is not on disk (a run
        committed with ``wait=False`` is made durable before any ``state.json`` that names it)."""
        with self._state_lock:
            if self._state is None:
                self._state = load_state(self.state_path)
            self._state.record(step_id, entry)
            self._changes += 1
            mine = self._changes
        if wait:
            self._save_through(mine)
        if entry.status == "success":
            self._link_step(step_id, entry.run_id)

    def flush(self) -> None:
        """Write ``state.json`` if it lacks entries recorded with ``wait=False``."""
        with self._state_lock:
            mine = self._changes
        self._save_through(mine)

    def forget_step(self, step_id: str) -> None:
        with self._state_lock:
            if self._state is None:
                self._state = load_state(self.state_path)
            self._state.forget(step_id)
            self._changes += 1
            mine = self._changes
        self._save_through(mine)
        with contextlib.suppress(FileNotFoundError):
            (self.step_runs_dir / step_id).unlink()

    def _save_through(self, change: int) -> None:
        """Write ``state.json`` unless a write since ``change`` was made already holds it: while one thread's
        write (and fsync) runs, the steps that finish meanwhile wait for it and then share the next one."""
        with self._write_lock:
            if self._saved >= change:
                return
            with self._state_lock:
                assert self._state is not None
                data, upto = self._state.to_json(), self._changes
                # Every run this state names was renamed into runs/ before it was recorded, so before now: one
                # fsync of runs/ from here on makes all of them durable before the state that names them is.
                unsynced, self._runs_unsynced = self._runs_unsynced, False
            if unsynced:
                fsync_dir(self.runs_dir)
            write_json(self.state_path, data)
            self._saved = upto

    def _link_step(self, step_id: str, run_id: str) -> None:
        link = self.step_runs_dir / check_step_id(step_id)
        tmp = self.step_runs_dir / f".{step_id}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(f"../runs/{run_id}", tmp)
        os.replace(tmp, link)

    # -- runs --------------------------------------------------------------------------------------------------
    def new_staging(self, run_id: str) -> Path:
        run = self.staging_dir / run_id
        try:
            run.mkdir()
        except FileNotFoundError:  # staging/ itself is gone
            run.mkdir(parents=True)
        (run / "artifacts").mkdir()
        return run

    def commit(self, run_id: str, meta: dict[str, Any], *, wait: bool = True) -> Path:
        """Write ``meta.json`` into the staged run, then publish it with one atomic rename.

        The run is whole before the rename (its ``meta.json`` and the entry naming it are on disk), so a run that
        is in ``runs/`` after a crash is complete. ``wait=False`` (with ``record(..., wait=False)``): the rename
        itself is made durable by the next ``state.json`` write, before that state names the run, instead of by
        an ``fsync`` of ``runs/`` now; a crash before then may forget the run, never half of it."""
        staged = self.staging_dir / run_id
        write_json(staged / "meta.json", meta)
        final = self.runs_dir / run_id
        os.rename(staged, final)
        if wait:
            fsync_dir(self.runs_dir)
        else:
            with self._state_lock:
                self._runs_unsynced = True
        return final

    def run_dir(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise WorkspaceError(f'invalid run id "{run_id}"')
        return self.runs_dir / run_id

    def read_meta(self, run_id: str) -> dict[str, Any]:
        path = self.run_dir(run_id) / "meta.json"
        try:
            data = read_json(path)
        except FileNotFoundError as exc:
            raise WorkspaceNotFound(f'run "{run_id}" does not exist in workspace "{self.name}"') from exc
        except (OSError, ValueError) as exc:
            raise WorkspaceError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise WorkspaceError(f"{path} is damaged")
        return data

    def run_ids(self) -> list[str]:
        try:
            return sorted(e.name for e in os.scandir(self.runs_dir) if is_run_id(e.name))
        except FileNotFoundError:
            return []

    def clear_staging(self, remove_tree: Callable[[Path], None] | None = None) -> int:
        """Remove in-flight runs left by a dead pipex (call with the workspace lock held)."""
        count = 0
        try:
            entries = list(os.scandir(self.staging_dir))
        except FileNotFoundError:
            return 0
        for entry in entries:
            remove(Path(entry.path), remove_tree)
            count += 1
        return count

    # -- caches ------------------------------------------------------------------------------------------------
    def cache_dir(self, name: str) -> Path:
        path = self.caches_dir / check_step_id(name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cache_lock(self, name: str, command: str | None = None) -> FileLock:
        self.caches_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(self.caches_dir / f"{check_step_id(name)}.lock", what=f'cache "{name}"', command=command)


def remove(path: Path, remove_tree: Callable[[Path], None] | None = None) -> None:
    """Delete a file or tree; when the user may not (files a container wrote), ask the runtime to."""
    try:
        if path.is_dir() and not path.is_symlink():
            # On Linux rmtree walks with directory descriptors (rmtree.avoids_symlink_attacks): a link a step left
            # is unlinked, never followed, so deleting a run cannot delete anything outside it.
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return
    except PermissionError:
        if remove_tree is None:
            raise
        remove_tree(path)


def _why_unusable(exc: OSError) -> str:
    """The OS's reason, in the words a user acts on (EACCES is not about the file but about the directory)."""
    return {
        errno.EACCES: "permission denied (you may not write in the workdir)",
        errno.EPERM: "permission denied (you may not write in the workdir)",
        errno.EROFS: "the workdir is on a read-only file system",
        errno.ENOTDIR: "a file is in the way (a path component is not a directory)",
        errno.ENOSPC: "no space left on the device",
    }.get(exc.errno or 0, exc.strerror or str(exc))


_UNUSABLE_HINTS = {
    0: "choose another workdir with --workdir or PIPEX_WORKDIR",
    errno.EACCES: "fix the workdir's permissions, or choose another with --workdir or PIPEX_WORKDIR",
    errno.EPERM: "fix the workdir's permissions, or choose another with --workdir or PIPEX_WORKDIR",
    errno.EROFS: "choose a workdir on a writable file system with --workdir or PIPEX_WORKDIR",
    errno.ENOTDIR: "remove the file that is in the way, or choose another workdir with --workdir",
    errno.ENOSPC: "free some space (`pipex prune`, `pipex clean`), or choose another workdir with --workdir",
}
