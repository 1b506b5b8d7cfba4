"""Kernel-held file locks: the workspace lock and the exclusive cache locks.

``flock`` locks are released by the kernel when the process dies (``kill -9`` included), so a stale lock can never
block a workspace. The holder writes who it is into the lock file, so a second writer can say who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from pipex.errors import WorkspaceBusy, WorkspaceError


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int
    command: str
    started: float

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.started).strftime("%H:%M")
        return f"pid {self.pid} ({self.command}, started {when})"


def held(path: Path) -> bool:
    """Whether some process holds an exclusive ``flock`` on ``path`` (a detached run's event log, say)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
        return Holder(int(data["pid"]), str(data.get("command", "pipex")), float(data.get("started", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class FileLock:
    """An exclusive ``flock`` on ``path``; ``blocking=False`` fails at once with ``WorkspaceBusy``."""

    def __init__(self, path: Path, *, what: str, command: str | None = None) -> None:
        self.path = path
        self.what = what
        self.command = command or "pipex " + " ".join(sys.argv[1:2])
        self._fd: int | None = None

    def acquire(self, *, blocking: bool = False, timeout: float | None = None) -> FileLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise WorkspaceError(f"cannot open lock file {self.path}: {exc.strerror}") from exc
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if blocking and (deadline is None or time.monotonic() < deadline):
                    time.sleep(0.05)
                    continue
                os.close(fd)
                holder = _read_holder(self.path)
                who = f" by {holder.describe()}" if holder else ""
                raise WorkspaceBusy(
                    f"{self.what} is in use{who}",
                    hint="wait for it to finish, or stop it (`pipex cancel`) if it is a detached run",
                ) from None
        info = json.dumps({"pid": os.getpid(), "command": self.command.strip(), "started": time.time()})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)
        except OSError:  # a full disk: the caller maps it; the lock is not held
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def holder_of(path: Path) -> Holder | None:
    """Who holds the lock at ``path`` right now, or ``None`` if nobody does."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
