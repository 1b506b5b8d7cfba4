"""The Slurm executor on a real single-node Slurm (tests/env/slurm.py) running rootless Podman jobs as the test
user: a DAG, a fan-out, retries, a timeout, Ctrl-C of the controller, a lost job, ``exec --executor slurm``.

The cluster starts once per session; the node is this machine, so the jobs' ``podman`` CLI uses the test
session's rootless storage (``CONTAINERS_STORAGE_CONF``, ``XDG_RUNTIME_DIR``), where the test images are.
With ``CI=true`` a missing Slurm fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engines.conftest import UserPython
from tests.env import engine_api, users
from tests.env.registry import REGISTRY
from tests.env.services import Engine
from tests.env.slurm import SlurmCluster, SlurmStartError, missing_binaries

pytestmark = [pytest.mark.engine, pytest.mark.rootless_podman]


@pytest.fixture(scope="session")
def slurm(test_user: users.TestUser, rootless_podman: Engine) -> Iterator[SlurmCluster]:
    missing = missing_binaries()
    if missing:
        why = f"Slurm: {', '.join(missing)} not installed (tests/env/setup.sh packages installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(why + " (CI=true: Slurm must run)", pytrace=False)
        pytest.skip(why)
    cluster = SlurmCluster(REGISTRY.base_dir() / f"slurm-{uuid.uuid4().hex[:6]}", test_user)
    try:
        cluster.start()
    except SlurmStartError as exc:
        cluster.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


class SlurmDriver:
    def __init__(self, engine: Engine, cluster: SlurmCluster, python: UserPython, base: Path) -> None:
        self.engine, self.cluster, self.python, self.base = engine, cluster, python, base
        self.workdir = base / "wd"
        self.projects = 0
        self.bin = self.node_podman()

    def node_podman(self) -> Path:
        """The node's ``podman`` as the jobs find it on PATH: the session's rootless storage (the test images),
        given as the flags the session's service was started with (rootless Podman's CLI reads no graphroot
        from a storage.conf that is not the user's own)."""
        assert self.engine.runtime_dir is not None
        home = Path(self.engine.runtime_dir).parent
        wrapper = users.make_user_dir(self.base / "bin", users.get_test_user()) / "podman"
        flags = f"--root {home / 'storage'} --runroot {home / 'runroot'} --network-config-dir {home / 'networks'}"
        self.write(wrapper, f'#!/bin/sh\nexec /usr/bin/podman {flags} "$@"\n')
        wrapper.chmod(0o755)
        return wrapper.parent

    def env(self) -> dict[str, str]:
        assert self.engine.runtime_dir is not None
        storage = Path(self.engine.runtime_dir).parent / "storage.conf"
        return {
            **users.base_env(users.get_test_user()),
            **self.python.env(),
            **self.engine.env(),
            **self.cluster.env(),
            "CONTAINERS_STORAGE_CONF": str(storage),
            "PATH": f"{self.bin}:{users.SYSTEM_PATH}",
            "PYTHONUNBUFFERED": "1",
        }

    def project(self, pipeline: str, poll: float = 0.2) -> Path:
        self.projects += 1
        root = users.make_user_dir(self.base / f"p{self.projects}", users.get_test_user())
        self.write(root / "pipeline.yml", pipeline)
        self.write(root / ".pipex.yml", f"executor: slurm\nslurm:\n  pollInterval: {poll}\n")
        return root

    def write(self, path: Path, text: str) -> None:
        """A file the test user owns (pipex ignores a .pipex.yml someone else owns)."""
        path.write_text(text)
        user = users.get_test_user()
        if not user.is_self:
            os.chown(path, user.uid, user.gid)

    def argv(self, args: list[str]) -> list[str]:
        base = [str(self.python.python), "-m", "pipex", "--host", self.engine.url, "--workdir", str(self.workdir)]
        return users.as_user_argv(users.get_test_user(), [*base, *args])

    def cli(self, args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(args), env=self.env(), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )

    def popen(self, args: list[str], cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(args), env=self.env(), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def containers(self) -> list[dict[str, Any]]:
        return list(engine_api.containers(self.engine.socket))

    def jobs(self) -> list[str]:
        return self.cluster.jobs()


@pytest.fixture
def driver(
    slurm: SlurmCluster, rootless_podman: Engine, user_python: UserPython, user_tmp_path: Path
) -> Iterator[SlurmDriver]:
    d = SlurmDriver(rootless_podman, slurm, user_python, user_tmp_path)
    yield d
    assert d.jobs() == [], "pipex left Slurm jobs behind"
    assert d.containers() == [], "pipex left containers behind"


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def end(text: str) -> dict[str, Any]:
    last = events(text)[-1]
    assert last["event"] == "pipeline_end"
    return last


def state(workdir: Path, ws: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((workdir / ws / "state.json").read_text())
    return data


def meta(workdir: Path, ws: str, step: str) -> dict[str, Any]:
    run_id = state(workdir, ws)["steps"][step]["last"]["runId"]
    data: dict[str, Any] = json.loads((workdir / ws / "runs" / run_id / "meta.json").read_text())
    return data


DAG = """
id: dag
steps:
  - id: a
    image: alpine:3.20
    cmd: [sh, -c, 'echo one > /output/x; echo "log from a"; echo "err from a" >&2']
    env: {SECRETISH: "two words", EMPTY: ""}
  - id: b
    image: alpine:3.20
    inputs: [{step: a}]
    cmd: [sh, -c, 'cat /input/a/x > /output/y; echo "$SECRETISH" >> /output/y']
    env: {SECRETISH: "two words"}
  - id: c
    image: alpine:3.20
    inputs: [{step: a}]
    resources: {cpus: 1, memory: 64m}
    timeoutSec: 120
    slurm: {partition: debug, extraArgs: [--comment=pipex-test]}
    cmd: [sh, -c, 'wc -c < /input/a/x > /output/n']
  - id: d
    image: alpine:3.20
    inputs: [{step: b}, {step: c}]
    cmd: [sh, -c, 'cat /input/b/y /input/c/n > /output/all']
"""


def test_dag_runs_as_jobs_and_is_cached(driver: SlurmDriver) -> None:
    project = driver.project(DAG)
    done = driver.cli(["run", "--json", "--verbose"], cwd=project)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "warning" not in done.stderr
    assert end(done.stdout)["status"] == "success"
    assert meta(driver.workdir, "dag", "a")["pid"]  # committed by the controller
    logs = {(e["step"]["id"], e["stream"], e["line"]) for e in events(done.stdout) if e["event"] == "step_log"}
    assert {("a", "stdout", "log from a"), ("a", "stderr", "err from a")} <= logs
    run = driver.workdir / "dag" / "runs" / state(driver.workdir, "dag")["steps"]["d"]["last"]["runId"]
    assert (run / "artifacts" / "all").read_text().split() == ["one", "two", "words", "4"]
    # each step's job id, as the events and the records say it, is the job Slurm ran for it
    jobs = {e["step"]["id"]: e["job"] for e in events(done.stdout) if e["event"] == "step_job"}
    assert set(jobs) == {"a", "b", "c", "d"}
    ends = {e["step"]["id"]: e["job"] for e in events(done.stdout) if e["event"] == "step_end"}
    assert ends == jobs
    assert {step: meta(driver.workdir, "dag", step)["job"] for step in jobs} == jobs
    # and the node each job ran on (the cluster's only one), as the job reported it
    nodes = {e["step"]["id"]: e.get("node") for e in events(done.stdout) if e["event"] == "step_end"}
    assert nodes == dict.fromkeys(jobs, driver.cluster.node) and driver.cluster.node
    assert {step: meta(driver.workdir, "dag", step)["node"] for step in jobs} == nodes
    known = driver.cluster.known_jobs()
    assert {step: known.get(job) for step, job in jobs.items()} == {
        step: ("COMPLETED", f"pipex-{step}") for step in jobs
    }
    assert (run / "stdout.log").is_file() and not (run / ".slurm").exists()
    again = driver.cli(["run", "--json"], cwd=project)
    assert again.returncode == 0, again.stderr
    assert end(again.stdout)["counts"]["cached"] == 4


FAN = "id: fan\nsteps:\n" + "".join(
    f"  - id: s{n}\n    image: alpine:3.20\n    cmd: [sh, -c, 'echo {n} > /output/n']\n" for n in range(8)
)


def test_independent_steps_run_at_once(driver: SlurmDriver) -> None:
    # Eight independent steps (a stand-in for a matrix fan-out): all in flight at once on the cluster's 8 CPUs,
    # whatever this host's CPU count (the executor's parallelism, not --concurrency's default).
    project = driver.project(FAN)
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    result = end(done.stdout)
    assert result["counts"]["ran"] == 8
    st = state(driver.workdir, "fan")
    for n in range(8):
        run_id = st["steps"][f"s{n}"]["last"]["runId"]
        assert (driver.workdir / "fan" / "runs" / run_id / "artifacts" / "n").read_text() == f"{n}\n"


MATRIX = """
id: mx
steps:
  - id: convert
    image: alpine:3.20
    matrix: {region: [eu, us], format: [csv, json]}
    cmd: [sh, -c, 'echo ${{ matrix.region }}-$MATRIX_FORMAT > /output/out']
  - id: merge
    image: alpine:3.20
    inputs: [{step: convert}]
    cmd: [sh, -c, 'cat /input/convert/*/out | sort > /output/all']
"""


def test_matrix_fan_out_is_one_job_per_instance_and_fans_in(driver: SlurmDriver) -> None:
    project = driver.project(MATRIX)
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert end(done.stdout)["status"] == "success"
    st = state(driver.workdir, "mx")
    instances = {step for step in st["steps"] if step.startswith("convert[")}
    assert instances == {"convert[eu-csv]", "convert[eu-json]", "convert[us-csv]", "convert[us-json]"}
    run = driver.workdir / "mx" / "runs" / st["steps"]["merge"]["last"]["runId"]
    assert (run / "artifacts" / "all").read_text().split() == ["eu-csv", "eu-json", "us-csv", "us-json"]
    again = driver.cli(["run", "--json"], cwd=project)
    assert again.returncode == 0, again.stderr
    assert end(again.stdout)["counts"]["ran"] == 0


FLAKY = """
id: flaky
steps:
  - id: f
    image: alpine:3.20
    retries: 2
    cmd: [sh, -c, 'n=$(cat /cache/n 2>/dev/null || echo 0); echo $((n+1)) > /cache/n; [ "$n" -ge 1 ]']
    caches: [{name: tries, path: /cache}]
  - id: bad
    image: alpine:3.20
    retries: 1
    cmd: [sh, -c, 'echo failing; exit 3']
"""


def test_failing_step_is_retried(driver: SlurmDriver) -> None:
    project = driver.project(FLAKY)
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 1, done.stderr
    evs = events(done.stdout)
    retries = [(e["step"]["id"], e["attempt"]) for e in evs if e["event"] == "step_retry"]
    assert sorted(retries) == [("bad", 2), ("f", 2)]
    bad_jobs = [e["job"] for e in evs if e["event"] == "step_job" and e["step"]["id"] == "bad"]
    assert len(bad_jobs) == 2 and len(set(bad_jobs)) == 2  # one job per attempt
    known = driver.cluster.known_jobs()
    assert [known.get(job, ("?", "?"))[1] for job in bad_jobs] == ["pipex-bad", "pipex-bad"]
    assert meta(driver.workdir, "flaky", "f")["status"] == "success"
    bad = meta(driver.workdir, "flaky", "bad")
    assert (bad["status"], bad["exitCode"], bad["attempt"]) == ("failure", 3, 2)
    assert bad["job"] == bad_jobs[1]  # the record names the final attempt's job


def test_timeout_cancels_the_job(driver: SlurmDriver) -> None:
    project = driver.project(
        "id: slow\nsteps:\n  - id: s\n    image: alpine:3.20\n    timeoutSec: 2\n    cmd: [sleep, '300']\n"
    )
    began = time.monotonic()
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - began < 60
    m = meta(driver.workdir, "slow", "s")
    assert (m["status"], m["reason"]) == ("timeout", "timeout")


def test_ctrl_c_cancels_every_job_and_container(driver: SlurmDriver) -> None:
    project = driver.project(
        "id: long\nsteps:\n"
        + "".join(f"  - id: l{n}\n    image: alpine:3.20\n    cmd: [sh, -c, 'echo up; sleep 300']\n" for n in range(3))
    )
    proc = driver.popen(["run", "--json", "--verbose"], cwd=project)
    try:
        deadline = time.monotonic() + 120
        while len(driver.containers()) < 3:
            assert time.monotonic() < deadline, f"the containers never started: {driver.jobs()}"
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert end(out)["status"] == "interrupted"
    # the driver fixture checks: no job queued or running, no container left


def test_lost_job_is_a_failure_and_retried(driver: SlurmDriver) -> None:
    project = driver.project(
        "id: lost\nsteps:\n  - id: s\n    image: alpine:3.20\n    retries: 1\n"
        "    cmd: [sh, -c, 'if [ -e /cache/second ]; then echo ok > /output/x;"
        " else touch /cache/second; sleep 300; fi']\n"
        "    caches: [{name: c, path: /cache}]\n"
    )
    proc = driver.popen(["run", "--json"], cwd=project)
    try:
        deadline = time.monotonic() + 120
        while not driver.containers():
            assert time.monotonic() < deadline, "the job's container never started"
            time.sleep(0.3)
        jobs = [line.split("|")[0] for line in driver.jobs()]
        assert len(jobs) == 1
        gone = driver.cluster.run(["scancel", jobs[0]])  # behind pipex's back
        assert gone.returncode == 0, gone.stderr
        # The job's trap removes its container (pipex's own clean-up has not run: it waits out the lost grace
        # of 10 s before the retry, and its end-of-run sweep comes later still).
        cancelled = time.monotonic()
        while driver.containers():
            assert time.monotonic() - cancelled < 8, "the cancelled job left its container running"
            time.sleep(0.2)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    evs = events(out)
    retry = next(e for e in evs if e["event"] == "step_retry")
    assert "without an exit status (lost)" in retry["reason"], retry
    assert meta(driver.workdir, "lost", "s")["attempt"] == 2


def test_exec_runs_on_slurm(driver: SlurmDriver) -> None:
    project = driver.project(DAG)
    assert driver.cli(["run", "-t", "a", "-w", "ws"], cwd=project).returncode == 0
    driver.write(project / ".pipex.yml", "slurm:\n  pollInterval: 0.2\n")  # local by default: the option decides
    driver.write(
        project / "step.yml", "id: e\nimage: alpine:3.20\ninputs: [{step: a}]\ncmd: [sh, -c, 'cat /input/a/x']\n"
    )
    done = driver.cli(["exec", "ws", "-f", "step.yml", "--executor", "slurm", "--ephemeral"], cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "one"


def test_doctor_checks_the_cluster_and_the_shared_workdir(driver: SlurmDriver) -> None:
    project = driver.project(DAG)
    done = driver.cli(["doctor", "--executor", "slurm", "--json"], cwd=project)
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["slurm tools"]["status"] == "ok"
    assert checks["slurm cluster"]["status"] == "ok", checks["slurm cluster"]
    shared = checks["shared workdir"]
    assert shared == {
        "name": "shared workdir",
        "status": "ok",
        "detail": f"a job wrote into {driver.workdir} and this host read it",
        "fix": None,
    }
    assert not list(driver.workdir.glob(".pipex-doctor-*"))


SETUP = """
id: setup
steps:
  - id: ok
    image: alpine:3.20
    sources: [{host: src, container: /src}]
    setup: {cmd: [sh, -c, 'echo from-setup > /marker && echo setup-out']}
    cmd: [sh, -c, 'cat /marker /src/f > /output/seen.txt && echo run-out']
  - id: broken
    image: alpine:3.20
    setup: {cmd: [sh, -c, 'echo setup-fails >&2; exit 3']}
    cmd: [sh, -c, 'touch /output/ran']
"""


def test_setup_phase_and_sources_run_on_the_node(driver: SlurmDriver) -> None:
    project = driver.project(SETUP)
    users.make_user_dir(project / "src", users.get_test_user())
    driver.write(project / "src" / "f", "from-source\n")
    done = driver.cli(["run", "--json"], cwd=project)
    assert done.returncode == 1, done.stdout[-3000:]
    ok, broken = meta(driver.workdir, "setup", "ok"), meta(driver.workdir, "setup", "broken")
    run = driver.workdir / "setup" / "runs" / ok["runId"]
    assert (run / "artifacts" / "seen.txt").read_text() == "from-setup\nfrom-source\n"
    assert (run / "stdout.log").read_text() == "setup-out\nrun-out\n"
    assert (broken["status"], broken["reason"], broken["exitCode"]) == ("failure", "setup", 3)
    assert (driver.workdir / "setup" / "runs" / broken["runId"] / "stderr.log").read_text() == "setup-fails\n"
