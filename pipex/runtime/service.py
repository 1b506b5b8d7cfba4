"""A private ``podman system service`` for one command, when Podman is installed but no socket is listening and
the shared service (``sharedservice.py``) is off (``PIPEX_SERVICE_IDLE=0``) or has no safe directory.

pipex starts it on ``unix://$XDG_RUNTIME_DIR/pipex/podman-<pid>.sock`` (or in a fresh 0700 directory under
``/tmp`` when XDG_RUNTIME_DIR is unset), waits until it answers, and stops it when pipex is done with it.

No orphan, even after ``kill -9`` of pipex: the service runs under a small ``sh`` watchdog in its own session
whose stdin is a pipe from pipex. When pipex closes the pipe — on purpose in ``stop()``, or because the kernel
closed it when pipex died — ``read`` returns, and the watchdog stops Podman and waits for it. Being in its own
session also keeps a Ctrl-C in the terminal from killing the service before pipex has stopped its containers.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pipex import config
from pipex.errors import RuntimeUnavailable
from pipex.procs import pid_alive
from pipex.runtime.probe import Identity, ProbeFailed, probe

# $1: podman binary, $2: URL, $3: socket path, $4: directory to remove ("" for none). The background job's
# stdin is /dev/null (POSIX, no job control), so only `read` sees pipex's pipe. Rootless Podman re-executes
# itself inside a user namespace and the outer process does not pass SIGTERM on, so the watchdog signals its
# whole process group (ignoring the signal itself). It also removes the socket and the directory, so even
# `kill -9` of pipex leaves nothing behind.
_WATCHDOG = (
    '"$1" system service --time=0 "$2" >&2 & child=$!; echo "$child"; read -r _; '
    'trap "" TERM; kill -TERM 0; wait "$child"; rm -f "$3"; [ -z "$4" ] || rmdir "$4"'
)
START_TIMEOUT = 30.0  # the first rootless start may have to set up storage
STOP_TIMEOUT = 10.0


def socket_dir(environ: Mapping[str, str], uid: int) -> tuple[Path, bool]:
    """Where the private socket goes, and whether pipex created that directory just for it (remove it)."""
    xdg = environ.get(config.XDG_RUNTIME_DIR)
    if xdg:
        directory = Path(xdg) / "pipex"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return directory, False
    # mkdtemp: a new 0700 directory owned by us, so nobody can plant a socket or a symlink in it.
    return Path(tempfile.mkdtemp(prefix=f"pipex-{uid}-", dir="/tmp")), True


class PrivateService:
    """A running private Podman service; ``stop()`` (idempotent, also run at exit) ends it."""

    def __init__(self, process: subprocess.Popen[bytes], podman_pid: int, url: str, path: Path, own_dir: bool) -> None:
        self.process = process
        self.podman_pid = podman_pid
        self.url = url
        self.path = path
        self._own_dir = own_dir
        self._stopped = False
        atexit.register(self.stop)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self.process.stdin is not None:
            self.process.stdin.close()  # the watchdog's `read` returns: it stops Podman and waits for it
        deadline = time.monotonic() + STOP_TIMEOUT
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_TIMEOUT)
        # Podman's user-namespace child outlives the watchdog briefly while it shuts down: wait for the whole
        # group (the watchdog made it its own session), then kill what is left.
        while _group_alive(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.returncode is None:
            self.process.wait()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._own_dir:
            shutil.rmtree(self.path.parent, ignore_errors=True)


def start_service(
    podman: str,
    *,
    environ: Mapping[str, str],
    uid: int,
    pid: int | None = None,
    check: Callable[[str], Identity] = probe,
    timeout: float = START_TIMEOUT,
) -> tuple[PrivateService, Identity]:
    """Start ``podman system service`` on a private socket and wait until it answers."""
    directory, own_dir = socket_dir(environ, uid)
    path = directory / f"podman-{os.getpid() if pid is None else pid}.sock"
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by a pipex with the same pid that was killed
    url = f"unix://{path}"
    with tempfile.TemporaryFile() as log:
        try:
            process = subprocess.Popen(
                ["/bin/sh", "-c", _WATCHDOG, "sh", podman, url, str(path), str(directory) if own_dir else ""],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(environ),
                start_new_session=True,
            )
        except OSError as exc:
            raise RuntimeUnavailable(f"cannot start `{podman} system service`: {exc}") from exc
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        process.stdout.close()
        service = PrivateService(process, int(first) if first.isdigit() else -1, url, path, own_dir)
        deadline = time.monotonic() + timeout
        reason = "it did not answer"
        while time.monotonic() < deadline:
            if process.poll() is not None or not pid_alive(service.podman_pid):
                reason = "it exited"
                break
            if path.exists():
                try:
                    return service, check(url)
                except ProbeFailed as exc:
                    reason = exc.reason
            time.sleep(0.05)
        else:
            reason = f"it did not answer within {timeout:g}s ({reason})"
        service.stop()
        log.seek(0)
        output = log.read()[-2000:].decode(errors="replace").strip()
    detail = f": {output}" if output else ""
    raise RuntimeUnavailable(
        f"a private `podman system service` on {url} failed: {reason}{detail}",
        hint="run `podman info` to see what Podman needs, or start its socket with "
        "`systemctl --user enable --now podman.socket`",
    )


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is in process group ``pgid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False
