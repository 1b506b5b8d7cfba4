"""Time and memory of validating pipelines full of problems (issue 11: validation cost stays linear).

Run: ``.venv/bin/python bench/bench_validate_errors.py [--quick]``. Each case writes a JSON pipeline and runs
``pipex validate`` on it in a fresh process (stderr counted, not kept), printing wall time, peak RSS (of the
child) and how many lines it printed. Cases:

- ``unknown-inputs N``: N steps, each naming an input step that does not exist (``s<i>-typo``), so every step
  is a problem with a did-you-mean search over N ids. Target: 20,000 in a few seconds.
- ``two-cycles N``: N steps in N/2 dependency cycles of two (each cycle's step was looked up by a scan).
- ``many-problems N``: N/10 steps with 10 unknown inputs each: N problems. Target: 300,000 in bounded memory
  (the issue measured 1.5 GB) and a bounded output. Baseline: the same file with every input known.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def unknown_inputs(count: int) -> dict[str, object]:
    steps = [
        {"id": f"s{i}", "image": "alpine:3.20", "cmd": ["true"], "inputs": [{"step": f"s{i}-typo"}]}
        for i in range(count)
    ]
    return {"id": "bench", "steps": steps}


def two_cycles(count: int) -> dict[str, object]:
    """count steps in count/2 cycles of two (s0 ⇄ s1, s2 ⇄ s3, …): one problem per cycle."""
    steps = [
        {"id": f"s{i}", "image": "alpine:3.20", "cmd": ["true"], "inputs": [{"step": f"s{i ^ 1}"}]}
        for i in range(count)
    ]
    return {"id": "bench", "steps": steps}


def many_problems(count: int, *, valid: bool = False) -> dict[str, object]:
    """count/10 steps of 10 inputs: all unknown, or (``valid``, the baseline of the same size) all known."""
    steps: list[dict[str, object]] = [{"id": f"s{i}", "image": "alpine:3.20", "cmd": ["true"]} for i in range(10)]
    for i in range(10, count // 10):
        names = [f"s{k}" if valid else f"missing-{i}-{k}" for k in range(10)]
        steps.append({"id": f"s{i}", "image": "alpine:3.20", "cmd": ["true"], "inputs": [{"step": n} for n in names]})
    return {"id": "bench", "steps": steps}


def measure(name: str, data: dict[str, object], directory: Path) -> None:
    file = directory / f"{name}.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    # The child reports its own peak RSS at exit (after main's sys.exit) on stdout, after what validate printed.
    # VmHWM, not getrusage: ru_maxrss keeps the peak of the forked copy of this (big) process from before exec.
    code = (
        "import atexit, os, sys\n"
        "hwm = lambda: next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "atexit.register(lambda: os.write(1, hwm().encode()))\n"
        "from pipex.cli.main import main\n"
        "main(sys.argv[1:])\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", str(file)],
        capture_output=True,
        cwd=directory,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    elapsed = time.perf_counter() - started
    peak = int((done.stdout.split() or [b"0"])[-1]) / 1024  # after what validate printed
    lines = done.stderr.count(b"\n")
    size = file.stat().st_size / 1e6
    print(
        f"{name:24} {size:6.1f} MB file  exit {done.returncode}  {elapsed:6.2f} s  peak RSS {peak:5.0f} MB  "
        f"{lines:7} lines on stderr"
    )


def main() -> None:
    quick = "--quick" in sys.argv
    cases = [
        ("unknown-inputs 3000", unknown_inputs(3000)),
        ("unknown-inputs 20000", unknown_inputs(20_000)),
        ("two-cycles 20000", two_cycles(20_000)),
    ]
    if not quick:
        cases.append(("no-problems (baseline)", many_problems(300_000, valid=True)))
        cases.append(("many-problems 300000", many_problems(300_000)))
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in cases:
            measure(name, data, Path(tmp))


if __name__ == "__main__":
    main()
