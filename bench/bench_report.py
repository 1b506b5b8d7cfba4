"""The report of a 1,000-step run: time to render it (HTML, JSON, TSV) and the HTML page's size.

Run: ``.venv/bin/python bench/bench_report.py [STEPS] [--repeat N]`` (default 1,000 steps, best of 5). The run
is real, on the in-memory fake runtime: a layered DAG (``bench_load.generate``: 100 steps a layer, two inputs
each, conditions), where every 7th step of the last two layers fails (its dependents are skipped, its stderr is
read for the failure's tail) and the rest run, so the record and the page are those of an actual run. Targets
(issue 17): the HTML page in ≤ 1 s and under 5 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

TARGET_SECONDS = 1.0
TARGET_BYTES = 5 * 1024 * 1024


def make_run(steps: int, root: Path) -> tuple[Path, str]:
    """Run a ``steps``-step pipeline on the fake runtime; → (workdir, workspace)."""
    from bench_load import generate

    from pipex.runtime.fake import Behaviour, FakeRuntime
    from pipex.testing import run

    project = root / "proj"
    project.mkdir()
    (project / "pipeline.json").write_text(json.dumps(generate(steps)))
    rt = FakeRuntime()
    for i in range(max(0, steps - 200), steps, 7):  # failures in the last two layers: most steps run
        rt.script(step=f"s{i}", behaviour=Behaviour(exit_code=1, stderr=b"boom\n" * 30))
    result = run(project, workdir=root / "wd", runtime=rt, concurrency=8)
    print(f"run: {len(result.result.steps)} steps, status {result.status}, {result.result.duration:.1f}s")
    return root / "wd", result.result.workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="?", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from pipex.report import render
    from pipex.workspace.layout import Workspace
    from pipex.workspace.records import read

    with tempfile.TemporaryDirectory() as tmp:
        workdir, name = make_run(args.steps, Path(tmp))
        ws = Workspace(workdir, name)
        counts = read(ws)["counts"]
        print("outcomes:", ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        figures = {}
        for fmt in ("html", "json", "tsv"):
            best = float("inf")
            size = 0
            for _ in range(args.repeat):
                started = time.perf_counter()
                text = render(ws, None, fmt)
                best = min(best, time.perf_counter() - started)
                size = len(text.encode("utf-8"))
            figures[fmt] = (best, size)
            print(f"{fmt:5}  {best * 1000:7.1f} ms  {size / 1024:8.1f} KiB")
    seconds, size = figures["html"]
    ok = seconds <= TARGET_SECONDS and size < TARGET_BYTES
    print(
        f"html: {seconds:.3f} s (target ≤ {TARGET_SECONDS:g} s), {size / 1024 / 1024:.2f} MB (target < 5 MB): "
        + ("ok" if ok else "MISSED")
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
