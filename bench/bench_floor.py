"""The engine's own limit as the floor: pipex against the same container lifecycle driven straight through the
engine API, per engine; and a cold one-step run without a Podman socket against the same run with one.

    sudo .venv/bin/python bench/bench_floor.py [floor|nosocket ...] [--repeat N] [--engines a,b,c]
        [--source DIR] [--vs DIR]

``floor``: a 20-step chain (each step reads the previous one's output), cold, as one ``pipex run --json``
process against 20 create → attach → start → wait → remove cycles over the engine's unix socket with
``http.client`` (the Docker-compatible endpoints every engine serves, as tests/env/engine_api.py speaks them),
the same bind mounts, ``--network none``, in this process: no CLI, no interpreter start, nothing but the
engine's own work. Engines: rootless Podman (as the user ``pipex-test``), rootful Podman, dockerd (private
instances from tests/env/services.py). Target (issue 19): ≤ 1.05× on rootless Podman.

``nosocket``: rootless Podman; one step, cold (a fresh project), with a user's socket (a ``podman system
service`` configured as the service pipex starts, named by ``CONTAINER_HOST``), then with no socket to find (the
variable unset), pair by pair: the first command starts
the shared private service (the one before is stopped first, as its idle timeout would), and a command that
finds it running reuses it. Each row: the medians, and the median of the pairs' ratios. Target: within 1.3× of
the run with a socket.

The machine these figures come from is shared: each figure is a median, printed with the load average.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import IMAGE, Bench, chain

from tests.env import image, services, users
from tests.env.services import Engine

STEPS = 20
COMMAND = "cat /input/s{prev}/out.txt > /dev/null 2>&1; echo {i} > /output/out.txt"
ENGINES = ("rootless_podman", "rootful_podman", "docker_engine")
SETTLE = 1.0  # seconds between two timed runs of the nosocket section


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=120)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self._path))


def _call(sock: Path, method: str, path: str, body: object = None) -> bytes:
    conn = _Unix(sock)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = conn.getresponse()
        out = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} -> {response.status}: {out[:300]!r}")
        return out
    finally:
        conn.close()


def _attach(sock: Path, container: str) -> threading.Thread:
    """Attach to stdout/stderr (the hijacked stream pipex reads the logs from) and drain it in a thread."""
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect(str(sock))
    raw.sendall(
        f"POST /containers/{container}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = raw.recv(4096)
        if not chunk:
            break
        head += chunk

    def drain() -> None:
        with raw:
            while raw.recv(65536):
                pass

    thread = threading.Thread(target=drain)
    thread.start()
    return thread


def raw_chain(engine: Engine, dirs: list[Path]) -> float:
    """The floor: STEPS containers through the API, each step's output bound for the next one."""
    sock = engine.socket
    began = time.perf_counter()
    for i in range(STEPS):
        binds = [f"{dirs[i]}:/output"]
        if i:
            binds.append(f"{dirs[i - 1]}:/input/s{i - 1}:ro")
        body = {
            "Image": IMAGE,
            "Cmd": ["sh", "-c", COMMAND.format(i=i, prev=i - 1)],
            "HostConfig": {"Binds": binds, "NetworkMode": "none"},
            "Labels": {"bench": "floor"},
        }
        container = json.loads(_call(sock, "POST", "/containers/create", body))["Id"]
        drained = _attach(sock, container)
        _call(sock, "POST", f"/containers/{container}/start")
        # Podman's compat wait polls the state every 250 ms; libpod's takes an interval (what pipex asks for).
        wait = f"/v4.0.0/libpod/containers/{container}/wait?condition=exited&condition=stopped&interval=10ms"
        _call(sock, "POST", wait if engine.kind == "podman" else f"/containers/{container}/wait")
        drained.join()
        _call(sock, "DELETE", f"/containers/{container}?force=1")
    return time.perf_counter() - began


def median(action: Callable[[], float], n: int) -> tuple[float, float]:
    """(median seconds, load average when done)."""
    value = statistics.median(action() for _ in range(n))
    return value, os.getloadavg()[0]


def engine_of(b: Bench, name: str) -> Engine:
    if name != "docker_engine":
        return b.engine(name)
    service = b.services.get(name)
    if service is None:
        service = b.services[name] = services.docker_engine(b.base)
        service.start()
        images = Path(__file__).resolve().parents[1] / ".test-env" / "images"
        service.load_images(image.rootfs_tarball(images).read_bytes())
    return service.engine


