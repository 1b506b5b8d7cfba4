"""Podman's ``/libpod/info`` answer, kept between runs per local socket (it costs ~0.3 s: Podman runs conmon,
the OCI runtime and slirp4netns to report their versions, on every call).

The key is what changes when the answer can change:

- the socket's path, device, inode and ctime: a restarted ``podman system service`` (or a reboot, or a new
  login session for ``/run/user/UID``) makes a new socket file. The shared service pipex starts itself
  (``sharedservice``) is restarted after every idle pause, so its first command would always miss (and pay
  Podman's ``info``, up to a second where ``dpkg -S`` is slow); for it the socket file is replaced by what a
  new service at the same path could answer differently (``sharedservice.info_identity``: the podman binary,
  the boot, the subordinate id files, the service's cgroup);
- the ``Libpod-Api-Version`` header of the ping discovery already made (no extra round trip): a socket-activated
  service exits when idle and a new one may start on the *same* socket file, after an upgrade of Podman;
- the stat of the containers.conf / storage.conf files and drop-in dirs Podman reads at start: the same new
  service would pick up a changed OCI runtime or storage driver;
- the uid, and a format number.

Nothing else we keep can change within one service lifetime: rootless or not, the id mappings and the cgroup
version and delegated controllers are fixed when the service's user namespace and cgroup are made; SELinux can
only be enabled or disabled with a reboot (``setenforce`` changes enforcing mode, which Podman's info does not
report); the OCI runtime, storage driver and network backend are read from the configuration at start. Volatile
facts (free memory, uptime, container counts) are not stored, and nothing reads them.

Files live in ``<user cache dir>/engine-info/``, one per uid and socket path (0600, in a 0700 dir owned by the
user), written atomically (temp file + rename); a file that is unreadable, corrupt, not the user's or keyed
otherwise is ignored and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipex import config

FORMAT = 1
MAX_BYTES = 1 << 16
MAX_FILES = 32  # distinct sockets remembered; the oldest entries are dropped past this
KEPT = ("host", "version", "store")  # the sections ``PodmanRuntime`` reads
# Facts that change while a service runs (nothing reads them; conmon's, slirp4netns' and pasta's versions change
# with a package upgrade that does not restart the service).
_VOLATILE = frozenset(("memFree", "memTotal", "swapFree", "swapTotal", "uptime", "cpuUtilization", "cpus"))
_VOLATILE |= {"hostname", "conmon", "slirp4netns", "pasta"}


def config_files(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The configuration files and drop-in dirs a Podman service reads at start (system, then the user's)."""
    env = config.env(environ)
    user = env.get("XDG_CONFIG_HOME") or (f"{env[config.HOME]}/.config" if env.get(config.HOME) else "")
    roots = ["/usr/share/containers", "/etc/containers"] + ([f"{user}/containers"] if user else [])
    names = ("containers.conf", "containers.conf.d", "storage.conf")
    return tuple(f"{root}/{name}" for root in roots for name in names)


def stamp(path: str) -> list[int] | None:
    """What changes when a file is replaced or edited (inode, mtime, size); ``None`` when it is not there."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_size]


def _trimmed(data: Mapping[str, Any]) -> dict[str, Any]:
    kept = {key: data[key] for key in KEPT if key in data}
    if isinstance(kept.get("host"), dict):
        kept["host"] = {k: v for k, v in kept["host"].items() if k not in _VOLATILE}
        if isinstance(kept["host"].get("ociRuntime"), dict):  # its version changes with a package upgrade
            kept["host"]["ociRuntime"] = {"name": kept["host"]["ociRuntime"].get("name", "")}
    if isinstance(kept.get("store"), dict):
        kept["store"] = {"graphDriverName": kept["store"].get("graphDriverName", "")}
    return kept


@dataclass(frozen=True, slots=True)
class InfoCache:
    """The cache entry of one socket, as its key stands now (``open`` returns ``None`` for a missing socket)."""

    directory: Path
    path: Path
    key: str
    uid: int

    @classmethod
    def open(
        cls,
        socket_path: str,
        ping_version: str,
        *,
        directory: Path | None = None,
        uid: int | None = None,
        environ: Mapping[str, str] | None = None,
        service: str | None = None,
    ) -> InfoCache | None:
        """``directory``: default ``config.cache_dir(environ) / "engine-info"``; ``service``: the identity of a
        service pipex started (``sharedservice.info_identity``), which keys the entry instead of the socket file."""
        uid = os.getuid() if uid is None else uid
        try:
            st = Path(socket_path).stat()
        except OSError:
            return None
        if not stat.S_ISSOCK(st.st_mode):
            return None
        made: list[object] = ["service", service] if service else [st.st_dev, st.st_ino, st.st_ctime_ns]
        parts = [FORMAT, uid, socket_path, *made, ping_version]
        parts += [[name, stamp(name)] for name in config_files(environ)]
        key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
        name = hashlib.sha256(f"{uid}\0{socket_path}".encode()).hexdigest()[:32]
        where = directory if directory is not None else config.cache_dir(environ) / "engine-info"
        return cls(where, where / f"{name}.json", key, uid)

    def load(self) -> dict[str, Any] | None:
        """The stored answer, or ``None`` (absent, stale, corrupt, or not this user's)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if st.st_uid != self.uid or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
                return None
            entry = json.loads(os.read(fd, MAX_BYTES + 1))
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)
        if not isinstance(entry, dict) or entry.get("key") != self.key or not isinstance(entry.get("info"), dict):
            return None
        info: dict[str, Any] = entry["info"]
        return info

    def store(self, data: Mapping[str, Any]) -> None:
        """Keep ``data`` (the info answer) for the next run; any failure only means no cache."""
        with contextlib.suppress(OSError, ValueError, TypeError):
            if not self._writable_dir():
                return
            text = json.dumps({"key": self.key, "info": _trimmed(data)}, separators=(",", ":"))
            if len(text) > MAX_BYTES:
                return
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".info-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(tmp).unlink()
                raise
            self._prune()

    def _writable_dir(self) -> bool:
        """Make the directory if needed, only inside a tree this user owns (``sudo`` keeping the user's HOME
        must not leave root-owned files there), and use it only if it is this user's private dir."""
        existing = self.directory
        while not existing.exists():
            if existing.parent == existing:
                return False
            existing = existing.parent
        if existing.stat().st_uid != self.uid:
            return False
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(self.directory)
        return stat.S_ISDIR(st.st_mode) and st.st_uid == self.uid

    def _prune(self) -> None:
        entries = sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[MAX_FILES:]:
            with contextlib.suppress(OSError):
                old.unlink()
