"""pipex on Slurm against bare ``sbatch --wait`` scripts running the same containers (issue 18's benchmarks).

Sections: ``chain`` — a 20-step chain (each step reads its upstream's file and writes its own) with
``--executor slurm`` vs 20 ``sbatch --wait`` jobs one after the other, each a ``podman run --rm`` of the same
container with the same binds (target ≤ 1.2×); ``fanout`` — one ``matrix`` step of 50 instances (each writes its
own file) vs 50 ``sbatch --wait`` submitted at once (target ≤ 1.1×).

Run as root from the repo: it starts rootless Podman as ``pipex-test`` (tests/env/services.py, as bench_engine.py
does) and a private single-node Slurm as the same user (tests/env/slurm.py, 8 CPUs), and removes both at the
end. The jobs' ``podman`` is the session's rootless storage (a PATH wrapper, as in tests/engines/
test_slurm_real.py). Wall time: median of ``--repeat`` runs; the load average is printed with the figures.

``sbatch --wait`` is a loose floor: it asks slurmctld every 2 s at first, then less often, so a job is seen
done up to seconds after it ended. A third column, ``tight``, submits the same scripts with ``sbatch
--parsable`` and watches for a file each job writes when its container has exited (every 50 ms): what any
controller could do at best. pipex's run is also split into phases from its ``--json`` events:
``submit`` (step_start → step_job: the job script and ``sbatch``), ``job`` (step_job → step_end: Slurm's
scheduling, the container, seeing the exit file, the commit), ``gap`` (a step's end → its dependent's start) and
``all submitted`` (the run's first event → its last ``step_job``: how soon a fan-out's jobs are all queued).

``--baseline DIR`` (another ``pipex`` package dir, e.g. ``git archive`` of a commit) adds its runs, pair by pair
with this tree's, to measure a change.

    .venv/bin/python bench/bench_slurm.py [chain|fanout ...] [--repeat N] [--no-wait-floor] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_engine import Bench  # noqa: E402

from tests.env import services, users  # noqa: E402
from tests.env.slurm import SlurmCluster  # noqa: E402

IMAGE = services.ALPINE
CHAIN, FAN = 20, 50


def _chain_link(dirs: list[Path], n: int) -> tuple[str, list[tuple[Path, str, bool]]]:
    """Step ``n`` of the bare chain: its command and binds (``dirs[n]`` its output, the previous one its input)."""
    binds = [(dirs[n], "/output", False)] + ([(dirs[n - 1], "/input/prev", True)] if n else [])
    cmd = "echo 0 > /output/n" if n == 0 else "echo $(($(cat /input/prev/n)+1)) > /output/n"
    return cmd, binds


class SlurmBench:
    def __init__(self, repeat: int, baseline: Path | None = None) -> None:
        self.bench = Bench(repeat)
        self.baseline: Path | None = None
        if baseline is not None:  # a readable, byte-compiled copy, as Bench makes of this tree
            self.baseline = self.bench.base / "baseline"
            shutil.copytree(baseline, self.baseline / "pipex", ignore=shutil.ignore_patterns("__pycache__"))
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(self.baseline)], check=True)
            shutil.copy(self.bench.script, self.baseline / "pipex-script")
            subprocess.run(["chmod", "-R", "a+rX", str(self.baseline)], check=True)
        self.engine = self.bench.engine("rootless_podman")
        self.user = users.get_test_user()
        self.cluster = SlurmCluster(self.bench.base / "slurm", self.user)
        self.cluster.start()
        assert self.engine.runtime_dir is not None
        home = Path(self.engine.runtime_dir).parent
        bindir = users.make_user_dir(self.bench.base / "bin", self.user)
        flags = f"--root {home / 'storage'} --runroot {home / 'runroot'} --network-config-dir {home / 'networks'}"
        (bindir / "podman").write_text(f'#!/bin/sh\nexec /usr/bin/podman {flags} "$@"\n')
        (bindir / "podman").chmod(0o755)
        self.env = {
            **users.base_env(self.user),
            **self.engine.env(),
            **self.cluster.env(),
            "PATH": f"{bindir}:{users.SYSTEM_PATH}",
            "PYTHONPATH": str(self.bench.src),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

        self.phases: dict[str, list[dict[str, float]]] = {}  # "pipex" / "baseline" → per run

    def close(self) -> None:
        self.cluster.stop()
        self.bench.close()

    def as_user(
        self, argv: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            users.as_user_argv(self.user, argv),
            env=env or self.env,
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )

    def write(self, path: Path, text: str) -> None:
        path.write_text(text)
        os.chown(path, self.user.uid, self.user.gid)

    # -- pipex ----------------------------------------------------------------------------------------------
    def pipex(self, name: str, pipeline: str, src: Path | None = None) -> float:
        """One ``pipex run`` (this tree's, or the copy at ``src``), its phases kept."""
        project = self.bench.dir(name)
        self.write(project / "pipeline.yml", pipeline)
        self.write(project / ".pipex.yml", "executor: slurm\n")
        src = src or self.bench.src
        argv = [str(self.bench.python), str(src / "pipex-script"), "--host", self.engine.url]
        argv += ["--workdir", str(project / "wd"), "run", "--json"]
        began = time.monotonic()
        done = self.as_user(argv, project, env={**self.env, "PYTHONPATH": str(src)})
        took = time.monotonic() - began
        if done.returncode != 0:
            raise SystemExit(f"pipex failed: {done.stderr[-2000:]}")
        self.check(project / "wd" / name.split("-")[1])
        measured = phases([json.loads(line) for line in done.stdout.splitlines()])
        self.phases.setdefault("pipex" if src == self.bench.src else "baseline", []).append(measured)
        return took

    def check(self, ws: Path) -> None:
        """The run did the work: the chain's last step counted to 19; every instance of the fan-out wrote its n."""
        steps = json.loads((ws / "state.json").read_text())["steps"]
        ran = {sid: entry["last"]["runId"] for sid, entry in steps.items() if entry["last"]["status"] == "success"}
        if ws.name == "chain":
            assert (ws / "runs" / ran[f"s{CHAIN - 1}"] / "artifacts" / "n").read_text().strip() == str(CHAIN - 1)
        else:
            found = {(ws / "runs" / ran[f"s[{n}]"] / "artifacts" / "n").read_text().strip() for n in range(FAN)}
            assert found == {str(n) for n in range(FAN)}, found

    # -- bare sbatch --wait --------------------------------------------------------------------------------
    def job(self, cmd: str, binds: list[tuple[Path, str, bool]]) -> str:
        vols = " ".join(f"-v {src}:{dst}:{'ro' if ro else 'rw'}" for src, dst, ro in binds)
        run = f"podman run --rm --network=none {vols} {IMAGE} sh -c '{cmd}'"
        return f"#!/bin/sh\nunset CONTAINER_HOST DOCKER_HOST\n{run}\n"

    def bare_chain(self, name: str) -> float:
        root = self.bench.dir(name)
        dirs = [users.make_user_dir(root / f"s{n}", self.user) for n in range(CHAIN)]
        began = time.monotonic()
        for n in range(len(dirs)):
            cmd, binds = _chain_link(dirs, n)
            done = self.as_user(["sbatch", "--wait", "--output=/dev/null"], root, stdin=self.job(cmd, binds))
            if done.returncode != 0:
                raise SystemExit(f"sbatch failed: {done.stderr}")
        took = time.monotonic() - began
        assert (dirs[-1] / "n").read_text().strip() == str(CHAIN - 1)
        return took

    def bare_fan(self, name: str) -> float:
        root = self.bench.dir(name)
        dirs = [users.make_user_dir(root / f"s{n}", self.user) for n in range(FAN)]
        began = time.monotonic()
        procs = [
            subprocess.Popen(
                users.as_user_argv(self.user, ["sbatch", "--wait", "--output=/dev/null"]),
                env=self.env,
                cwd=root,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
            )
            for _ in dirs
        ]
        for proc, out, n in zip(procs, dirs, range(FAN), strict=True):
            assert proc.stdin is not None
            proc.stdin.write(self.job(f"echo {n} > /output/n", [(out, "/output", False)]))
            proc.stdin.close()
        codes = [proc.wait() for proc in procs]
        took = time.monotonic() - began
        assert codes == [0] * FAN, codes
        return took

    # -- bare sbatch, each job's end seen by a file it writes (polled every 50 ms) ------------------------------
    def submit(self, root: Path, script: str) -> None:
        done = self.as_user(["sbatch", "--parsable", "--output=/dev/null"], root, stdin=script)
        if done.returncode != 0:
            raise SystemExit(f"sbatch failed: {done.stderr}")

    def tight_job(self, cmd: str, binds: list[tuple[Path, str, bool]], flag: Path) -> str:
        return self.job(cmd, binds) + f"echo $? > {flag}.tmp && mv {flag}.tmp {flag}\n"

    def tight_chain(self, name: str) -> float:
        root = self.bench.dir(name)
        dirs = [users.make_user_dir(root / f"s{n}", self.user) for n in range(CHAIN)]
        began = time.monotonic()
        for n in range(len(dirs)):
            cmd, binds = _chain_link(dirs, n)
            self.submit(root, self.tight_job(cmd, binds, root / f"done{n}"))
            wait_for([root / f"done{n}"])
        took = time.monotonic() - began
        assert (dirs[-1] / "n").read_text().strip() == str(CHAIN - 1)
        return took

    def tight_fan(self, name: str) -> float:
        root = self.bench.dir(name)
        dirs = [users.make_user_dir(root / f"s{n}", self.user) for n in range(FAN)]
        began = time.monotonic()
        for n, out in enumerate(dirs):
            self.submit(root, self.tight_job(f"echo {n} > /output/n", [(out, "/output", False)], root / f"done{n}"))
        wait_for([root / f"done{n}" for n in range(FAN)])
        took = time.monotonic() - began
        assert {(d / "n").read_text().strip() for d in dirs} == {str(n) for n in range(FAN)}
        return took


def wait_for(flags: list[Path], timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while not all(f.exists() for f in flags):
        if time.monotonic() > deadline:
            raise SystemExit(f"jobs never ended: {[f.name for f in flags if not f.exists()]}")
        time.sleep(0.05)
    for flag in flags:
        assert flag.read_text().strip() == "0", flag


def phases(evs: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per phase, summed over the steps (see the module doc), and the run's wall time by its events."""

    def ts(e: dict[str, Any]) -> float:
        return datetime.fromisoformat(e["ts"]).timestamp()

    starts = {e["step"]["id"]: ts(e) for e in evs if e["event"] == "step_start"}
    jobs = {e["step"]["id"]: ts(e) for e in evs if e["event"] == "step_job"}
    ends = {e["step"]["id"]: ts(e) for e in evs if e["event"] == "step_end"}
    ran = [s for s in jobs if s in starts and s in ends]
    out = {
        "submit": sum(jobs[s] - starts[s] for s in ran),
        "job": sum(ends[s] - jobs[s] for s in ran),
        "events": ts(evs[-1]) - ts(evs[0]),
        "all submitted": max(jobs.values()) - ts(evs[0]),  # the fan-out's jobs are all in Slurm's queue
    }
    chain = sorted(ran, key=lambda s: starts[s])
    out["gap"] = sum(max(0.0, starts[b] - ends[a]) for a, b in itertools.pairwise(chain))
    return out


def rounded(xs: list[float]) -> list[float]:
    return [round(x, 2) for x in xs]


def chain_yaml() -> str:
    steps = ["id: chain", "steps:", f"  - id: s0\n    image: {IMAGE}\n    cmd: [sh, -c, 'echo 0 > /output/n']"]
    for n in range(1, CHAIN):
        steps.append(
            f"  - id: s{n}\n    image: {IMAGE}\n    inputs: [{{step: s{n - 1}}}]\n"
            f"    cmd: [sh, -c, 'echo $(($(cat /input/s{n - 1}/n)+1)) > /output/n']"
        )
    return "\n".join(steps) + "\n"


def fan_yaml() -> str:
    values = ", ".join(f'"{n}"' for n in range(FAN))
    return (
        f"id: fan\nsteps:\n  - id: s\n    image: {IMAGE}\n    matrix: {{n: [{values}]}}\n"
        "    cmd: [sh, -c, 'echo ${{ matrix.n }} > /output/n']\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", choices=["chain", "fanout", []])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-wait-floor", action="store_true", help="skip the sbatch --wait runs (slow)")
    parser.add_argument("--baseline", type=Path, help="another pipex package dir, measured pair by pair")
    args = parser.parse_args()
    sb = SlurmBench(args.repeat, args.baseline)
    try:
        for section in args.sections or ["chain", "fanout"]:
            ours, bare, tight, base = [], [], [], []
            sb.phases = {}
            kind = "chain" if section == "chain" else "fan"
            yaml_text = chain_yaml() if section == "chain" else fan_yaml()
            for r in range(args.repeat):
                # interleaved, each repetition in another order: the machine's load (and whatever one run leaves
                # the next, e.g. containers still being removed) hits all of them alike
                runs: list[tuple[list[float], Callable[[], float]]] = [
                    (
                        tight,
                        functools.partial(sb.tight_chain if kind == "chain" else sb.tight_fan, f"tight-{kind}-{r}"),
                    ),
                    (ours, functools.partial(sb.pipex, f"pipex-{kind}-{r}", yaml_text)),
                ]
                if not args.no_wait_floor:
                    bare_run = sb.bare_chain if kind == "chain" else sb.bare_fan
                    runs.append((bare, functools.partial(bare_run, f"bare-{kind}-{r}")))
                if sb.baseline:
                    runs.append((base, functools.partial(sb.pipex, f"baseline-{kind}-{r}", yaml_text, sb.baseline)))
                turn = r % len(runs)
                for into, measure in runs[turn:] + runs[:turn]:
                    into.append(measure())
            target = 1.2 if section == "chain" else 1.1
            o, t = statistics.median(ours), statistics.median(tight)
            row = f"{section:<7} pipex {o:6.2f} s   tight {t:6.2f} s ({o / t:4.2f}×)"
            if bare:
                b = statistics.median(bare)
                verdict = "ok" if o <= target * b else "MISSED"
                row += f"   sbatch --wait {b:6.2f} s   {o / b:4.2f}× (≤ {target}×) {verdict}"
            if base:
                row += f"   baseline {statistics.median(base):6.2f} s"
            print(row, f"\n        runs: pipex {rounded(ours)} tight {rounded(tight)} sbatch --wait {rounded(bare)}")
            if base:
                print(f"        baseline runs: {rounded(base)}")
            for who, runs in sb.phases.items():
                medians = {k: statistics.median(p[k] for p in runs) for k in runs[0]}
                print(f"        {who} phases (median s, summed over steps): " + ", ".join(
                    f"{k} {v:.2f}" for k, v in medians.items()
                ))  # fmt: skip
    finally:
        sb.close()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
