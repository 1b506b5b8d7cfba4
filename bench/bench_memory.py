"""Peak memory against the number of files: python bench/bench_memory.py [--files 10000,100000,1000000] [PATH…].

Each figure is one fresh process (its peak RSS from ``getrusage``), on a tree of N small files in directories of
1,000 made once under ``--dir`` (a disk, not a tmpfs) and reused:

- ``digest``: the artifacts digest of the tree (what committing a run pays);
- ``mount``: the digest of the tree as a mount, with the workspace's stat cache: cold (filling it, then saving
  it) and warm (loading it, every file a hit);
- ``copy``: ``copyToOutput`` of the tree into a new directory;
- ``export``: ``pipex export`` of the tree;
- ``run``: a whole in-process run on the fake runtime (no containers): a step writing N files, a consumer
  reading them with ``copyToOutput``; everything the engine keeps per run (digests, manifests, events).

Targets (issue 19): flat from 10,000 to 1,000,000 files, and at most 60 MB. The interpreter with pipex imported
is the baseline (``import``). The machine's load average is printed with each figure: a shared machine moves
the times, not the memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PER_DIR = 1000
PATHS = ("import", "digest", "mount", "copy", "export", "run")


def make_tree(root: Path, files: int) -> None:
    if (root / ".complete").exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    for d in range((files + PER_DIR - 1) // PER_DIR):
        sub = root / f"d{d:04d}"
        sub.mkdir(parents=True)
        for f in range(min(PER_DIR, files - d * PER_DIR)):
            (sub / f"f{f:04d}.txt").write_bytes(b"%d/%d\n" % (d, f))
    (root / ".complete").write_bytes(b"")


def plant(files: int):  # type: ignore[no-untyped-def]
    def write(out: Path) -> None:
        for d in range((files + PER_DIR - 1) // PER_DIR):
            sub = out / f"d{d:04d}"
            sub.mkdir()
            for f in range(min(PER_DIR, files - d * PER_DIR)):
                (sub / f"f{f:04d}.txt").write_bytes(b"%d/%d\n" % (d, f))

    return write


def child(path: str, tree: Path, files: int, scratch: Path) -> dict[str, float]:
    """One measurement in this (fresh) process."""
    from pipex.engine.digest import ARTIFACTS_FORMAT, tree_digest
    from pipex.engine.statcache import StatCache
    from pipex.workspace.exporter import export
    from pipex.workspace.treecopy import copy_into

    began = time.perf_counter()
    if path == "digest":
        tree_digest(tree, manifest=False, version=ARTIFACTS_FORMAT)
    elif path == "mount":
        cache = StatCache.open(scratch / "statcache")
        tree_digest(tree, cache=cache)
        cache.save()
        began = time.perf_counter()  # the warm figure: what a second run pays
        cache = StatCache.open(scratch / "statcache")
        tree_digest(tree, cache=cache)
        assert cache.misses == 0, cache.misses
    elif path == "copy":
        dest = scratch / "copy"
        dest.mkdir()
        copy_into(tree, dest, on_skip=lambda s: None)
    elif path == "export":
        export(tree, scratch / "export")
    elif path == "run":
        from pipex.model.pipeline import Pipeline
        from pipex.runtime.fake import Behaviour
        from pipex.testing import Mock, run

        pipeline = Pipeline.model_validate(
            {
                "id": "files",
                "steps": [
                    {"id": "produce", "image": "alpine:3.20", "cmd": ["true"]},
                    {
                        "id": "consume",
                        "image": "alpine:3.20",
                        "cmd": ["true"],
                        "inputs": [{"step": "produce", "copyToOutput": True}],
                    },
                ],
            }
        )
        mocks = [Mock("produce", Behaviour(plant=plant(files)))]
        result = run(pipeline, mocks=mocks, workdir=scratch / "wd")
        assert result.status == "success", result.status
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(path: str, tree: Path, files: int, base: Path) -> dict[str, float]:
    scratch = Path(tempfile.mkdtemp(dir=base, prefix="scratch-"))
    try:
        argv = [sys.executable, __file__, "--child", path, "--tree", str(tree), "--files", str(files)]
        out = subprocess.run(
            [*argv, "--scratch", str(scratch)], capture_output=True, text=True, check=True, cwd=REPO
        ).stdout
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"any of {', '.join(PATHS)} (default: all)")
    parser.add_argument("--files", default="10000,100000,1000000")
    parser.add_argument("--dir", default="/var/tmp/pipex-bench-memory", help="where the trees are made and kept")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "import":
            import pipex.engine.engine  # noqa: F401

            print(json.dumps({"seconds": 0.0, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
            return
        print(json.dumps(child(args.child, Path(args.tree), int(args.files), Path(args.scratch))))
        return
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    counts = [int(n) for n in args.files.split(",")]
    print(f"{os.cpu_count()} CPUs; peak RSS per fresh process; seconds are the measured operation only")
    for files in counts:
        tree = base / f"tree-{files}"
        make_tree(tree, files)
        for path in args.paths or PATHS:
            done = measure(path, tree, files, base)
            load = os.getloadavg()[0]
            verdict = "ok" if done["rss_mb"] <= 60 else "MISS"
            print(
                f"  {path:7} {files:>9,} files: peak RSS {done['rss_mb']:6.1f} MB (<= 60 MB {verdict}), "
                f"{done['seconds']:6.2f} s, load average {load:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
