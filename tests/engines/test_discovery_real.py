"""Discovery against real engines: the private Podman service as a non-root user, and the reaper."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from pipex.runtime import labels
from pipex.runtime.base import ContainerSpec
from pipex.runtime.discovery import discover
from pipex.runtime.factory import connect
from pipex.runtime.reaper import reap
from tests.env.services import ALPINE, Engine

# Runs as the test user: discovery with no socket anywhere starts (or reuses) the shared private service.
SNIPPET = """
import json, os
from pathlib import Path
from pipex.runtime.factory import connect
c = connect("auto", None, root=Path(os.environ["FAKE_ROOT"]))
info = c.runtime.info()
service = c.endpoint.service
print(json.dumps({"url": c.endpoint.url, "source": c.endpoint.source, "engine": info.engine,
                  "rootless": info.rootless, "pid": service.podman_pid, "sock": str(service.path),
                  "reused": service.reused}))
c.runtime.close()
"""
IDLE = 5  # seconds the shared service stays after the last command, in these tests


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")


def _services(sock: str) -> str:
    found = subprocess.run(["pgrep", "-af", sock], capture_output=True, text=True, check=False).stdout
    return "\n".join(line for line in found.splitlines() if "pgrep" not in line)


def _until_gone(sock: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _services(sock) == "" and not Path(sock).exists():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("xdg", [True, False], ids=["xdg-set", "xdg-unset"])
def test_private_podman_service_as_a_non_root_user(
    rootless_podman: Engine, run_pipex_as_test_user: object, user_python: object, user_tmp_path: Path, xdg: bool
) -> None:
    from tests.env.users import run_as_test_user

    # The test user's engine has the containers.conf that works on this host (runc on hybrid cgroups), and its
    # storage; only the socket is hidden: discovery must start its own service, and the next command reuse it.
    runtime_dir = user_tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)
    os.chown(runtime_dir, rootless_podman.uid, rootless_podman.gid)
    env = {**user_python.env(), "FAKE_ROOT": str(user_tmp_path / "root"), "PIPEX_SERVICE_IDLE": str(IDLE)}  # type: ignore[attr-defined]
    if xdg:
        env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    seen = []
    for _ in range(2):
        result = run_as_test_user([str(user_python.python), "-c", SNIPPET], env=env, cwd=user_tmp_path, timeout=120)  # type: ignore[attr-defined]
        assert result.returncode == 0, result.stderr
        seen.append(json.loads(result.stdout))
    first, second = seen
    assert first["source"] == "private Podman service: no socket found"
    assert (first["engine"], first["rootless"]) == ("podman", True)
    assert second["sock"] == first["sock"]
    sock = Path(first["sock"])
    if xdg:
        assert sock.parent == runtime_dir / "pipex"
        assert (first["reused"], second["reused"]) == (False, True)  # the second command found it running
        assert second["pid"] == -1
    else:
        assert sock.parent == Path(f"/tmp/pipex-{rootless_podman.uid}")
        assert sock.parent.stat().st_mode & 0o777 == 0o700
        assert second["reused"]
    assert sock.name.startswith("podman-") and sock.suffix == ".sock"
    # Nothing holds it any more: Podman's idle timer ends it.
    assert _until_gone(str(sock), IDLE + 30), _services(str(sock))


@pytest.mark.slow
def test_doctor_json_as_a_non_root_user_without_socket(
    rootless_podman: Engine, run_pipex_as_test_user: object, user_tmp_path: Path
) -> None:
    env = {"PIPEX_SERVICE_IDLE": str(IDLE)}
    result = run_pipex_as_test_user(["doctor", "--json"], env=env, cwd=user_tmp_path, timeout=120)  # type: ignore[operator]
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["endpoint"]["status"] == "warn", checks["endpoint"]
    assert "private Podman service: no socket found" in checks["endpoint"]["detail"]
    assert "shared by your pipex commands" in checks["endpoint"]["detail"]
    assert f"it stops after {IDLE} s without one (PIPEX_SERVICE_IDLE)" in checks["endpoint"]["detail"]
    assert checks["engine"]["detail"].startswith("podman ")
    assert checks["mode"]["detail"] == "rootless: container root is your user"
    assert checks["xdg-runtime-dir"]["status"] == "warn"
    sock = checks["endpoint"]["detail"].split()[0].removeprefix("unix://")
    assert _until_gone(sock, IDLE + 30), _services(sock)


def test_discovery_identifies_each_engine(any_engine: Engine) -> None:
    endpoint = discover("auto", any_engine.url, environ={}, podman=None)
    assert endpoint.identity is not None
    assert endpoint.identity.engine == any_engine.kind
    assert endpoint.api == ("libpod" if any_engine.kind == "podman" else "docker")
    if any_engine.kind == "podman":
        assert discover("docker", any_engine.url, environ={}, podman=None).api == "docker"


def test_environment_variables_lead_to_each_engine(any_engine: Engine) -> None:
    connection = connect("auto", None, environ=any_engine.env(), root=Path("/nonexistent"))
    try:
        info = connection.runtime.info()
        assert info.engine == any_engine.kind
        assert info.rootless == any_engine.rootless
        assert connection.endpoint.source == ("CONTAINER_HOST" if any_engine.kind == "podman" else "DOCKER_HOST")
    finally:
        connection.runtime.close()


def test_reap_removes_containers_of_a_dead_pipex(any_engine: Engine, tmp_path: Path) -> None:
    connection = connect("auto", any_engine.url, environ={})
    runtime = connection.runtime
    proc = subprocess.Popen(["true"])
    proc.wait()  # a pid that existed and is now gone
    ids = []
    try:
        for pid in (proc.pid, os.getpid()):
            spec = ContainerSpec(
                image=ALPINE, cmd=("true",), labels=labels.container_labels(tmp_path, "ws", "r", "s", pid=pid)
            )
            ids.append(runtime.create(spec))
        other = labels.container_labels(tmp_path, "ws", "r", "s", pid=proc.pid, host="another-host")
        ids.append(runtime.create(ContainerSpec(image=ALPINE, cmd=("true",), labels=other)))
        removed = reap(runtime, tmp_path, "ws")
        assert removed == [ids[0]]
        left = {c.id for c in runtime.list(labels.owner_labels(tmp_path, "ws"))}
        assert left == {ids[1], ids[2]}
    finally:
        for cid in ids:
            runtime.remove(cid)
        runtime.close()
