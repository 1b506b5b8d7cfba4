"""A real fan-out against the same containers started bare: 200 ``true`` instances of one ``foreach`` step at
concurrency 2 and 8, against ``seq 200 | xargs -P N`` over ``podman run --rm`` (target: within 1.1x).

Run as root from the repo (it starts a private rootless Podman with the test suite's scripts, as
bench/bench_engine.py does, and removes it at the end)::

    .venv/bin/python bench/bench_fanout_engine.py [--instances 200] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_engine import IMAGE, Bench, median  # noqa: E402


def pipeline(instances: int) -> dict[str, object]:
    return {"id": "fan", "steps": [{"id": "t", "image": IMAGE, "foreach": list(range(instances)), "cmd": ["true"]}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it starts a private rootless Podman as the user pipex-test")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    b = Bench(args.repeat)
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}", flush=True)
    try:
        engine = b.engine("rootless_podman")
        b.podman(engine, ["run", "--rm", "--network", "none", IMAGE, "true"])  # warm-up: first-use costs
        for concurrency in (2, 8):

            def ours(n: int = concurrency) -> float:
                root = b.project("fan", pipeline(args.instances))
                wd = str(root / "wd")
                return b.pipex(engine, ["--workdir", wd, "run", "--json", "--concurrency", str(n)], root).seconds

            def bare(n: int = concurrency) -> float:
                script = (
                    f"seq {args.instances} | xargs -P {n} -I{{}} "
                    f"podman --url {engine.url} run --rm --network none {IMAGE} true"
                )
                began = time.perf_counter()
                done = b.measure(engine, ["sh", "-c", script])
                if done.returncode != 0:
                    raise SystemExit(f"bare run failed: {done.stderr[-2000:]}")
                return time.perf_counter() - began

            label = f"{args.instances} true instances, concurrency {concurrency}, rootless Podman"
            b.row(label, median(ours, b.repeat), median(bare, b.repeat), 1.1)
    finally:
        b.close()
    for r in b.rows:
        print(f"{r.what}: pipex {r.ours}, bare {r.bare}, {r.ratio} (target {r.target}) {r.verdict}")


if __name__ == "__main__":
    main()
