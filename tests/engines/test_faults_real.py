"""Fault injection on rootless Podman: kill -9 and SIGTERM at random instants, the engine's service killed, a
small filesystem filled, two writers, a SIGTERM-ignoring step on a saturated machine.

What must hold is asserted (a consistent workspace, every committed success reused, no container left, one-line
errors, the second writer refused); the figures (instants, times) are printed and written to
``.test-env/faults-report.txt``, never asserted as timings, except one generous bound for the timeout under load.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engines.test_engine_harness import Driver, assert_consistent, json_lines, kill9, make_driver, wait_for
from tests.env import engine_api, services, users
from tests.env.registry import REGISTRY, REPO

pytestmark = [pytest.mark.engine, pytest.mark.rootless_podman, pytest.mark.slow]

SEED = int(os.environ.get("PIPEX_FAULT_SEED", "20261204"))
KILLS = int(os.environ.get("PIPEX_FAULT_KILLS", "50"))
TERMS = int(os.environ.get("PIPEX_FAULT_TERMS", "12"))
CHAINS = 3  # workspaces killed in parallel
REPORT = REPO / ".test-env" / "faults-report.txt"


def figure(text: str) -> None:
    """A measured figure: printed (see it with -s) and appended to the report file."""
    print(f"[faults] {text}")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a", encoding="utf-8") as out:
        out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n")


def twenty_steps() -> str:
    """20 small steps: a setup phase, a retried step, parallel fan-out, copyToOutput, a fan-in."""
    steps = [
        "  - id: prepare\n    image: alpine:3.20\n"
        "    setup: {cmd: [sh, -c, 'echo ready > /tmp/ready']}\n"
        "    cmd: [sh, -c, 'cat /tmp/ready > /output/ready']",
        # Fails its first attempt in each workspace, then succeeds: caches are not fingerprinted.
        "  - id: flaky\n    image: alpine:3.20\n    retries: 1\n    retryDelayMs: 100\n"
        "    caches: [{name: flag, path: /flag}]\n"
        "    cmd: [sh, -c, 'if [ -e /flag/seen ]; then echo ok > /output/ok; else touch /flag/seen; exit 1; fi']",
    ]
    for n in range(1, 16):
        steps.append(
            f"  - id: p{n:02d}\n    image: alpine:3.20\n    inputs: [{{step: prepare}}]\n"
            f"    cmd: [sh, -c, 'sleep 0.{n % 4}; echo {n} > /output/n{n}']"
        )
    steps.append(
        "  - id: copy\n    image: alpine:3.20\n"
        "    inputs: [{step: p01, copyToOutput: true}, {step: p02, copyToOutput: true}, {step: flaky}]\n"
        "    cmd: [sh, -c, 'cat /output/n1 /output/n2 > /output/both']"
    )
    deps = ", ".join(f"{{step: p{n:02d}}}" for n in range(3, 16))
    steps.append(
        f"  - id: gather\n    image: alpine:3.20\n    inputs: [{deps}, {{step: copy}}]\n"
        "    cmd: [sh, -c, 'ls /input > /output/all']"
    )
    steps.append(
        "  - id: last\n    image: alpine:3.20\n    inputs: [{step: gather}]\n"
        "    cmd: [sh, -c, 'wc -l < /input/gather/all > /output/count']"
    )
    assert len(steps) == 20
    return "id: faults\nsteps:\n" + "\n".join(steps) + "\n"


@pytest.fixture
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, "rootless_podman", tmp_path) as driver:
        yield driver


def ws_containers(driver: Driver, ws: str) -> list[dict[str, Any]]:
    return [c for c in driver.containers() if c["Labels"].get("pipex.workspace") == ws]


def successes(ws: Path) -> dict[str, str]:
    """step → run id of its committed last success."""
    if not (ws / "state.json").exists():
        return {}
    st = json.loads((ws / "state.json").read_text())
    return {step: e["lastSuccess"]["runId"] for step, e in st["steps"].items() if e.get("lastSuccess")}


def staged(ws: Path) -> list[Path]:
    """What is in the workspace's staging (a workspace the run never created has none)."""
    return list((ws / "staging").iterdir()) if (ws / "staging").is_dir() else []


