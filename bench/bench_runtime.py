"""Per-container overhead of pipex's runtime backends next to the engines' own CLIs, in the same run.

For each engine: N times (default 10) create + start + wait + logs + remove of ``alpine:3.20 echo hi`` through
pipex (PodmanRuntime over libpod, DockerRuntime over dockerd and over Podman's compat API), and N times the
bare CLI (`podman --url … run --rm --network none …`, `docker -H … run --rm --network none …`). Prints the
medians, the ratio and the target (pipex ≤ 1.2× the CLI).

Run as root from the repo (it starts private engines with the test suite's scripts, tests/env/services.py, and
removes them at the end):

    .venv/bin/python bench/bench_runtime.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipex.runtime.base import ContainerSpec, Runtime  # noqa: E402
from pipex.runtime.docker import DockerRuntime  # noqa: E402
from pipex.runtime.podman import PodmanRuntime  # noqa: E402
from tests.env import image, services  # noqa: E402

TARGET = 1.2
CMD = ("echo", "hi")


def through_pipex(runtime: Runtime) -> None:
    cid = runtime.create(ContainerSpec(image=services.ALPINE, cmd=CMD, labels={"pipex-bench": "1"}))
    try:
        runtime.start(cid)
        assert runtime.wait(cid, timeout=60) == 0
        assert b"".join(c.data for c in runtime.logs(cid)) == b"hi\n"
    finally:
        runtime.remove(cid)


def median_seconds(action: Callable[[], object], n: int) -> float:
    action()  # warm-up: first-use costs (image layers, connections) are not per-container overhead
    times = []
    for _ in range(n):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def cli(argv: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(argv, check=True, capture_output=True)


def main(n: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="pipex-bench-", dir="/tmp"))
    base.chmod(0o711)
    rootfs = image.rootfs_tarball(REPO / ".test-env" / "images").read_bytes()
    engines = [services.rootful_podman(base), services.docker_engine(base)]
    rows: list[tuple[str, float, float]] = []
    try:
        for service in engines:
            service.start()
            service.load_images(rootfs)
        podman, docker = (s.engine for s in engines)
        run = ["run", "--rm", "--network", "none", services.ALPINE, *CMD]
        podman_cli = median_seconds(cli(["podman", "--url", podman.url, *run]), n)
        docker_cli = median_seconds(cli(["docker", "-H", docker.url, *run]), n)
        cases = [
            ("PodmanRuntime (libpod) vs podman run", PodmanRuntime(podman.url), podman_cli),
            ("DockerRuntime (podman compat) vs podman run", DockerRuntime(podman.url), podman_cli),
            ("DockerRuntime (dockerd) vs docker run", DockerRuntime(docker.url), docker_cli),
        ]
        for name, runtime, bare in cases:
            ours = median_seconds(lambda rt=runtime: through_pipex(rt), n)  # type: ignore[misc]
            runtime.close()
            rows.append((name, ours, bare))
    finally:
        for service in reversed(engines):
            service.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"per-container overhead, median of N={n} (create+start+wait+logs+remove; `echo hi`)")
    print(f"{'backend':46} {'pipex':>8} {'CLI':>8} {'ratio':>6}  target <= {TARGET}x")
    for name, ours, bare in rows:
        ratio = ours / bare
        verdict = "ok" if ratio <= TARGET else "SLOWER"
        print(f"{name:46} {ours * 1000:7.0f}ms {bare * 1000:7.0f}ms {ratio:5.2f}x  {verdict}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
