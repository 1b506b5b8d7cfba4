"""Shared cache figures: python bench/bench_store.py [--steps N] [--repeat R].

A pipeline of N steps (default 100: 10 independent chains of 10, each step writing two small files and a log line)
runs once on the fake runtime with a cache store (so the store holds every step). Then, each best of R:

- a **local cached re-run** in the same workdir (every step a local cache hit), the floor;
- a **re-run from the store** in a fresh, empty workdir (every step materialised from the store: record read,
  blobs copied and hashed, artifacts digest checked, run committed), target ≤ 2× the floor.

Measured twice: as ``pipex run`` commands (a new process each, what a user waits for; the CLI is handed the fake
runtime through ``pipex.cli.main.main(argv, runtime=...)``), and in-process through ``pipex.testing.run`` (pipex's
own work only: there the floor does no file I/O at all, while every store hit must create and durably commit a run,
so that ratio mostly measures the filesystem's metadata speed). The fake runtime isolates what pipex itself spends
(no container is started in either re-run). Data goes in a temporary directory under /var/tmp (a disk, not a tmpfs)
and is removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipex.engine.events import StepCached
from pipex.testing import mock, run


def pipeline(root: Path, steps: int, chain: int = 10) -> Path:
    lines = ["id: bench", "steps:"]
    for n in range(steps):
        inputs = f", inputs: [{{step: s{n - 1}}}]" if n % chain else ""
        lines.append(f"  - {{id: s{n}, image: alpine:3.20, cmd: [work, '{n}']{inputs}}}")
    root.mkdir(parents=True)
    (root / "pipeline.yml").write_text("\n".join(lines) + "\n")
    return root / "pipeline.yml"


CLI = """
import sys
from pipex.cli.main import main
from pipex.runtime.fake import FakeRuntime
main(sys.argv[1:], runtime=FakeRuntime())
"""


def cli_run(path: Path, workdir: Path, store: Path) -> float:
    """Seconds of one ``pipex run`` process (it must succeed)."""
    argv = ["run", str(path), "--workdir", str(workdir), "--cache-store", str(store), "--json"]
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *argv], capture_output=True, text=True, check=False)
    took = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"step_cached"') == len(list(workdir.glob("*/step-runs/*"))), "not all cached"
    return took


def report(what: str, steps: int, repeat: int, floor: float, got: float) -> None:
    print(f"{what}: {steps} steps, best of {repeat}")
    print(f"  local cached re-run       {floor * 1000:8.1f} ms")
    print(f"  re-run from the store     {got * 1000:8.1f} ms  (fresh workdir)")
    verdict = "ok" if got <= 2 * floor else "OVER"
    print(f"  ratio                     {got / floor:8.2f}×  (target ≤ 2×: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pipex-bench-store-", dir="/var/tmp"))
    try:
        path = pipeline(base / "project", args.steps)
        store = base / "store"
        mocks = [
            mock(f"s{n}", stdout=[f"step {n}"], files={"data.csv": f"{n},x\n" * 50, "sub/note.txt": f"{n}"})
            for n in range(args.steps)
        ]
        first = run(path, mocks=mocks, workdir=base / "wd-first", cache_store=store, logs=False)
        assert first.status == "success", first.status

        local, shared = [], []
        for r in range(args.repeat):
            t = time.perf_counter()
            again = run(path, workdir=base / "wd-first", cache_store=store, logs=False)
            local.append(time.perf_counter() - t)
            assert {e.source for e in again.events if isinstance(e, StepCached)} == {"workspace"}

            t = time.perf_counter()
            fresh = run(path, workdir=base / f"wd-fresh-{r}", cache_store=store, logs=False)
            shared.append(time.perf_counter() - t)
            hits = [e for e in fresh.events if isinstance(e, StepCached)]
            assert len(hits) == args.steps and {e.source for e in hits} == {"store"}, fresh.status

        cli_local = [cli_run(path, base / "wd-first", store) for _ in range(args.repeat)]
        cli_shared = [cli_run(path, base / f"wd-cli-{r}", store) for r in range(args.repeat)]
        report("pipex run (a process each)", args.steps, args.repeat, min(cli_local), min(cli_shared))
        report("in-process", args.steps, args.repeat, min(local), min(shared))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