def complete(text: str) -> str:
    return text[: text.rfind("\n") + 1]


def assert_clean_failure(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr


def check_after_crash(driver: Driver, project: Path, name: str, before: dict[str, str], stdout: str) -> None:
    """After a killed run: the workspace is consistent, show/list work, no committed success was run again."""
    ws = driver.ws(name)
    assert_consistent(ws)
    after = successes(ws)
    assert all(after[step] == run for step, run in before.items()), (before, after)
    started = {e["step"]["id"] for e in json_lines(complete(stdout)) if e["event"] == "step_start"}
    assert not started & set(before), f"committed successes ran again: {sorted(started & set(before))}"
    shows = [["show", name, "--json"]] if ws.is_dir() else []  # killed before it created the workspace
    for args in [*shows, ["list", "--json"]]:
        done = driver.cli(args, cwd=project)
        assert done.returncode == 0, (args, done.stderr)


def chain(driver: Driver, project: Path, name: str, rng: random.Random, span: float, kills: list[int]) -> list[str]:
    """Kill runs of workspace ``name`` at random instants until ``kills`` reaches KILLS; a run that ends by
    itself must reuse every committed success and leave no container, and the workspace is then removed (rm
    removes what killed runs left) to start again. Returns what each run did."""
    did: list[str] = []
    for _ in range(3 * KILLS):  # a bound, in case runs keep ending before their kill
        with LOCK:
            if kills[0] >= KILLS:
                break
        before = successes(driver.ws(name))
        proc = driver.popen(["run", str(project), "-w", name, "--json"], cwd=project)
        time.sleep(rng.uniform(0.0, span))
        if proc.poll() is None:
            out = kill9(proc)
            with LOCK:
                kills[0] += 1
            check_after_crash(driver, project, name, before, out)
            did.append("killed")
            continue
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        cached = {e["step"]["id"] for e in json_lines(out) if e["event"] == "step_cached"}
        assert set(before) <= cached, f"not reused: {sorted(set(before) - cached)}"
        assert ws_containers(driver, name) == []
        did.append("completed")
        done = driver.cli(["rm", name], cwd=project)
        assert done.returncode == 0, done.stderr
    # The chain's last word: a run completes, reusing every committed success, and leaves nothing behind.
    before = successes(driver.ws(name))
    done = driver.cli(["run", str(project), "-w", name, "--json"], cwd=project, timeout=600)
    assert done.returncode == 0, done.stderr
    cached = {e["step"]["id"] for e in json_lines(done.stdout) if e["event"] == "step_cached"}
    assert set(before) <= cached, f"not reused: {sorted(set(before) - cached)}"
    assert ws_containers(driver, name) == []
    assert staged(driver.ws(name)) == []
    return did


LOCK = threading.Lock()


def full_run_seconds(driver: Driver, project: Path) -> float:
    started = time.monotonic()
    done = driver.cli(["run", str(project), "-w", "measure", "--json"], cwd=project, timeout=600)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def test_kill9_at_random_instants_keeps_the_workspace_consistent_and_reuses_every_success(driver: Driver) -> None:
    project = driver.project(twenty_steps())
    span = full_run_seconds(driver, project)
    rng = random.Random(SEED)
    kills = [0]
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def one(n: int) -> None:
        try:
            results[f"chain{n}"] = chain(driver, project, f"chain{n}", random.Random(rng.random()), span, kills)
        except BaseException as exc:
            errors.append(exc)

    began = time.monotonic()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(CHAINS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    assert kills[0] == sum(r.count("killed") for r in results.values())
    completed = sum(r.count("completed") for r in results.values())
    figure(
        f"kill -9: {kills[0]} instants (seed {SEED}) over {CHAINS} workspaces, {completed} runs ended before their "
        f"kill, one full run {span:.1f} s, all in {time.monotonic() - began:.0f} s"
    )
    assert kills[0] >= KILLS
    assert driver.cli(["rm", "--yes", "measure", *results], cwd=project).returncode == 0


def test_sigterm_at_random_instants_stops_cleanly_and_leaves_no_container(driver: Driver) -> None:
    project = driver.project(twenty_steps())
    span = full_run_seconds(driver, project)
    rng = random.Random(SEED + 1)
    stopped, worst = 0, 0.0
    for n in range(TERMS):
        name = f"term{n % 2}"
        before = successes(driver.ws(name))
        proc = driver.popen(["run", str(project), "-w", name, "--json"], cwd=project)
        time.sleep(rng.uniform(0.0, span))
        sent = time.monotonic()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
        worst = max(worst, time.monotonic() - sent)
        assert_clean_failure(err)
        # -15: the signal came before pipex installed its handler (or after it removed it): no run was live
        assert proc.returncode in (0, 130, -signal.SIGTERM), err
        if proc.returncode == -signal.SIGTERM:
            assert not any(e["event"] == "pipeline_start" for e in json_lines(complete(out))) or (
                json_lines(out)[-1]["event"] == "pipeline_end"
            )
        if proc.returncode == 130:
            stopped += 1
            assert "pipex: stopping " in err
            assert json_lines(out)[-1]["event"] == "pipeline_end"
        assert ws_containers(driver, name) == []  # pipex removed them itself: nothing to reap
        assert staged(driver.ws(name)) == []
        check_after_crash(driver, project, name, before, out)
        if proc.returncode == 0:  # it ended first: start the next one from scratch, so a signal lands mid-run
            assert driver.cli(["rm", name], cwd=project).returncode == 0
    figure(f"SIGTERM: {TERMS} instants (seed {SEED + 1}), {stopped} stopped a run, slowest stop {worst:.1f} s")
    left = [name for name in ("measure", "term0", "term1") if driver.ws(name).exists()]
    assert driver.cli(["rm", "--yes", *left], cwd=project).returncode == 0


def test_the_engine_service_killed_mid_run_fails_steps_with_reason_engine(driver: Driver) -> None:
    service = REGISTRY._services["rootless_podman"]  # the session's service: killed, then started again
    project = driver.project(twenty_steps())
    proc = driver.popen(["run", str(project), "-w", "dead", "--json"], cwd=project)
    wait_for(lambda: bool(ws_containers(driver, "dead")), 120, "a step to run")
    assert service.process is not None
    began = time.monotonic()
    # The service's process group (rootless Podman may run it as a child of the process we started); the
    # containers' monitors (conmon) have their own sessions and live on, as after a crash of the service.
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait()
    wait_for(lambda: not engine_api.ping(service.engine.socket), 30, "the engine to stop answering")
    try:
        out, err = proc.communicate(timeout=300)
        ended = time.monotonic() - began
    finally:
        service.start()
    assert_clean_failure(err)
    assert proc.returncode == 1, err
    events = json_lines(out)
    end = events[-1]
    assert end["event"] == "pipeline_end" and end["status"] == "failed"
    engine_failures = [e for e in events if e["event"] == "step_end" and e.get("reason") == "engine"]
    assert engine_failures and all(e.get("message") for e in engine_failures)
    figure(
        f"engine killed: pipex ended {ended:.1f} s later, {len(engine_failures)} steps failed with reason engine "
        f"({engine_failures[0]['message']})"
    )
    assert_consistent(driver.ws("dead"))
    done = driver.cli(["run", str(project), "-w", "dead", "--json"], cwd=project, timeout=600)
    assert done.returncode == 0, done.stderr
    assert ws_containers(driver, "dead") == []
    assert driver.cli(["rm", "dead"], cwd=project).returncode == 0


# -- a small filesystem -------------------------------------------------------------------------------------
@pytest.fixture
def small_fs(request: pytest.FixtureRequest) -> Iterator[tuple[Driver, Path]]:
    """An 8 MiB tmpfs the test user owns (mounted by the test as root), and a rootless Podman of its own, started
    after the mount: an engine started before it lives in a mount namespace that would never see it."""
    if not users.is_root():
        pytest.skip("mounting a tmpfs needs root")
    user = request.getfixturevalue("test_user")
    base = users.make_user_dir(REGISTRY.base_dir() / "user" / f"small-{uuid.uuid4().hex[:8]}", user)
    mnt = base / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(mnt)], check=True)
    service = None
    try:
        os.chown(mnt, user.uid, user.gid)
        # Podman refuses a runroot longer than 50 characters: a short dir of its own in the session's.
        engine_dir = users.make_user_dir(REGISTRY.base_dir() / f"s{uuid.uuid4().hex[:6]}", user)
        service = services.rootless_podman(engine_dir, user)
        service.start()
        service.load_images(REGISTRY.rootfs())
        yield Driver(service.engine, base, user_python=request.getfixturevalue("user_python")), mnt
    finally:
        if service is not None:
            service.stop()
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def cli_in(driver: Driver, workdir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    argv, env = driver.cli_argv(args)
    at = argv.index("--workdir")
    argv[at + 1] = str(workdir)
    return subprocess.run(argv, check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("error:", "hint:"))]


