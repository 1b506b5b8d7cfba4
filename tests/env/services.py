"""Private container engines for one test session: rootless Podman, rootful Podman, dockerd.

Each engine is a service process on its own unix socket, with its own storage, run and temp dirs under one
session dir, so it never touches (or sees) the host's engines. ``EngineService.stop`` removes every container,
stops the service by pid (SIGTERM, then SIGKILL), kills its helpers by their pid files (rootless Podman's
pause process, dockerd's containerd) and any process still naming its dirs (a stray conmon), unmounts what
the engine left mounted and removes the dirs; it is idempotent.

Host quirks handled here (CI: Debian 12, hybrid cgroup v1/v2, no systemd, root without CAP_SYS_RESOURCE):
runc instead of crun, cgroupfs, file events, bounded rlimits (``containers-*.conf``); dockerd without
iptables or a bridge. Containers have no network: use network ``none``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.env import engine_api
from tests.env.users import SYSTEM_PATH, TestUser, as_user_argv, base_env, is_root, make_user_dir

HERE = Path(__file__).resolve().parent
ROOTFUL_CONF = HERE / "containers-rootful.conf"

# The test images (fully qualified: both engines resolve the short names users write to these).
ALPINE = "docker.io/library/alpine:3.20"
DEBIAN = "docker.io/library/debian:bookworm-slim"
NONROOT = "docker.io/pipex-test/nonroot:latest"
NONROOT_UID = 1000
IMAGES = (ALPINE, DEBIAN, NONROOT)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 30


class EngineStartError(Exception):
    pass


@dataclass(frozen=True)
class Engine:
    """A running test engine, as the tests see it."""

    name: str  # "rootless_podman" | "rootful_podman" | "docker_engine" (also the pytest marker)
    kind: str  # "podman" | "docker"
    url: str  # "unix:///…/podman.sock"
    rootless: bool
    user: str | None  # the user the engine runs as; None = root
    uid: int
    gid: int
    runtime_dir: str | None = None  # XDG_RUNTIME_DIR of a rootless engine (its socket is under it)

    @property
    def socket(self) -> Path:
        return Path(self.url.removeprefix("unix://"))

    def env(self) -> dict[str, str]:
        """Variables that point a client (pipex) at this engine; the caller drops CONTAINER_HOST/DOCKER_HOST."""
        out = {"CONTAINER_HOST" if self.kind == "podman" else "DOCKER_HOST": self.url}
        if self.runtime_dir is not None:
            out["XDG_RUNTIME_DIR"] = self.runtime_dir
        return out


@dataclass
class EngineService:
    engine: Engine
    workdir: Path
    argv: list[str]
    env: dict[str, str]
    helper_pidfiles: list[Path] = field(default_factory=list)  # processes the engine forks off
    before_removal: list[list[str]] = field(default_factory=list)  # commands run before the dirs go
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0
    images_seconds: float = 0.0

    @property
    def log_path(self) -> Path:
        return self.workdir / "service.log"

    def log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def start(self, timeout: float = START_TIMEOUT) -> None:
        began = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.workdir,  # the test user may not be allowed into pytest's cwd (a clone under /root)
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a ^C at the terminal must not kill it before our cleanup
            )
        while not engine_api.ping(self.engine.socket):
            code = self.process.poll()
            if code is not None or time.monotonic() - began > timeout:
                why = f"exited with code {code}" if code is not None else f"did not answer within {timeout:.0f}s"
                raise EngineStartError(
                    f"{self.engine.name}: `{' '.join(self.argv)}` {why} on {self.engine.socket}.\n"
                    f"Last lines of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - began

    def load_images(self, tarball: bytes) -> None:
        began = time.monotonic()
        sock, kind = self.engine.socket, self.engine.kind
        path = engine_api.IMAGE_PATH
        engine_api.import_image(sock, kind, tarball, ALPINE, [f"ENV {path}", 'CMD ["/bin/sh"]'])
        engine_api.tag_image(sock, ALPINE, DEBIAN)
        engine_api.import_image(sock, kind, tarball, NONROOT, [f"ENV {path}", f"USER {NONROOT_UID}", 'CMD ["/bin/sh"]'])
        self.images_seconds = time.monotonic() - began

    def remove_containers(self) -> None:
        """Remove every container (labelled ``pipex``/``pipex-test`` or not, all are the tests' here), then
        every network the tests created."""
        for container in engine_api.containers(self.engine.socket):
            engine_api.remove_container(self.engine.socket, container["Id"])
        engine_api.remove_networks(self.engine.socket)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError, engine_api.EngineAPIError):
                self.remove_containers()
            _terminate(self.process)
        for argv in self.before_removal:
            subprocess.run(argv, env=self.env, cwd="/", check=False, capture_output=True, timeout=120)
        for pidfile in self.helper_pidfiles:
            _kill_pidfile(pidfile)
        kill_processes_using(self.workdir)
        unmount_under(self.workdir)
        if self.workdir.exists():
            shutil.rmtree(self.workdir)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)


def _kill_pidfile(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT / 2
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def kill_processes_using(root: Path) -> None:
    """SIGKILL every process whose command line or environment names a path under ``root`` (a private dir).

    Podman 4.3 leaves the conmon of an exec session running after its container is force-removed, and a
    rootless Podman started by a test (``XDG_RUNTIME_DIR`` under the session dir) leaves its pause process.
    """
    needle = str(root.resolve()).encode() + b"/"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "cmdline").read_bytes() or needle in (proc / "environ").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:  # gone, or not ours to read
            continue


def unmount_under(root: Path) -> None:
    """Unmount what an engine left mounted under ``root`` (rootful Podman bind-mounts its overlay dir)."""
    prefix = str(root.resolve()) + "/"
    mounts = []
    with Path("/proc/self/mountinfo").open() as info:
        for line in info:
            target = line.split()[4].encode().decode("unicode_escape")
            if (target + "/").startswith(prefix):
                mounts.append(target)
    for target in sorted(mounts, key=len, reverse=True):  # deepest first
        subprocess.run(["umount", "--lazy", target], check=False, capture_output=True)


def _storage_conf(path: Path, driver: str, graphroot: Path, runroot: Path) -> Path:
    # Private storage: the host's storage.conf (additional image stores…) must not leak in.
    path.write_text(f'[storage]\ndriver = "{driver}"\ngraphroot = "{graphroot}"\nrunroot = "{runroot}"\n')
    return path


def _network_dir(workdir: Path) -> list[str]:
    # Networks a test creates must not land in the host's /etc/cni/net.d (or the user's ~/.config/cni).
    return ["--network-config-dir", str(workdir / "networks")]


def rootless_podman(base: Path, user: TestUser) -> EngineService:
    workdir = make_user_dir(base / "rootless", user, 0o700)
    runtime_dir = make_user_dir(workdir / "run", user, 0o700)
    sock = make_user_dir(runtime_dir / "podman", user, 0o700) / "podman.sock"
    # Podman refuses a runroot longer than 50 characters.
    graphroot, runroot = workdir / "storage", workdir / "runroot"
    # vfs: what rootless Podman picks on hosts without a shared `/`; it needs no kernel support, and the
    # test images are small enough that copying a layer per container costs nothing.
    conf = _storage_conf(workdir / "storage.conf", "vfs", graphroot, runroot)
    env = {**base_env(user), "XDG_RUNTIME_DIR": str(runtime_dir), "CONTAINERS_STORAGE_CONF": str(conf)}
    argv = ["podman", "--root", str(graphroot), "--runroot", str(runroot), *_network_dir(workdir)]
    argv += ["system", "service", "--time=0"]
    engine = Engine(
        name="rootless_podman",
        kind="podman",
        url=f"unix://{sock}",
        rootless=True,
        user=user.name,
        uid=user.uid,
        gid=user.gid,
        runtime_dir=str(runtime_dir),
    )
    # The pause process holds the user namespace open after the service exits.
    pause = runtime_dir / "libpod" / "tmp" / "pause.pid"
    service = EngineService(engine, workdir, as_user_argv(user, [*argv, engine.url]), env, [pause])
    if not is_root():
        # Storage holds files of the user's subordinate ids, which only the user namespace may delete.
        service.before_removal.append(["podman", "unshare", "rm", "-rf", str(graphroot)])
    service.log_path.touch()
    if not user.is_self:
        os.chown(service.log_path, user.uid, user.gid)
    return service


def rootful_podman(base: Path) -> EngineService:
    workdir = base / "rootful"
    (workdir / "home").mkdir(parents=True)
    graphroot, runroot = workdir / "root", workdir / "runroot"
    sock = workdir / "podman.sock"
    env = {
        "PATH": SYSTEM_PATH,
        "HOME": str(workdir / "home"),  # no ~/.config/containers of the host's root
        "CONTAINERS_CONF": str(ROOTFUL_CONF),
        "CONTAINERS_STORAGE_CONF": str(_storage_conf(workdir / "storage.conf", "overlay", graphroot, runroot)),
    }
    argv = ["podman", "--root", str(graphroot), "--runroot", str(runroot), "--tmpdir", str(workdir / "tmp")]
    argv += _network_dir(workdir)
    argv += ["system", "service", "--time=0", f"unix://{sock}"]
    engine = Engine("rootful_podman", "podman", f"unix://{sock}", rootless=False, user=None, uid=0, gid=0)
    return EngineService(engine, workdir, argv, env)


def docker_engine(base: Path) -> EngineService:
    workdir = base / "docker"
    (workdir / "home").mkdir(parents=True)
    config = workdir / "daemon.json"
    config.write_text(json.dumps({}))  # not the host's /etc/docker/daemon.json
    sock, exec_root = workdir / "docker.sock", workdir / "exec"
    argv = [
        "dockerd",
        "--config-file", str(config),
        "--host", f"unix://{sock}",
        "--data-root", str(workdir / "data"),
        "--exec-root", str(exec_root),
        "--pidfile", str(workdir / "docker.pid"),
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--exec-opt", "native.cgroupdriver=cgroupfs",
        # dockerd starts its own containerd unless the host runs one: keep out of the host's namespaces then.
        "--containerd-namespace", "pipex-test",
        "--containerd-plugins-namespace", "pipex-test-plugins",
    ]  # fmt: skip
    env = {"PATH": SYSTEM_PATH, "HOME": str(workdir / "home")}
    engine = Engine("docker_engine", "docker", f"unix://{sock}", rootless=False, user=None, uid=0, gid=0)
    return EngineService(engine, workdir, argv, env, [exec_root / "containerd" / "containerd.pid"])
