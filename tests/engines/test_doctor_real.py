"""``pipex doctor`` against the three real engines (``--host``) and against a socket that refuses."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.env.services import Engine

REPO = Path(__file__).resolve().parents[2]


def pipex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipex", *args], capture_output=True, text=True, env=full, timeout=120, check=False
    )


def test_doctor_with_each_engine(any_engine: Engine) -> None:
    result = pipex("--host", any_engine.url, "doctor", "--json")
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["endpoint"] == {
        "name": "endpoint",
        "status": "ok",
        "detail": f"{any_engine.url} (--host)",
        "fix": None,
    }
    assert checks["engine"]["detail"].startswith(f"{any_engine.kind} ")
    mode = "rootless: container root is your user" if any_engine.rootless else "rootful: outputs are given back"
    assert checks["mode"]["detail"].startswith(mode)
    assert checks["oci-runtime"]["detail"] == "runc"  # the test engines are configured for this host
    assert checks["storage"]["detail"].split(":")[0] in ("overlay", "overlay2", "vfs")
    assert checks["cgroups"]["detail"].startswith("cgroup v")
    # A real container with network: the test images are local, and the test machine's /dev/net/tun is usable.
    assert checks["network-test"]["status"] == "ok", checks["network-test"]
    assert checks["network-test"]["detail"].startswith("a container with network started (")
    assert report["summary"]["canRun"] is True
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_doctor_text_with_rootful_podman(rootful_podman: Engine) -> None:
    result = pipex("--host", rootful_podman.url, "doctor")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ok    xdg-runtime-dir  not needed (running as root)"
    assert f"ok    endpoint         {rootful_podman.url} (--host)" in lines
    assert lines[-1].startswith("pipex can run")


def test_doctor_runtime_podman_refuses_docker(docker_engine: Engine) -> None:
    result = pipex("--runtime", "podman", "--host", docker_engine.url, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["endpoint"]["status"] == "fail"
    assert checks["endpoint"]["detail"].endswith("not Podman (--runtime podman)")
    assert result.returncode == 3


@pytest.fixture
def refusing_socket() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="px", dir="/tmp"))
    path = directory / "dead.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the file stays; nothing listens: connect() is refused
    yield f"unix://{path}"
    shutil.rmtree(directory)


def test_doctor_with_a_socket_that_refuses(refusing_socket: str) -> None:
    result = pipex("--host", refusing_socket, "doctor")
    assert result.returncode == 3
    pad = " " * 23
    assert (
        f"FAIL  endpoint         no container engine answers; tried:\n"
        f"{pad}{refusing_socket} (--host): connection refused: nothing listens on it (a stale socket?)\n"
        f"{pad}fix: check that an engine listens at {refusing_socket}, or drop --host to let pipex look for one\n"
    ) in result.stdout
    assert result.stderr == (
        "error: pipex cannot run: 1 check failed\n"
        "hint: apply the fixes of the checks marked FAIL above, then run `pipex doctor` again\n"
    )
    json_result = pipex("--host", refusing_socket, "doctor", "--json")
    assert json_result.returncode == 3
    assert json.loads(json_result.stdout)["summary"] == {"ok": 3, "warn": 0, "fail": 1, "canRun": False}