FILLERS = {
    "artifacts": "dd if=/dev/zero of=/output/big bs=1M count=12 2>&1; echo done",
    "logs": "yes 0123456789abcdef0123456789abcdef | head -c 12000000",
}


@pytest.mark.parametrize("what", sorted(FILLERS))
def test_a_step_filling_the_disk_ends_cleanly(small_fs: tuple[Driver, Path], what: str) -> None:
    driver, mnt = small_fs
    project = driver.project(
        "id: full\nsteps:\n  - {id: ok, image: alpine:3.20, cmd: [sh, -c, 'echo ok > /output/ok']}\n"
        f"  - id: big\n    image: alpine:3.20\n    inputs: [{{step: ok}}]\n    cmd: [sh, -c, '{FILLERS[what]}']\n"
    )
    done = cli_in(driver, mnt, ["run", str(project)], project)
    assert_clean_failure(done.stderr)
    assert done.returncode == 1, done.stderr
    errors = error_lines(done.stderr)
    figure(f"disk filled by a step's {what}: exit {done.returncode}, {errors or 'the step failed'}")
    if what == "logs":
        assert errors and errors[0].startswith("error: no space left on the device while "), done.stderr
        assert "free space there (`pipex prune`, `pipex clean`)" in errors[0]
    ws = mnt / "full"
    assert_consistent(ws)
    assert staged(ws) == []
    assert [c for c in driver.containers() if c["Labels"].get("pipex.workspace") == "full"] == []
    assert successes(ws).keys() == {"ok"}
    # Space freed, the fixed pipeline reuses what succeeded.
    assert cli_in(driver, mnt, ["prune", "full"], project).returncode == 0
    (project / "pipeline.yml").write_text((project / "pipeline.yml").read_text().replace(FILLERS[what], "echo small"))
    again = cli_in(driver, mnt, ["run", str(project), "--json"], project)
    assert again.returncode == 0, again.stderr
    assert [e["step"]["id"] for e in json_lines(again.stdout) if e["event"] == "step_cached"] == ["ok"]


