"""Where a backend keeps what it made to deliver a container's secrets, so ``remove`` (or the reaper, after a
crash) takes it away: Podman secrets created for the run, or Docker's host files on a tmpfs.

Names carry the owner, like container labels do: ``pipex-<workdir hash>-<host hash>-<pid>-<random>``; the reaper
removes those of this workdir and host whose pid is dead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets as random
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from pipex.runtime import labels

PREFIX = "pipex-"


def owner_name(container_labels: Mapping[str, str]) -> str:
    """A fresh name for something made for a container with ``container_labels``."""
    workdir = container_labels.get(labels.WORKDIR, "none")
    host = hashlib.sha256(container_labels.get(labels.HOST, labels.this_host()).encode()).hexdigest()[:8]
    pid = container_labels.get(labels.PID, str(os.getpid()))
    return f"{PREFIX}{workdir}-{host}-{pid}-{random.token_hex(6)}"


def dead_owner(name: str, workdir_hash: str, alive: Callable[[int], bool]) -> bool:
    """Whether ``name`` was made by a now dead pipex of this workdir on this host."""
    parts = name.removeprefix(PREFIX).split("-")
    if not name.startswith(PREFIX) or len(parts) != 4 or parts[0] != workdir_hash:
        return False
    if parts[1] != hashlib.sha256(labels.this_host().encode()).hexdigest()[:8]:
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    return pid != os.getpid() and not alive(pid)


class Made:
    """What was made per container (thread-safe): ``take(container)`` hands it over once, for removal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_container: dict[str, list[str]] = {}

    def add(self, container: str, names: list[str]) -> None:
        if names:
            with self._lock:
                self._by_container[container] = names

    def take(self, container: str) -> list[str]:
        with self._lock:
            return self._by_container.pop(container, [])


def tmpfs_root() -> Path:
    """A directory in memory for secret files (``/dev/shm`` where there is one), private to this user."""
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    root = base / f"pipex-secrets-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    root.chmod(0o700)  # mkdir's mode is masked by the umask, and an existing one may have been loosened
    return root


def write_files(name: str, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` (file name → value) in a new 0700 directory ``name`` on the tmpfs; returns it."""
    folder = tmpfs_root() / name
    folder.mkdir(mode=0o700)
    for file, value in files.items():
        # 0444 inside a 0700 directory: no other host user gets in; the container's user (any uid) can read it.
        fd = os.open(folder / file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with os.fdopen(fd, "wb") as out:
            out.write(value)
    return folder


def remove_files(name: str) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(tmpfs_root() / name)


def reap_files(workdir_hash: str, alive: Callable[[int], bool]) -> list[str]:
    removed = []
    with contextlib.suppress(OSError):
        for entry in tmpfs_root().iterdir():
            if dead_owner(entry.name, workdir_hash, alive):
                remove_files(entry.name)
                removed.append(entry.name)
    return removed
