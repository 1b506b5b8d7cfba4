"""Fan-out figures on the fake runtime: a dry run of one step with 10,000 instances (target ≤ 1 s, ≤ 200 MB)
and a cached re-run of 1,000 instances (target ≤ 1 s).

Run: ``.venv/bin/python bench/bench_fanout.py [DRY_INSTANCES] [CACHED_INSTANCES]``. The instances come from a
literal ``foreach`` list; the peak memory is the process's maximum resident size (``ru_maxrss``) after the dry run.
Prints wall-clock and CPU time of each (best of three).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

from pipex.engine.engine import Engine
from pipex.model import load
from pipex.runtime.fake import FakeRuntime


def pipeline(count: int) -> dict[str, object]:
    return {
        "id": "fan",
        "steps": [
            {
                "id": "each",
                "image": "alpine:3.20",
                "foreach": [f"file-{n}.csv" for n in range(count)],
                "cmd": ["sh", "-c", "wc -l /data/${{ item }} > /output/count"],
            }
        ],
    }


def timed(root: Path, workdir: Path, runtime: FakeRuntime, **options: object) -> tuple[float, float, dict[str, int]]:
    started, started_cpu = time.perf_counter(), time.process_time()
    loaded = load(root / "pipeline.yml", cwd=root)
    engine = Engine(workdir=workdir, runtime=runtime)

    async def go() -> dict[str, int]:
        counts: dict[str, int] = {}
        async for event in engine.run(loaded, **options):
            counts[event.kind] = counts.get(event.kind, 0) + 1
        return counts

    counts = asyncio.run(go())
    return time.perf_counter() - started, time.process_time() - started_cpu, counts


def measure(count: int, **options: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pipeline.yml").write_text(yaml.safe_dump(pipeline(count)), encoding="utf-8")
        runtime = FakeRuntime()
        if not options.get("dry_run"):
            timed(root, root / "wd", runtime)  # the first run: every instance runs
        best = best_cpu = float("inf")
        counts: dict[str, int] = {}
        for _ in range(3):
            wall, cpu, counts = timed(root, root / "wd", runtime, **options)
            best, best_cpu = min(best, wall), min(best_cpu, cpu)
        what = "dry run" if options.get("dry_run") else "cached re-run"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{what} of {count:,} instances: {best:.3f} s wall, {best_cpu:.3f} s CPU, peak RSS {peak:.0f} MB")
        print(f"  events: {counts}")


def main() -> None:
    dry = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    cached = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    measure(dry, dry_run=True)
    measure(cached)


if __name__ == "__main__":
    main()
