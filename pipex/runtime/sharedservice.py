"""One private ``podman system service`` shared by consecutive pipex commands of the same user.

Without a Podman socket, starting a service costs more than a short pipeline's containers. So the first pipex
command starts one on a well-known socket and later commands (and concurrent ones) use it:

- **Where**: ``$XDG_RUNTIME_DIR/pipex/podman-<key>.sock``, else ``/tmp/pipex-<uid>/`` (a 0700 directory that
  must be ours; if it is not, pipex falls back to a service of its own for this command). ``<key>`` is a hash of
  the podman binary and the environment Podman reads its configuration from (``CONTAINERS_CONF``, storage,
  ``XDG_CONFIG_HOME``, …): a service started for another configuration is another service.
- **Idle timeout**: the service runs with ``--time=<idle>`` (``PIPEX_SERVICE_IDLE``, default 60 s), Podman's own
  timer, which counts only while no request is in progress.
- **Lease**: while a pipex command uses the service it keeps one request open on it (an event stream filtered to
  nothing), so the timer cannot fire under a command that is hashing a big tree between two API calls. The
  kernel closes that connection when pipex exits, even on ``kill -9``: a killed pipex leaves the service running
  for at most the idle timeout, never longer.
- **Two starts at once**: a ``flock`` on ``podman-<key>.lock`` next to the socket is held while checking and
  starting; the second command waits, then finds the socket answering.

The service is detached (its own session, reparented to init) so it outlives the command that started it; its
stderr goes to ``podman-<key>.log`` beside the socket, quoted when it fails to start.

**Early start**: Podman takes 0.1-0.2 s to answer on a new socket. A command that will need the service can call
``prestart`` as soon as it knows (before its pipeline is read and checked): it starts the service under the lock
and a thread releases the lock once the socket accepts connections, so the command's own work overlaps Podman's
start and ``acquire`` later finds it answering. A command that ends before (a detached run's parent, a pipeline
that fails to validate) waits at exit until the service answers, and the unused service ends after the idle
timeout.

A new service after each idle pause means a new socket file, which would make Podman's ``info`` answer (cached per
socket file, ``info_cache``) miss on every first command: ``info_identity`` keys it by what a restarted service
could answer differently instead.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import socket
import stat
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from pipex import config
from pipex.errors import ConfigError, RuntimeUnavailable
from pipex.procs import pid_alive
from pipex.runtime.info_cache import stamp
from pipex.runtime.probe import Identity, ProbeFailed, probe

DEFAULT_IDLE = 60  # seconds; long enough for edit-and-rerun, short enough that nothing lingers
START_TIMEOUT = 30.0  # the first rootless start may have to set up storage
# What Podman reads its configuration from: a service started under other values is not the one asked for.
_CONFIG_ENV = (
    "CONTAINERS_CONF",
    "CONTAINERS_CONF_OVERRIDE",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "HOME",
    "TMPDIR",
)
# `podman system service` in the background of a shell that exits at once: the service is reparented to init
# and survives the command. $1: podman, $2: idle seconds, $3: URL, $4: log file.
_START = '"$1" system service --time="$2" "$3" </dev/null >/dev/null 2>"$4" & echo "$!"'
# An event stream filtered to a label nothing carries: an open request that never receives data.
_LEASE = (
    b"GET /v4.0.0/libpod/events?stream=true&filters=%7B%22label%22%3A%5B%22pipex.lease%3D1%22%5D%7D HTTP/1.1\r\n"
    b"Host: d\r\n\r\n"
)


def idle_seconds(environ: Mapping[str, str]) -> int:
    """``PIPEX_SERVICE_IDLE``: seconds a shared service stays after its last command; 0: one service per command."""
    raw = environ.get(config.PIPEX_SERVICE_IDLE, "").strip()
    if not raw:
        return DEFAULT_IDLE
    if not raw.isdigit():
        raise ConfigError(
            f"{config.PIPEX_SERVICE_IDLE}={raw!r} is not a number of seconds",
            hint=f"set {config.PIPEX_SERVICE_IDLE} to a whole number of seconds (0: stop the service after each "
            "command), or unset it",
        )
    return int(raw)


def shared_dir(environ: Mapping[str, str], uid: int) -> Path | None:
    """The directory of the shared socket, or ``None`` when no directory is safely ours."""
    xdg = environ.get(config.XDG_RUNTIME_DIR)
    directory = Path(xdg) / "pipex" if xdg else Path(f"/tmp/pipex-{uid}")
    try:
        directory.mkdir(mode=0o700, parents=bool(xdg), exist_ok=True)
        st = os.lstat(directory)
    except OSError:
        return None
    # Under /tmp anybody could have made it first: only a real directory of ours that nobody else may enter.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    return directory


def service_key(podman: str, environ: Mapping[str, str]) -> str:
    parts = [podman, *(f"{name}={environ.get(name, '')}" for name in _CONFIG_ENV)]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:12]


class SharedService:
    """This command's lease on a shared service; ``stop()`` ends the lease (idempotent), not the service."""

    def __init__(
        self,
        url: str,
        path: Path,
        podman_pid: int,
        lease: socket.socket,
        *,
        idle: int,
        reused: bool,
        info_identity: str | None = None,
    ):
        self.url = url
        self.path = path
        self.podman_pid = podman_pid  # -1 when reused: started by another command
        self.idle = idle
        self.reused = reused
        self.info_identity = info_identity  # keys the engine-info cache across restarts; None: per socket file
        self._lease: socket.socket | None = lease

    def stop(self) -> None:
        if self._lease is not None:
            self._lease.close()
            self._lease = None


