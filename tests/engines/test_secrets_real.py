"""Secrets on real engines (spec: secrets.md, "Checked by"): a unique value through ``run``, ``run --json``,
``run -d`` + ``attach``, ``exec``, a failing step that prints it, a retry and a timeout; then every byte under the
workdir, every captured output and what pipex left in the engine are searched: the value is found nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver, wait_for
from tests.env import engine_api

PIPELINE = """
id: sec
steps:
  - id: show
    image: alpine:3.20
    cmd: [sh, -c, 'echo "env:$API_TOKEN"; printf "%s" "${API_TOKEN:0:9}"; sleep 0.4; printf "%s\\n" "${API_TOKEN:9}";
          echo "err:$API_TOKEN" >&2; echo "file:$(cat /run/secrets/kube)"; test -z "$KUBE" && echo ok > /output/ok']
    secrets:
      - API_TOKEN
      - {name: KUBE, file: .secrets/kube, mount: /run/secrets/kube}
  - id: fails
    image: alpine:3.20
    cmd: [sh, -c, 'echo "failing with $API_TOKEN" >&2; exit 3']
    retries: 1
    retryDelayMs: 100
    allowFailure: true
    secrets: [API_TOKEN]
  - id: slow
    image: alpine:3.20
    cmd: [sh, -c, 'echo "slow $API_TOKEN"; sleep 60']
    timeoutSec: 3
    allowFailure: true
    secrets: [API_TOKEN]
"""


@pytest.mark.parametrize("name", engine_params())
def test_a_secret_value_is_found_nowhere(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    value = f"tok-{uuid.uuid4().hex}"
    file_value = f"kube-{uuid.uuid4().hex}"
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(PIPELINE, files={".secrets/kube": file_value + "\n"})
        outputs: list[str] = []

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            argv, env = driver.cli_argv(list(args))
            env = {**env, "API_TOKEN": value}
            done = subprocess.run(argv, check=False, env=env, cwd=project, capture_output=True, text=True, timeout=300)
            outputs.extend([done.stdout, done.stderr])
            return done

        done = cli("run", "--verbose")
        assert done.returncode == 0, done.stderr
        assert "env:***" in done.stderr and "file:***" in done.stderr
        done = cli("run", "--json", "--verbose", "--force")
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        logged = [e["line"] for e in lines if e["event"] == "step_log"]
        assert {"env:***", "***", "err:***", "file:***", "failing with ***", "slow ***"} <= set(logged), logged
        ends = {e["step"]["id"]: e for e in lines if e["event"] == "step_end"}
        assert (ends["fails"]["reason"], ends["slow"]["reason"]) == ("exit", "timeout")
        done = cli("run", "-d", "-w", "bg", "--force")
        assert done.returncode == 0, done.stderr
        attached = cli("attach", "bg", "--json")
        assert attached.returncode == 0, attached.stderr
        assert '"line":"env:***"' in attached.stdout
        done = cli("exec", "--file", "pipeline.yml", "--step", "show", "--ephemeral", "ex")
        assert done.returncode == 0, done.stderr
        assert "env:***" in done.stdout
        done = cli("inspect", "sec", "show", "--json")
        assert json.loads(done.stdout)["secrets"] == [
            {"name": "API_TOKEN", "source": "env:API_TOKEN"},
            {"name": "KUBE", "source": "file:.secrets/kube"},
        ]

        for secret in (value, file_value):
            assert not [text for text in outputs if secret in text]
            assert not under(driver.workdir, secret.encode())
        assert left_in_engine(driver) == []


def under(root: Path, needle: bytes) -> list[Path]:
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for file in files:
            path = Path(dirpath, file)
            if not path.is_symlink() and path.is_file() and needle in path.read_bytes():
                found.append(path)
    return found


def left_in_engine(driver: Driver) -> list[str]:
    """pipex's secrets still in the engine: Podman's store, or Docker's tmpfs files."""
    if driver.engine.kind == "podman":
        answer = json.loads(engine_api.call(driver.engine.socket, "GET", "/v4.0.0/libpod/secrets/json") or b"[]")
        return [s["Spec"]["Name"] for s in answer if s["Spec"]["Name"].startswith("pipex-")]
    # Docker's files live in one tmpfs dir per uid, shared by every workdir: only this driver's count here
    from pipex.runtime import labels

    ours = "pipex-" + labels.container_labels(driver.workdir, "x", "run", "x")[labels.WORKDIR] + "-"
    shm = Path("/dev/shm") / f"pipex-secrets-{os.getuid()}"
    return [p.name for p in shm.iterdir() if p.name.startswith(ours)] if shm.is_dir() else []


@pytest.mark.parametrize("name", engine_params())
def test_secrets_left_by_a_dead_pipex_are_reaped_at_the_next_start(
    request: pytest.FixtureRequest, name: str, tmp_path: Path
) -> None:
    from pipex.runtime import labels, secretfiles

    with make_driver(request, name, tmp_path) as driver:
        project = driver.project("id: r\nsteps:\n  - id: a\n    image: alpine:3.20\n    cmd: [echo, hi]\n")
        owner = labels.container_labels(driver.workdir, "r", "run", "a", pid=999_997)
        left = secretfiles.owner_name(owner)  # as a pipex killed mid-step left it
        if driver.engine.kind == "podman":
            engine_api.call(driver.engine.socket, "POST", f"/v4.0.0/libpod/secrets/create?name={left}", b"v-1234")
        else:
            secretfiles.write_files(left, {"KUBE": b"v-1234"})
        assert left in left_in_engine(driver)
        done = driver.cli(["run", "."], cwd=project)
        assert done.returncode == 0, done.stderr
        assert left not in left_in_engine(driver)


@pytest.mark.parametrize("name", engine_params())
def test_a_secret_from_podmans_store(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    pipeline = """
id: store
steps:
  - id: a
    image: alpine:3.20
    cmd: [sh, -c, 'test "$T" = "from-the-store" && test "$(cat /run/secrets/t)" = "from-the-store" && echo ok']
    secrets:
      - {name: T, podman: user-token}
      - {name: F, podman: user-token, mount: /run/secrets/t}
"""
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(pipeline)
        done = driver.cli(["run", "."], cwd=project)
        if driver.engine.kind == "docker":
            assert done.returncode == 2
            assert done.stderr.startswith(
                'error: step "a": secret "T" comes from Podman\'s secret store, and this engine has none\n'
            )
            return
        sock = driver.engine.socket
        engine_api.call(sock, "POST", "/v4.0.0/libpod/secrets/create?name=user-token", b"from-the-store")
        try:
            done = driver.cli(["run", ".", "--verbose"], cwd=project)
            assert done.returncode == 0, done.stderr
            assert "[a] ok" in done.stderr
            answer = json.loads(engine_api.call(sock, "GET", "/v4.0.0/libpod/secrets/json"))
            assert "user-token" in [s["Spec"]["Name"] for s in answer]  # the user's own secret is left alone
        finally:
            engine_api.call(sock, "DELETE", "/v4.0.0/libpod/secrets/user-token")


@pytest.mark.parametrize("name", engine_params(("rootful_podman", "rootless_podman")))
def test_podman_keeps_the_values_out_of_the_containers_record(
    request: pytest.FixtureRequest, name: str, tmp_path: Path
) -> None:
    """What whoever can reach the engine sees while the step runs: a mounted secret's value is in neither of
    Podman's container records (a variable's is in Config.Env, as the README says)."""
    as_env, as_file = f"tok-{uuid.uuid4().hex}", f"file-{uuid.uuid4().hex}"
    pipeline = """
id: insp
steps:
  - id: a
    image: alpine:3.20
    cmd: [sh, -c, 'sleep 4']
    secrets: [API_TOKEN, {name: F, env: FILE_TOKEN, mount: /run/secrets/f}]
"""
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(pipeline)
        argv, env = driver.cli_argv(["run", "."])
        env = {**env, "API_TOKEN": as_env, "FILE_TOKEN": as_file}
        proc = subprocess.Popen(argv, env=env, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: bool(driver.containers()), 60, "the step's container")
            sock = driver.engine.socket
            (container,) = driver.containers()
            libpod = engine_api.call(sock, "GET", f"/v4.0.0/libpod/containers/{container['Id']}/json")
            compat = engine_api.call(sock, "GET", f"/containers/{container['Id']}/json")
            assert container["Id"].encode() in libpod
            assert as_file.encode() not in libpod and as_file.encode() not in compat
        finally:
            _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


@pytest.mark.parametrize("name", engine_params())
def test_a_step_with_a_setup_phase_gets_its_secrets_in_both_phases(
    request: pytest.FixtureRequest, name: str, tmp_path: Path
) -> None:
    value = f"tok-{uuid.uuid4().hex}"
    pipeline = """
id: setup
steps:
  - id: a
    image: alpine:3.20
    setup: {cmd: [sh, -c, 'test -n "$API_TOKEN" && echo "setup:$API_TOKEN"']}
    cmd: [sh, -c, 'test -n "$API_TOKEN" && echo "run:$API_TOKEN" && cat /run/secrets/f']
    secrets: [API_TOKEN, {name: F, env: API_TOKEN, mount: /run/secrets/f}]
"""
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(pipeline)
        argv, env = driver.cli_argv(["run", ".", "--verbose"])
        env = {**env, "API_TOKEN": value}
        done = subprocess.run(argv, check=False, env=env, cwd=project, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "[a] setup:***" in done.stderr and "[a] run:***" in done.stderr and "[a] ***" in done.stderr
        assert value not in done.stdout + done.stderr


@pytest.mark.parametrize("name", engine_params())
def test_an_image_whose_user_is_not_root_can_read_its_secret_file(
    request: pytest.FixtureRequest, name: str, tmp_path: Path
) -> None:
    from tests.env.services import NONROOT

    pipeline = f"""
id: nonroot
steps:
  - id: a
    image: {NONROOT}
    cmd: [sh, -c, 'id -u; test "$(cat /run/secrets/f)" = "$API_TOKEN" && echo same']
    secrets: [API_TOKEN, {{name: F, env: API_TOKEN, mount: /run/secrets/f}}]
"""
    with make_driver(request, name, tmp_path) as driver:
        project = driver.project(pipeline)
        argv, env = driver.cli_argv(["run", ".", "--verbose"])
        env = {**env, "API_TOKEN": "tok-nonroot-1"}
        done = subprocess.run(argv, check=False, env=env, cwd=project, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "[a] 1000" in done.stderr and "[a] same" in done.stderr