def bench_floor(b: Bench, names: list[str]) -> None:
    pipeline = chain(STEPS, "true")
    for i, step in enumerate(pipeline["steps"]):  # type: ignore[arg-type]
        step["cmd"] = ["sh", "-c", COMMAND.format(i=i, prev=i - 1)]
    for name in names:
        floor_on(b, engine_of(b, name), pipeline)


def floor_on(b: Bench, engine: Engine, pipeline: dict[str, object]) -> None:
    raw_chain(engine, [b.dir(f"warm-{i}") for i in range(STEPS)])  # warm-up: first-use costs of the engine

    def ours() -> float:
        root = b.project("floor", pipeline)
        return b.pipex(engine, ["--workdir", str(root / "wd"), "run", "--json"], root).seconds

    def floor() -> float:
        return raw_chain(engine, [b.dir(f"raw-{i}") for i in range(STEPS)])

    mode = "rootless Podman" if engine.rootless else "rootful Podman" if engine.kind == "podman" else "dockerd"
    pipex_s, load1 = median(ours, b.repeat)
    floor_s, load2 = median(floor, b.repeat)
    # The target is for rootless Podman; the other engines are judged against the same figure.
    b.row(f"20-step chain cold, {mode}, vs raw API (load {load1:.1f}/{load2:.1f})", pipex_s, floor_s, 1.05)


def paired(ours: Callable[[], float], theirs: Callable[[], float], i: int) -> tuple[float, float]:
    """One pair, in turn A B then B A: neither side always runs after the other (and its left-overs)."""
    if i % 2:
        b = theirs()
        return ours(), b
    a = ours()
    return a, theirs()


def rotated(actions: list[Callable[[], float]], i: int) -> list[float]:
    """Run every action once, starting with the ``i``-th (each goes first in turn); the results in list order."""
    times: dict[int, float] = {}
    for k in range(len(actions)):
        j = (i + k) % len(actions)
        times[j] = actions[j]()
    return [times[j] for j in range(len(actions))]