def info_identity(podman: str, lease: socket.socket) -> str | None:
    """What Podman's ``info`` answer depends on beyond the socket path, the configuration files and the version
    (which ``info_cache`` keys already): the podman binary (a rebuild of the same version), the boot (SELinux,
    cgroup layout), ``/etc/subuid`` and ``/etc/subgid`` (the id mappings), and the cgroup of the service, found
    through the lease's peer (rootless Podman reports the controllers delegated to its own cgroup). ``None`` when
    the service's process cannot be seen (another pid namespace): the entry is then kept per socket file."""
    try:
        pid = struct.unpack("3i", lease.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        if pid <= 0:
            return None
        cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except (OSError, struct.error):
        return None
    parts = [podman, stamp(podman), boot, cgroup, stamp("/etc/subuid"), stamp("/etc/subgid")]
    return hashlib.sha256(json.dumps(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _lease(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(_LEASE)
    except BaseException:
        sock.close()
        raise
    return sock


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    fd = _open_lock(path)
    try:
        deadline = time.monotonic() + timeout
        # Short steps: the holder is usually a service starting, ready any millisecond.
        while not _try_lock(fd):
            if time.monotonic() > deadline:
                raise OSError(errno.EAGAIN, f"{path} stayed locked for {timeout:g}s")
            time.sleep(0.005)
        yield None
    finally:
        os.close(fd)  # releases the lock


# Services this process started ahead of ``acquire`` (``prestart``), by socket path: the pid of each.
_early: dict[Path, int] = {}


def prestart(podman: str, directory: Path, *, environ: Mapping[str, str], idle: int) -> bool:
    """Start the shared service now unless one runs or another command is starting it; never waits for it and
    never raises (``acquire`` does the real work and reports). ``True`` when a start was begun."""
    path = directory / f"podman-{service_key(podman, environ)}.sock"
    if path in _early:
        return False
    try:
        fd = _open_lock(directory / f"{path.stem}.lock")
    except OSError:
        return False
    try:
        if not _try_lock(fd) or os.path.lexists(path):
            os.close(fd)  # being started by another command, or there (answering or stale): acquire decides
            return False
        pid = _spawn(podman, f"unix://{path}", directory / f"{path.stem}.log", environ=environ, idle=idle)
    except (OSError, RuntimeUnavailable):
        os.close(fd)
        return False
    _early[path] = pid
    thread = threading.Thread(target=_unlock_when_up, args=(fd, path, pid), name="pipex-service-start", daemon=True)
    thread.start()
    # A command that ends first (a detached run's parent, a pipeline that fails to validate) keeps the lock until
    # the service answers: released earlier, another command would find no socket yet and start a second one.
    atexit.register(thread.join, START_TIMEOUT)
    return True


def _unlock_when_up(fd: int, path: Path, pid: int) -> None:
    """Hold the start lock until the service accepts connections (or is gone, or the start timeout passed)."""
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and pid_alive(pid):
            if path.exists():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as probe:
                    if probe.connect_ex(str(path)) == 0:
                        return
            time.sleep(0.005)
    finally:
        os.close(fd)


def _use(path: Path, url: str, check: Callable[[str], Identity]) -> tuple[socket.socket, Identity]:
    """Take a lease, then ping (the lease first: once held, the idle timer cannot end the service under us)."""
    lease = _lease(path)
    try:
        return lease, check(url)
    except BaseException:
        lease.close()
        raise


def acquire(
    podman: str,
    directory: Path,
    *,
    environ: Mapping[str, str],
    idle: int,
    check: Callable[[str], Identity] = probe,
    timeout: float = START_TIMEOUT,
) -> tuple[SharedService, Identity]:
    """Use the shared service in ``directory`` (``shared_dir``), starting it when none answers."""
    key = service_key(podman, environ)
    path = directory / f"podman-{key}.sock"
    url = f"unix://{path}"
    log = directory / f"podman-{key}.log"
    try:
        with _locked(directory / f"podman-{key}.lock", timeout):
            early = _early.pop(path, -1)  # started by this command's prestart: not reused
            if os.path.lexists(path):
                try:
                    lease, identity = _use(path, url, check)
                except (OSError, ProbeFailed):
                    path.unlink(missing_ok=True)  # a service that is gone (or going): start a new one
                else:
                    known = info_identity(podman, lease)
                    found = SharedService(url, path, early, lease, idle=idle, reused=early < 0, info_identity=known)
                    return found, identity
            return _start(podman, path, url, log, environ=environ, idle=idle, check=check, timeout=timeout)
    except OSError as exc:
        raise RuntimeUnavailable(f"cannot start or reach a shared `podman system service` on {url}: {exc}") from exc


def _spawn(
    podman: str, url: str, log: Path, *, environ: Mapping[str, str], idle: int, timeout: float = START_TIMEOUT
) -> int:
    """Start the detached service; its pid (-1 if the shell did not say)."""
    try:
        shell = subprocess.run(
            ["/bin/sh", "-c", _START, "sh", podman, str(idle), url, str(log)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=dict(environ),
            start_new_session=True,  # a Ctrl-C in the terminal must not reach it
            # It outlives this command: not in its working directory, which the user may delete or unmount
            # (conmon then fails every container with "Failed to get working directory").
            cwd="/",
            check=False,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeUnavailable(f"cannot start `{podman} system service`: {exc}") from exc
    first = shell.stdout.strip()
    return int(first) if first.isdigit() else -1


def _start(
    podman: str,
    path: Path,
    url: str,
    log: Path,
    *,
    environ: Mapping[str, str],
    idle: int,
    check: Callable[[str], Identity],
    timeout: float,
) -> tuple[SharedService, Identity]:
    pid = _spawn(podman, url, log, environ=environ, idle=idle, timeout=timeout)
    deadline = time.monotonic() + timeout
    pause = 0.002
    reason = "it did not answer"
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            reason = "it exited"
            break
        if path.exists():
            try:
                lease, identity = _use(path, url, check)
            except ProbeFailed as exc:
                reason = exc.reason
            except OSError as exc:
                reason = exc.strerror or str(exc)
            else:
                known = info_identity(podman, lease)
                return SharedService(url, path, pid, lease, idle=idle, reused=False, info_identity=known), identity
        # Podman answers 0.1-0.2 s after its start: poll often then, less once it is slow (a first start that
        # sets up storage).
        time.sleep(pause)
        pause = min(pause * 1.5, 0.05)
    else:
        reason = f"it did not answer within {timeout:g}s ({reason})"
        if pid > 0:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 15)
    try:
        output = log.read_bytes()[-2000:].decode(errors="replace").strip()
    except OSError:
        output = ""
    detail = f": {output}" if output else ""
    raise RuntimeUnavailable(
        f"a private `podman system service` on {url} failed: {reason}{detail}",
        hint="run `podman info` to see what Podman needs, or start its socket with "
        "`systemctl --user enable --now podman.socket`",
    )
