"""Shared cache figures: python bench/bench_store.py [--steps N] [--repeat R].

A pipeline of N steps (default 100: 10 independent chains of 10, each step writing two small files and a log line)
runs once on the fake runtime with a cache store (so the store holds every step). Then, R times each, one after the
other in pairs (a loaded machine drifts: the ratio is taken pair by pair, and the median is what counts):

- a **local cached re-run** in the same workdir (every step a local cache hit), the floor;
- a **re-run from the store** in a fresh, empty workdir (every step materialised from the store: record read,
  blobs copied and hashed, artifacts digest checked, run committed), target ≤ 2× the floor.

Measured twice: as ``pipex run`` commands (a new process each, what a user waits for; the CLI is handed the fake
runtime through ``pipex.cli.main.main(argv, runtime=...)``; compiled bytecode is cached in the temporary directory,
as an installed pipex has it, even where ``PYTHONDONTWRITEBYTECODE`` is set), and in-process through
``pipex.testing.run`` (pipex's own work only: there the floor does no file I/O at all, while every store hit must
create and commit a run, so that ratio mostly measures the filesystem's metadata speed). The fake runtime isolates
what pipex itself spends (no container is started in either re-run). Data goes in a temporary directory under
/var/tmp (a disk, not a tmpfs) and is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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


def cli_run(path: Path, workdir: Path, store: Path, env: dict[str, str]) -> float:
    """Seconds of one ``pipex run`` process (it must succeed)."""
    argv = ["run", str(path), "--workdir", str(workdir), "--cache-store", str(store), "--json"]
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *argv], capture_output=True, text=True, check=False, env=env)
    took = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"step_cached"') == len(list(workdir.glob("*/step-runs/*"))), "not all cached"
    return took


def report(what: str, steps: int, floor: list[float], got: list[float]) -> None:
    ratio = statistics.median(g / f for f, g in zip(floor, got, strict=True))
    print(f"{what}: {steps} steps, {len(floor)} pairs (min / median)")
    print(f"  local cached re-run       {min(floor) * 1000:8.1f} / {statistics.median(floor) * 1000:8.1f} ms")
    print(f"  re-run from the store     {min(got) * 1000:8.1f} / {statistics.median(got) * 1000:8.1f} ms  (fresh)")
    verdict = "ok" if ratio <= 2 else "OVER"
    print(f"  ratio, median of pairs    {ratio:8.2f}×  (target ≤ 2×: {verdict})")


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

        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
        cli_run(path, base / "wd-first", store, env)  # compiles the bytecode both kinds of run use
        cli_run(path, base / "wd-cli-warm", store, env)  # and what only a hit imports
        cli_local, cli_shared = [], []
        for r in range(args.repeat):
            cli_local.append(cli_run(path, base / "wd-first", store, env))
            cli_shared.append(cli_run(path, base / f"wd-cli-{r}", store, env))
        report("pipex run (a process each)", args.steps, cli_local, cli_shared)
        report("in-process", args.steps, local, shared)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
