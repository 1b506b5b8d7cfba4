"""Time loading and validating a generated 10,000-step pipeline (target: under 2 s).

Run: ``.venv/bin/python bench/bench_load.py [STEPS]``. The pipeline is a layered DAG: 100 steps per layer,
each reading two steps of the layer before, with env, an output path, a cache and a condition on some steps.
Prints the best of three runs (wall clock and CPU time).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

from pipex.model import load

WIDTH = 100


def generate(count: int) -> dict[str, object]:
    steps: list[dict[str, object]] = []
    for index in range(count):
        layer, slot = divmod(index, WIDTH)
        step: dict[str, object] = {
            "id": f"s{index}",
            "name": f"Step {index}",
            "image": "alpine:3.20",
            "cmd": ["sh", "-c", f"echo {index} > /output/out.txt"],
            "env": {"INDEX": index, "LAYER": str(layer)},
        }
        if layer:
            previous = (layer - 1) * WIDTH
            step["inputs"] = [
                {"step": f"s{previous + slot}"},
                {"step": f"s{previous + (slot + 1) % WIDTH}", "optional": True},
            ]
        if index % 10 == 0:
            step["caches"] = [{"name": "shared", "path": "/cache"}]
            step["if"] = 'env.RUN_ALL == "true" || env.LAYER != "3"'
        steps.append(step)
    return {"id": "bench", "name": "Benchmark", "steps": steps}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "pipeline.yml"
        file.write_text(yaml.safe_dump(generate(count), sort_keys=False), encoding="utf-8")
        best = best_cpu = float("inf")
        for _ in range(3):
            started, started_cpu = time.perf_counter(), time.process_time()
            pipeline = load(file, cwd=Path(tmp))
            problems = pipeline.validate()
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, time.process_time() - started_cpu)
        assert not problems and len(pipeline.steps) == count, problems[:3]
        size = file.stat().st_size / 1e6
    # CPU time too: on a busy machine the wall-clock figure measures the neighbours.
    print(f"load+validate {count} steps: {best:.2f} s (cpu {best_cpu:.2f} s; target < 2 s; {size:.1f} MB of YAML)")


if __name__ == "__main__":
    main()