def test_a_full_disk_before_the_run_is_one_line(small_fs: tuple[Driver, Path]) -> None:
    driver, mnt = small_fs
    project = driver.project("id: early\nsteps:\n  - {id: a, image: alpine:3.20, cmd: ['true']}\n")
    subprocess.run(["dd", "if=/dev/zero", f"of={mnt}/filler", "bs=1M", "count=16"], check=False, capture_output=True)
    done = cli_in(driver, mnt, ["run", str(project)], project)
    assert_clean_failure(done.stderr)
    errors = error_lines(done.stderr)
    figure(f"disk full before the run: exit {done.returncode}, {errors}")
    assert done.returncode == 1, done.stderr
    assert len(errors) == 2 and errors[0].startswith("error: no space left on the device while "), done.stderr
    assert errors[1].startswith("hint: free space there")
    assert [c for c in driver.containers() if c["Labels"].get("pipex.workspace") == "early"] == []


def test_a_second_writer_is_refused_at_once(driver: Driver) -> None:
    project = driver.project("id: two\nsteps:\n  - {id: slow, image: alpine:3.20, cmd: [sleep, '60']}\n")
    first = driver.popen(["run", str(project)], cwd=project)
    try:
        wait_for(lambda: bool(ws_containers(driver, "two")), 120, "the first writer's step to run")
        from pipex.errors import WorkspaceBusy
        from pipex.workspace.layout import Workspace

        began = time.perf_counter()
        with pytest.raises(WorkspaceBusy):
            Workspace(driver.workdir, "two").lock("pipex run")
        in_process = time.perf_counter() - began
        began = time.perf_counter()
        second = driver.cli(["run", str(project)], cwd=project)
        whole = time.perf_counter() - began
        assert second.returncode == 4, second.stderr
        assert error_lines(second.stderr)[0].startswith('error: workspace "two" is in use by pid ')
        figure(
            f"second writer refused: lock attempt {in_process * 1000:.1f} ms, "
            f"whole `pipex run` process {whole * 1000:.0f} ms (interpreter start included)"
        )
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert ws_containers(driver, "two") == []