def stop_service(sock: Path) -> None:
    """End the Podman service listening on ``sock`` (its pid: the socket's peer) and wait until it is gone."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(sock))
        pid = struct.unpack("3i", probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    except OSError:
        sock.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    sock.unlink(missing_ok=True)


def other_pipex(b: Bench, source: Path) -> Path:
    """A byte-compiled copy of another pipex package beside the bench's own; its PYTHONPATH."""
    src = b.base / "src-other"
    shutil.copytree(source, src / "pipex", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    subprocess.run(["chmod", "-R", "a+rX", str(src)], check=True)
    users.make_user_dir(src / "cache", b.user, 0o700)
    # Its own console script: Python puts a script's directory first on sys.path, so the bench's script would
    # import the bench's pipex whatever PYTHONPATH says.
    (src / "pipex-script").write_text(b.script.read_text())
    (src / "pipex-script").chmod(0o644)
    return src


def bench_nosocket(b: Bench, vs: Path | None = None) -> None:
    """``vs``: another pipex package whose first command is timed in the same rounds (before/after figures
    under the same load)."""
    engine = b.engine("rootless_podman")  # its storage, with the test images
    other = other_pipex(b, vs) if vs is not None else None
    pipeline = {"id": "one", "steps": [{"id": "s", "image": IMAGE, "cmd": ["sh", "-c", "echo 1 > /output/o"]}]}
    # The engine's storage for the services below: rootless Podman reads `rootless_storage_path`, not `graphroot`
    # (the test engine passes --root/--runroot on its command line instead).
    workdir = b.services["rootless_podman"].workdir
    conf = b.dir("storage") / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{workdir / "runroot"}"\n'
        f'rootless_storage_path = "{workdir / "storage"}"\n'
    )
    conf.chmod(0o644)
    shared = Path(engine.runtime_dir or "/nonexistent") / "pipex"
    # "With a socket" is a user's Podman socket: a `podman system service` with the same configuration as the
    # service pipex starts (the test engine's own flags differ), named by CONTAINER_HOST. Not renamed away for the
    # runs without it: a rename changes the socket's ctime, which keys pipex's engine-info cache, and every run
    # with the socket would then pay Podman's info.
    stop_service(engine.socket)
    user_socket = engine.socket.parent.parent / "user-podman.sock"
    argv, env = b.argv_env(engine, ["podman", "system", "service", "--time=0", f"unix://{user_socket}"])
    env.pop("CONTAINER_HOST", None)
    env["CONTAINERS_STORAGE_CONF"] = str(conf)
    user_service = subprocess.Popen(argv, env=env, cwd="/", start_new_session=True, stderr=subprocess.DEVNULL)
    while not user_socket.exists():
        if user_service.poll() is not None:
            raise SystemExit("the user's Podman service did not start")
        time.sleep(0.05)

    def run(socket_there: bool, src: Path | None = None) -> float:
        root = b.project("one", pipeline)
        # What the previous run left working (conmon's `podman container cleanup`, the service's own clean-up)
        # must not be counted in this one.
        time.sleep(SETTLE)
        args = ["--workdir", str(root / "wd"), "--runtime", "podman", "run", "--json"]
        script = b.script if src is None else src / "pipex-script"
        argv, full_env = b.argv_env(engine, [str(b.python), str(script), *args])
        full_env.pop("CONTAINER_HOST", None)
        full_env["CONTAINERS_STORAGE_CONF"] = str(conf)
        if socket_there:
            full_env["CONTAINER_HOST"] = f"unix://{user_socket}"
        if src is not None:
            full_env["PYTHONPATH"] = str(src)
            # Its own cache: another pipex may key the engine-info entry of the same socket otherwise, and the
            # two would replace each other's entry on every run.
            full_env["XDG_CACHE_HOME"] = str(src / "cache")
        began = time.perf_counter()
        done = subprocess.run(argv, env=full_env, cwd=root, capture_output=True, check=False)
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            out = (done.stdout + done.stderr).decode(errors="replace")[-3000:]
            for log in shared.glob("*.log"):
                out += f"\n{log}:\n" + log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"pipex (socket there: {socket_there}) failed ({done.returncode}):\n{out}")
        return seconds

    def cold(src: Path | None = None) -> float:
        for sock in shared.glob("podman-*.sock"):
            stop_service(sock)  # as its idle timeout would
        return run(False, src)

    n = max(b.repeat, 5)
    try:
        # Warm-up: the engine's first-use costs, and what pipex keeps per user between commands (the engine's
        # info answer), which the first command after a reboot or a Podman upgrade pays once.
        run(True)
        cold()
        if other is not None:
            cold(other)
            rounds = [rotated([cold, lambda: run(True), lambda: cold(other)], i) for i in range(n)]
            firsts = [(r[0], r[1]) for r in rounds]
            theirs = [(r[2], r[1]) for r in rounds]
        else:
            firsts = [paired(cold, lambda: run(True), i) for i in range(n)]
            theirs = []
        nexts = [paired(lambda: run(False), lambda: run(True), i) for i in range(n)]
    finally:
        for sock in shared.glob("podman-*.sock"):
            stop_service(sock)
        stop_service(user_socket)
        user_service.wait()
    load = os.getloadavg()[0]
    sections = [("first command (starts the service)", firsts), ("next command (reuses it)", nexts)]
    if theirs:
        sections.append((f"first command, {vs}", theirs))
    for what, pairs in sections:
        ours, bare = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        ratio = statistics.median(p[0] / p[1] for p in pairs)
        print(f"  {what}: pairs " + ", ".join(f"{a:.2f}/{c:.2f}" for a, c in pairs), flush=True)
        b.row(f"one step, no socket, {what}, pairwise (load {load:.1f})", ours, bare, 1.3, paired=ratio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=["floor", "nosocket"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--source", type=Path, help="the pipex package to measure (default: this checkout's)")
    parser.add_argument("--vs", type=Path, help="nosocket: another pipex package timed in the same rounds")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it starts private engines (rootless Podman as the user pipex-test)")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    bench = Bench(args.repeat) if args.source is None else Bench(args.repeat, args.source.resolve())
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; medians of {args.repeat}", flush=True)
    try:
        if "floor" in args.sections:
            bench_floor(bench, args.engines.split(","))
        if "nosocket" in args.sections:
            bench_nosocket(bench, args.vs.resolve() if args.vs is not None else None)
    finally:
        bench.close()
    print(f"\n{'benchmark':78} {'pipex':>10} {'floor':>10} {'ratio':>7} {'target':>9}")
    for r in bench.rows:
        print(f"{r.what:78} {r.ours:>10} {r.bare:>10} {r.ratio:>7} {r.target:>9}  {r.verdict}")


if __name__ == "__main__":
    main()
