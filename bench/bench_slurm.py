"""pipex on Slurm against bare ``sbatch --wait`` scripts running the same containers (issue 18's benchmarks).

Sections: ``chain`` — a 20-step chain (each step reads its upstream's file and writes its own) with
``--executor slurm`` vs 20 ``sbatch --wait`` jobs one after the other, each a ``podman run --rm`` of the same
container with the same binds (target ≤ 1.2×); ``fanout`` — one ``matrix`` step of 50 instances (each writes its
own file) vs 50 ``sbatch --wait`` submitted at once (target ≤ 1.1×).

Run as root from the repo: it starts rootless Podman as ``pipex-test`` (tests/env/services.py, as bench_engine.py
does) and a private single-node Slurm as the same user (tests/env/slurm.py, 8 CPUs), and removes both at the
end. The jobs' ``podman`` is the session's rootless storage (a PATH wrapper, as in tests/engines/
test_slurm_real.py). Wall time: median of ``--repeat`` runs; the load average is printed with the figures.

    .venv/bin/python bench/bench_slurm.py [chain|fanout ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_engine import Bench  # noqa: E402

from tests.env import services, users  # noqa: E402
from tests.env.slurm import SlurmCluster  # noqa: E402

IMAGE = services.ALPINE
CHAIN, FAN = 20, 50


class SlurmBench:
    def __init__(self, repeat: int) -> None:
        self.bench = Bench(repeat)
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

    def close(self) -> None:
        self.cluster.stop()
        self.bench.close()

    def as_user(self, argv: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            users.as_user_argv(self.user, argv),
            env=self.env,
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
    def pipex(self, name: str, pipeline: str) -> float:
        project = self.bench.dir(name)
        self.write(project / "pipeline.yml", pipeline)
        self.write(project / ".pipex.yml", "executor: slurm\n")
        argv = [str(self.bench.python), str(self.bench.script), "--host", self.engine.url]
        argv += ["--workdir", str(project / "wd"), "run"]
        began = time.monotonic()
        done = self.as_user(argv, project)
        took = time.monotonic() - began
        if done.returncode != 0:
            raise SystemExit(f"pipex failed: {done.stderr[-2000:]}")
        self.check(project / "wd" / name.split("-")[1])
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
        for n, out in enumerate(dirs):
            binds = [(out, "/output", False)] + ([(dirs[n - 1], "/input/prev", True)] if n else [])
            cmd = "echo 0 > /output/n" if n == 0 else "echo $(($(cat /input/prev/n)+1)) > /output/n"
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
    args = parser.parse_args()
    sb = SlurmBench(args.repeat)
    rows = []
    try:
        for section in args.sections or ["chain", "fanout"]:
            ours, bare = [], []
            for r in range(args.repeat):
                if section == "chain":
                    bare.append(sb.bare_chain(f"bare-chain-{r}"))
                    ours.append(sb.pipex(f"pipex-chain-{r}", chain_yaml()))
                else:
                    bare.append(sb.bare_fan(f"bare-fan-{r}"))
                    ours.append(sb.pipex(f"pipex-fan-{r}", fan_yaml()))
            target = 1.2 if section == "chain" else 1.1
            o, b = statistics.median(ours), statistics.median(bare)
            verdict = "ok" if o <= target * b else "MISSED"
            rows.append(
                f"{section:<7} pipex {o:6.2f} s   sbatch --wait {b:6.2f} s   {o / b:4.2f}× (≤ {target}×) {verdict}"
            )
            print(rows[-1], f"  runs: pipex {[round(x, 2) for x in ours]} bare {[round(x, 2) for x in bare]}")
    finally:
        sb.close()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