# -- a SIGTERM-ignoring step on a saturated machine ---------------------------------------------------------
def _spin(stop: Any) -> None:
    while not stop.is_set():
        for _ in range(100_000):
            pass


@contextlib.contextmanager
def saturated(workers: int) -> Iterator[None]:
    stop = multiprocessing.Event()
    procs = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        yield
    finally:
        stop.set()
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()


def test_a_step_ignoring_sigterm_ends_within_grace_on_a_saturated_machine(driver: Driver) -> None:
    from pipex.executors.base import STOP_GRACE

    project = driver.project(
        "id: stubborn\nsteps:\n  - id: deaf\n    image: alpine:3.20\n    timeoutSec: 2\n"
        "    cmd: [sh, -c, 'trap \"\" TERM; while :; do sleep 1; done']\n"
    )
    with saturated(2 * (os.cpu_count() or 2)):
        began = time.monotonic()
        done = driver.cli(["run", str(project), "--json"], cwd=project, timeout=300)
        took = time.monotonic() - began
    assert done.returncode == 1, done.stderr
    end = next(e for e in json_lines(done.stdout) if e["event"] == "step_end")
    assert (end["status"], end["reason"]) == ("timeout", "timeout")
    figure(f"SIGTERM-ignoring step, timeoutSec 2, grace {STOP_GRACE:g} s, saturated: ended after {took:.1f} s")
    assert took < 2 + STOP_GRACE + 10
    assert ws_containers(driver, "stubborn") == []


@pytest.mark.parametrize("command", ["rm", "clean"])
def test_rm_and_clean_remove_the_containers_a_killed_run_left(driver: Driver, command: str) -> None:
    project = driver.project("id: orphan\nsteps:\n  - {id: slow, image: alpine:3.20, cmd: [sleep, '60']}\n")
    proc = driver.popen(["run", str(project)], cwd=project)
    wait_for(lambda: any(c["State"] == "running" for c in ws_containers(driver, "orphan")), 120, "the step to run")
    kill9(proc)
    assert ws_containers(driver, "orphan")  # orphaned: no pipex is left to remove it
    done = driver.cli([command, *(["orphan"] if command == "rm" else ["--yes"])], cwd=project)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    assert not driver.ws("orphan").exists()
    assert ws_containers(driver, "orphan") == []
