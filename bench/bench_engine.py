"""pipex's engine against bare engine runs, figures side by side in one run (issue 5's benchmarks).

Sections (pick any; default: all): ``chain`` (a) 20-step chain cold, rootless and rootful Podman, vs 20 bare
``podman run --rm``; ``cached`` (b) fully cached re-run of a 100-step chain (whole process) and ``pipex
--version``; ``dryrun`` (c) ``--dry-run`` of 1k/5k/10k-step layered DAGs, plain and ``--json``, wall and peak
RSS; ``files`` (d) a step writing 100,000 small files and a consumer reading them vs the same two containers
bare; ``logs`` (e) a step printing 200,000 lines (21 MB; also 1M) vs bare ``podman run`` / ``docker run``, plain
and ``--json``, on rootless Podman and on dockerd (``--engines``), with pipex's peak RSS; with ``--baseline-src``
another copy of pipex is measured in the same rounds; ``big`` (g) a step writing a 1 GiB file and a consumer
reading it vs the same two containers bare, pairs alternated (``--baseline-src`` too; ``--work-dir /dev/shm`` takes
the neighbours' disk writeback out of the comparison). Fingerprint figures (f): ``bench/bench_fingerprint.py``.

Run as root from the repo; it starts private engines with the test suite's scripts (tests/env/services.py:
rootless Podman as the user ``pipex-test``, rootful Podman, dockerd) and removes them at the end. pipex runs as a
separate process exactly as a user runs it (the code of the ``pipex`` console script pip installs), as
the engine's user; bare runs use the
``podman`` CLI as the same user on the same socket. See bench/README.md.

    .venv/bin/python bench/bench_engine.py [chain|cached|dryrun|files|logs|big ...] [--repeat N]
        [--engines rootless_podman,docker_engine] [--lines 200000,1000000] [--baseline-src DIR] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_load import generate  # noqa: E402

from tests.env import image, services, users  # noqa: E402
from tests.env.services import Engine, EngineService  # noqa: E402

SECTIONS = ("chain", "cached", "dryrun", "files", "logs", "big")
IMAGE = services.ALPINE
MB = 1 << 20

PRODUCE_FILES = (
    "cd /output && for d in $(seq 0 99); do mkdir d$d && cd d$d && "
    "for f in $(seq 0 999); do echo $d/$f > f$f; done && cd ..; done"
)
CONSUME_FILES = "find {src} -type f | xargs cat | wc -l > {out}/count.txt"
# 105 bytes a line: 200,000 lines = 21 MB.
PRINT_LINES = "awk 'BEGIN {{ for (i = 0; i < {n}; i++) printf \"%08d %096d\\n\", i, i }}'"
GIB = 1 << 30
PRODUCE_BIG = "dd if=/dev/zero of=/output/big.bin bs=1M count=1024 2>/dev/null"
CONSUME_BIG = "dd if={src}/big.bin of=/dev/null bs=1M 2> {out}/dd.txt"


@dataclass
class Measured:
    seconds: float
    rss_mb: float
    returncode: int
    stderr: str
    cpu: float = 0.0  # user + system seconds of the process and its children: moves less with the load than wall


@dataclass
class Row:
    what: str
    ours: str
    bare: str
    ratio: str
    target: str
    verdict: str


class Bench:
    """The engines (started on first use), the test user's pipex, and the rows measured so far."""

    def __init__(
        self, repeat: int, source: Path = REPO / "pipex", baseline: Path | None = None, work: Path | None = None
    ) -> None:
        """``work``: where projects, workdirs and bare runs' dirs go (default: under the base dir in /tmp)."""
        self.repeat = repeat
        self.base = Path(tempfile.mkdtemp(prefix="pipex-bench-", dir="/tmp"))
        self.base.chmod(0o711)
        self.work = self.base / "work"
        if work is not None:
            self.work = Path(tempfile.mkdtemp(prefix="pipex-bench-", dir=work))
            self.work.chmod(0o711)
        self.user = users.get_test_user()
        self.python = users.user_python()
        self.services: dict[str, EngineService] = {}
        self.engines: list[str] = list(LOG_ENGINES)  # the logs section's
        self.lines: list[int] = [200_000, 1_000_000]
        self.rows: list[Row] = []
        self._rootfs: bytes | None = None
        self.src = self._install(source, "src")
        self.script = self.src / "pipex-script"
        # Another pipex measured in the same rounds (``--baseline-src``): pairs taken minutes apart on a shared
        # machine differ more than the change being measured.
        self.baseline = None if baseline is None else self._install(baseline, "baseline-src")

    def _install(self, source: Path, name: str) -> Path:
        """A readable, byte-compiled copy of pipex: the clone may be closed to the test user, and a copy without
        __pycache__ would compile on every start, which is not what an installed pipex pays."""
        src = self.base / name
        shutil.copytree(source, src / "pipex", ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
        # What pip writes as the `pipex` console script (run as a file, like bin/pipex).
        (src / "pipex-script").write_text(
            "import sys\nfrom pipex.cli.main import main\nif __name__ == '__main__':\n    sys.exit(main())\n"
        )
        subprocess.run(["chmod", "-R", "a+rX", str(src)], check=True)
        return src

    # -- engines ----------------------------------------------------------------------------------------------
    def engine(self, name: str) -> Engine:
        service = self.services.get(name)
        if service is None:
            if name == "rootless_podman":
                service = services.rootless_podman(self.base, self.user)
            elif name == "docker_engine":
                service = services.docker_engine(self.base)
            else:
                service = services.rootful_podman(self.base)
            self.services[name] = service
            service.start()
            if self._rootfs is None:
                self._rootfs = image.rootfs_tarball(REPO / ".test-env" / "images").read_bytes()
            service.load_images(self._rootfs)
        return service.engine

    def close(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        services.kill_processes_using(self.base)
        services.unmount_under(self.base)
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)

    # -- processes --------------------------------------------------------------------------------------------
    def dir(self, name: str) -> Path:
        """A fresh dir the test user owns."""
        path = self.work / name
        if path.exists():
            shutil.rmtree(path)
        return users.make_user_dir(path, self.user)

    def argv_env(
        self, engine: Engine | None, argv: Sequence[str], src: Path | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """``argv`` as the engine's user (the test user for rootless Podman, else root), clean environment."""
        env = {**users.base_env(self.user), "PYTHONPATH": str(src or self.src), "PYTHONDONTWRITEBYTECODE": "1"}
        if engine is not None:
            env.update(engine.env())
        if engine is None or engine.rootless:
            return users.as_user_argv(self.user, argv), env
        env["HOME"] = "/root"
        env["USER"] = env["LOGNAME"] = "root"
        return list(argv), env

    def measure(
        self, engine: Engine | None, argv: Sequence[str], cwd: Path | None = None, src: Path | None = None
    ) -> Measured:
        """Wall time and peak RSS of one process, stdout discarded.

        The RSS comes from GNU time (a small process that forks the command): a child this big process spawns
        directly (vfork) would report *this* process's peak as its own, since the peak survives exec.
        """
        full, env = self.argv_env(engine, argv, src)
        with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
            timed = ["/usr/bin/time", "-q", "-f", "%M %U %S", "-o", rss.name, *full]
            began = time.perf_counter()
            done = subprocess.run(timed, env=env, cwd=cwd or "/", stdout=subprocess.DEVNULL, stderr=err, check=False)
            seconds = time.perf_counter() - began
            err.seek(0)
            text = err.read().decode(errors="replace")
            kib, user, system = rss.read().strip().splitlines()[-1].split()
        return Measured(seconds, int(kib) / 1024, done.returncode, text, float(user) + float(system))

    def pipex(
        self, engine: Engine | None, args: Sequence[str], cwd: Path, check: bool = True, src: Path | None = None
    ) -> Measured:
        """``src``: the copy of pipex to run (default: the one measured)."""
        src = src or self.src
        # The installed `pipex` script (`python -m pipex` would add runpy, which users never pay).
        argv = [str(self.python), str(src / "pipex-script")]
        if engine is not None:
            argv += ["--host", engine.url]
        done = self.measure(engine, [*argv, *args], cwd, src)
        if check and done.returncode != 0:
            raise SystemExit(f"pipex {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done

    def podman(self, engine: Engine, args: Sequence[str]) -> Measured:
        """The engine's own CLI (``podman``, or ``docker`` for dockerd) on the engine's socket."""
        cli = ["podman", "--url", engine.url] if engine.kind == "podman" else ["docker", "--host", engine.url]
        done = self.measure(engine, [*cli, *args])
        if done.returncode != 0:
            raise SystemExit(f"{cli[0]} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done

    def project(self, name: str, pipeline: Mapping[str, object]) -> Path:
        root = self.dir(name)
        path = root / "pipeline.yml"
        path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
        os.chown(path, self.user.uid, self.user.gid)
        return root

    def row(
        self,
        what: str,
        ours: float,
        bare: float,
        target: float,
        unit: str = "s",
        ratio: bool = True,
        paired: float | None = None,
    ) -> None:
        """A row comparing ``ours`` with ``bare``; the target applies to the ratio (``ratio``) or to ``ours``.
        ``paired``: the ratio measured pair by pair (its median), shown and judged instead of ours / bare."""

        def fmt(v: float) -> str:
            return f"{v:.3f} s" if unit == "s" else f"{v:.0f} MB"

        value = paired if paired is not None else ours / bare if bare else float("inf")
        judged = value if ratio else ours
        self.rows.append(
            Row(
                what,
                fmt(ours),
                fmt(bare) if bare else "-",
                f"{value:.2f}x" if bare else "-",
                f"<= {target:g}x" if ratio else f"<= {fmt(target)}",
                "ok" if judged <= target else "MISS",
            )
        )
        r = self.rows[-1]
        print(f"  {r.what}: {r.ours} vs {r.bare} = {r.ratio} (target {r.target}) {r.verdict}", flush=True)


def chain(steps: int, command: str) -> dict[str, object]:
    out: list[dict[str, object]] = []
    for i in range(steps):
        step: dict[str, object] = {"id": f"s{i}", "image": IMAGE, "cmd": ["sh", "-c", command.format(i=i)]}
        if i:
            step["inputs"] = [{"step": f"s{i - 1}"}]
        out.append(step)
    return {"id": "chain", "steps": out}


def median(action: Callable[[], float], n: int) -> float:
    return statistics.median(action() for _ in range(n))


# -- (a) --------------------------------------------------------------------------------------------------------
def bench_chain(b: Bench) -> None:
    for name in ("rootless_podman", "rootful_podman"):
        chain_on(b, name)


def chain_on(b: Bench, name: str) -> None:
    steps = 20
    command = "echo {i} > /output/out.txt"
    engine = b.engine(name)
    b.podman(engine, ["run", "--rm", "--network", "none", IMAGE, "true"])  # warm-up: first-use costs

    def ours() -> float:
        root = b.project("chain", chain(steps, command))
        return b.pipex(engine, ["--workdir", str(root / "wd"), "run", "--json"], root).seconds

    def bare() -> float:
        out = b.dir("bare-out")
        began = time.perf_counter()
        for i in range(steps):
            run = ["run", "--rm", "--network", "none", "-v", f"{out}:/output", IMAGE]
            b.podman(engine, [*run, "sh", "-c", command.format(i=i)])
        return time.perf_counter() - began

    label = "rootless" if engine.rootless else "rootful"
    b.row(f"(a) 20-step chain cold, {label} Podman", median(ours, b.repeat), median(bare, b.repeat), 1.0)


# -- (b) --------------------------------------------------------------------------------------------------------
def bench_cached(b: Bench) -> None:
    engine = b.engine("rootless_podman")
    root = b.project("cached", chain(100, "echo {i} > /output/out.txt"))
    run = ["--workdir", str(root / "wd"), "run", "--json"]
    b.pipex(engine, run, root)  # cold: fills the cache
    # The engine removes the 100 containers' storage in the background for a while (vfs under rootless): let it
    # finish, then one unmeasured cached run (as a user's second run would find it).
    time.sleep(3)
    b.pipex(engine, run, root)
    floor = median(lambda: b.measure(engine, [str(b.python), "-c", "pass"]).seconds, 5)
    cached = median(lambda: b.pipex(engine, run, root).seconds, max(5, b.repeat))
    version = median(lambda: b.pipex(None, ["--version"], root).seconds, max(5, b.repeat))
    b.row("(b) cached re-run, 100-step chain (vs python -c pass)", cached, floor, 0.35, ratio=False)
    b.row("(b) pipex --version (vs python -c pass)", version, floor, 0.15, ratio=False)


# -- (c) --------------------------------------------------------------------------------------------------------
def bench_dryrun(b: Bench) -> None:
    engine = b.engine("rootless_podman")
    for count in (1000, 5000, 10_000):
        root = b.project(f"dag{count}", generate(count))
        floor_script = "import yaml, sys; yaml.load(open(sys.argv[1]), Loader=yaml.CSafeLoader)"
        floor = b.measure(engine, [str(b.python), "-c", floor_script, str(root / "pipeline.yml")])
        for flags, label in ((["--json"], "--json"), ([], "plain")):
            done = b.pipex(engine, ["--workdir", str(root / "wd"), "run", "--dry-run", *flags], root)
            what = f"(c) --dry-run {count:>6} steps {label}"
            if count == 10_000:
                b.row(f"{what} wall (vs YAML parse)", done.seconds, floor.seconds, 2.0, ratio=False)
                b.row(f"{what} peak RSS (vs YAML parse)", done.rss_mb, floor.rss_mb, 200, unit="MB", ratio=False)
            else:
                print(f"  {what}: {done.seconds:.2f} s, {done.rss_mb:.0f} MB (YAML parse {floor.seconds:.2f} s)")


# -- (d) --------------------------------------------------------------------------------------------------------
def bench_files(b: Bench) -> None:
    engine = b.engine("rootless_podman")
    consume = CONSUME_FILES.format(src="/input/produce", out="/output")
    pipeline = {
        "id": "files",
        "steps": [
            {"id": "produce", "image": IMAGE, "cmd": ["sh", "-c", PRODUCE_FILES]},
            {"id": "consume", "image": IMAGE, "inputs": [{"step": "produce"}], "cmd": ["sh", "-c", consume]},
        ],
    }

    runs: list[Measured] = []

    def ours() -> float:
        root = b.project("files", pipeline)
        runs.append(b.pipex(engine, ["--workdir", str(root / "wd"), "run", "--json"], root))
        return runs[-1].seconds

    def bare() -> float:
        produced, consumed = b.dir("bare-produced"), b.dir("bare-consumed")
        began = time.perf_counter()
        b.podman(
            engine, ["run", "--rm", "--network", "none", "-v", f"{produced}:/output", IMAGE, "sh", "-c", PRODUCE_FILES]
        )
        mounts = ["-v", f"{produced}:/input/produce:ro", "-v", f"{consumed}:/output"]
        b.podman(engine, ["run", "--rm", "--network", "none", *mounts, IMAGE, "sh", "-c", consume])
        seconds = time.perf_counter() - began
        count = (consumed / "count.txt").read_text().strip()
        assert count == "100000", f"the bare consumer read {count} files"
        return seconds

    b.row("(d) 100,000 files + consumer, rootless Podman", median(ours, b.repeat), median(bare, b.repeat), 1.2)
    b.row("(d) 100,000 files: pipex peak RSS", max(r.rss_mb for r in runs), 0, 60, unit="MB", ratio=False)


# -- (e) --------------------------------------------------------------------------------------------------------
LOG_ENGINES = ("rootless_podman", "docker_engine")


def bench_logs(b: Bench) -> None:
    for name in b.engines:
        for lines in b.lines:
            logs_of(b, name, lines)


def logs_of(b: Bench, name: str, lines: int) -> None:
    """Rounds of: the bare run, then pipex plain and ``--json`` (and the baseline copy's), the order rotated each
    round; a figure is the median of its runs and of its ratios to the same round's bare run (pairwise: the
    machine's load moves between rounds more than within one)."""
    engine = b.engine(name)
    label = "rootless Podman" if engine.rootless else "dockerd" if engine.kind == "docker" else "rootful Podman"
    command = PRINT_LINES.format(n=lines)
    pipeline = {"id": "logs", "steps": [{"id": "talk", "image": IMAGE, "cmd": ["sh", "-c", command]}]}
    bare_argv = ["run", "--rm", "--network", "none", IMAGE, "sh", "-c", command]
    b.podman(engine, ["run", "--rm", "--network", "none", IMAGE, "true"])  # warm-up: first-use costs

    def ours(src: Path, *flags: str) -> Callable[[], Measured]:
        def run() -> Measured:
            root = b.project("logs", pipeline)
            return b.pipex(engine, ["--workdir", str(root / "wd"), "run", *flags], root, src=src)

        return run

    variants: dict[str, Callable[[], Measured]] = {"bare": lambda: b.podman(engine, bare_argv)}
    for tag, src in (("", b.src), ("before: ", b.baseline)):
        if src is not None:
            variants[f"{tag}plain"] = ours(src)
            variants[f"{tag}--json"] = ours(src, "--json")
    runs: dict[str, list[Measured]] = {key: [] for key in variants}
    ratios: dict[str, list[float]] = {key: [] for key in variants}
    loads = []
    keys = list(variants)
    for r in range(b.repeat):
        order = keys[r % len(keys) :] + keys[: r % len(keys)]
        for key in order:
            runs[key].append(variants[key]())
        for key in keys:
            ratios[key].append(runs[key][-1].seconds / runs["bare"][-1].seconds)
        loads.append(os.getloadavg()[0])
    bare_s = statistics.median(m.seconds for m in runs["bare"])
    size = lines * 105 / 1e6
    load = f"load {min(loads):.1f}-{max(loads):.1f}"
    for key in keys[1:]:
        seconds = statistics.median(m.seconds for m in runs[key])
        pairwise = statistics.median(ratios[key])
        rss = max(m.rss_mb for m in runs[key])
        cpu = statistics.median(m.cpu for m in runs[key])
        b.row(f"(e) {lines:,} lines ({size:.0f} MB), {label}, {key}", seconds, bare_s, 1.2)
        print(
            f"    pairwise median ratio {pairwise:.2f}x, pipex CPU {cpu:.2f} s, peak RSS {rss:.0f} MB ({load})",
            flush=True,
        )
        b.row(f"(e) {lines:,} lines, {label}, {key}: pipex peak RSS", rss, 0, 60, unit="MB", ratio=False)


# -- (g) --------------------------------------------------------------------------------------------------------
def bench_big(b: Bench) -> None:
    """A 1 GiB artifact then a consumer, in pairs (pipex, bare[, pipex before]) so a neighbour's load hits both."""
    engine = b.engine("rootless_podman")
    consume = CONSUME_BIG.format(src="/input/produce", out="/output")
    pipeline = {
        "id": "big",
        "steps": [
            {"id": "produce", "image": IMAGE, "cmd": ["sh", "-c", PRODUCE_BIG]},
            {"id": "consume", "image": IMAGE, "inputs": [{"step": "produce"}], "cmd": ["sh", "-c", consume]},
        ],
    }
    b.podman(engine, ["run", "--rm", "--network", "none", IMAGE, "true"])  # warm-up: first-use costs

    def ours(src: Path | None = None) -> float:
        root = b.project("big", pipeline)
        try:
            return b.pipex(engine, ["--workdir", str(root / "wd"), "run", "--json"], root, src=src).seconds
        finally:
            shutil.rmtree(root)  # 1 GiB a run: never leave two on the disk

    def bare() -> float:
        produced, consumed = b.dir("bare-produced"), b.dir("bare-consumed")
        began = time.perf_counter()
        b.podman(
            engine, ["run", "--rm", "--network", "none", "-v", f"{produced}:/output", IMAGE, "sh", "-c", PRODUCE_BIG]
        )
        mounts = ["-v", f"{produced}:/input/produce:ro", "-v", f"{consumed}:/output"]
        b.podman(engine, ["run", "--rm", "--network", "none", *mounts, IMAGE, "sh", "-c", consume])
        seconds = time.perf_counter() - began
        said = (consumed / "dd.txt").read_text()
        assert f"{GIB >> 20}+0 records in" in said, f"the bare consumer read: {said}"  # busybox dd: MiB blocks
        shutil.rmtree(produced)
        return seconds

    now: list[float] = []
    base: list[float] = []
    before: list[float] = []
    for i in range(b.repeat):
        now.append(ours())
        base.append(bare())
        if b.baseline is not None:
            before.append(ours(b.baseline))
        extra = f", before {before[-1]:.2f} s = {before[-1] / base[-1]:.2f}x" if before else ""
        print(f"  pair {i + 1}: pipex {now[-1]:.2f} s, bare {base[-1]:.2f} s = {now[-1] / base[-1]:.2f}x{extra}")
        print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)
    ratios = [n / s for n, s in zip(now, base, strict=True)]
    print(f"  median of the pairs' ratios: {statistics.median(ratios):.2f}x")
    b.row("(g) 1 GiB artifact + consumer, rootless Podman", statistics.median(now), statistics.median(base), 1.1)
    if before:
        ratios = [n / s for n, s in zip(before, base, strict=True)]
        print(f"  before: median of the pairs' ratios: {statistics.median(ratios):.2f}x")
        b.row("(g) the same, pipex before", statistics.median(before), statistics.median(base), 1.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is printed")
    parser.add_argument(
        "--engines", default=",".join(LOG_ENGINES), help="logs: the engines, of rootless_podman, docker_engine"
    )
    parser.add_argument("--lines", default="200000,1000000", help="logs: the line counts, comma-separated")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="logs, big: another pipex package measured in the same rounds (git archive main pipex | tar -x)",
    )
    parser.add_argument(
        "--pipex-src",
        type=Path,
        default=REPO / "pipex",
        help="the pipex package to measure (e.g. an older one: git archive HEAD pipex | tar -x -C DIR)",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="put projects, workdirs and bare dirs here, e.g. /dev/shm (no disk writeback)"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it starts private engines (rootless Podman as the user pipex-test)")
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}")
    # `timeout` and service managers stop with SIGTERM: exit through the `finally` below so the private engines
    # are stopped and their storage removed (a killed bench left a rootless Podman service running once).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    bench = Bench(
        args.repeat, args.pipex_src.resolve(), args.baseline_src and args.baseline_src.resolve(), args.work_dir
    )
    bench.engines = [name for name in args.engines.split(",") if name]
    bench.lines = [int(n) for n in args.lines.split(",") if n]
    print(f"pipex from {args.pipex_src}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}", flush=True)
    table = {"chain": bench_chain, "cached": bench_cached, "dryrun": bench_dryrun, "files": bench_files}
    table["logs"] = bench_logs
    table["big"] = bench_big
    try:
        for section in args.sections or SECTIONS:
            print(f"[{section}]", flush=True)
            table[section](bench)
    finally:
        bench.close()
    print(f"\n{'benchmark':62} {'pipex':>10} {'bare':>10} {'ratio':>7} {'target':>11}")
    for r in bench.rows:
        print(f"{r.what:62} {r.ours:>10} {r.bare:>10} {r.ratio:>7} {r.target:>11}  {r.verdict}")
    print("(f) fingerprinting: .venv/bin/python bench/bench_fingerprint.py")


if __name__ == "__main__":
    main()
