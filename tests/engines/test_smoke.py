"""Each private engine starts, has the test images, and runs a container through its own client library."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines.conftest import RunPipex
from tests.env import services
from tests.env.registry import REGISTRY
from tests.env.services import ALPINE, NONROOT, Engine

LABELS = {"pipex-test": "smoke"}


def run_podman(engine: Engine, image: str, cmd: list[str]) -> tuple[int, str]:
    from podman import PodmanClient

    with PodmanClient(base_url=engine.url) as client:
        container = client.containers.create(image, cmd, network_mode="none", labels=LABELS)
        try:
            container.start()
            code = container.wait()
            logs = container.logs(stdout=True, stderr=True)
            text = (logs if isinstance(logs, bytes) else b"".join(logs)).decode()
        finally:
            container.remove(force=True)
    return code, text


def run_docker(engine: Engine, image: str, cmd: list[str]) -> tuple[int, str]:
    from docker import DockerClient

    client = DockerClient(base_url=engine.url)
    try:
        container = client.containers.create(image, cmd, network_mode="none", labels=LABELS)
        try:
            container.start()
            code = container.wait()["StatusCode"]
            logs = container.logs(stdout=True, stderr=True).decode()
        finally:
            container.remove(force=True)
    finally:
        client.close()
    return code, logs


@pytest.mark.rootless_podman
def test_rootless_podman_runs_true(rootless_podman: Engine) -> None:
    assert rootless_podman.rootless
    assert run_podman(rootless_podman, ALPINE, ["true"]) == (0, "")


@pytest.mark.rootful_podman
def test_rootful_podman_runs_true(rootful_podman: Engine) -> None:
    assert not rootful_podman.rootless
    assert run_podman(rootful_podman, ALPINE, ["true"]) == (0, "")


@pytest.mark.docker_engine
def test_docker_runs_true(docker_engine: Engine) -> None:
    assert run_docker(docker_engine, ALPINE, ["true"]) == (0, "")


def run(engine: Engine, image: str, cmd: list[str]) -> tuple[int, str]:
    return (run_podman if engine.kind == "podman" else run_docker)(engine, image, cmd)


def test_output_and_exit_code(any_engine: Engine) -> None:
    assert run(any_engine, ALPINE, ["sh", "-c", "echo hi; exit 3"]) == (3, "hi\n")


def test_short_names_resolve_to_the_test_images(any_engine: Engine) -> None:
    assert run(any_engine, "alpine:3.20", ["id", "-u"]) == (0, "0\n")
    assert run(any_engine, "debian:bookworm-slim", ["cat", "/etc/os-release"])[1].startswith('NAME="pipex test')
    assert run(any_engine, "pipex-test/nonroot:latest", ["id", "-un"]) == (0, "app\n")


def test_engine_leaves_no_container_behind(any_engine: Engine) -> None:
    from tests.env.engine_api import containers

    assert containers(any_engine.socket) == []


def test_nonroot_image_user(any_engine: Engine) -> None:
    assert run(any_engine, NONROOT, ["id", "-u"]) == (0, "1000\n")


@pytest.mark.rootless_podman
def test_rootless_output_is_owned_by_the_test_user(rootless_podman: Engine, user_tmp_path: Path) -> None:
    from podman import PodmanClient

    with PodmanClient(base_url=rootless_podman.url) as client:
        mount = {"type": "bind", "source": str(user_tmp_path), "target": "/output"}
        container = client.containers.create(
            ALPINE, ["touch", "/output/made"], network_mode="none", labels=LABELS, mounts=[mount]
        )
        try:
            container.start()
            assert container.wait() == 0
        finally:
            container.remove(force=True)
    made = (user_tmp_path / "made").stat()
    assert (made.st_uid, made.st_gid) == (rootless_podman.uid, rootless_podman.gid)


def test_pipex_runs_as_the_test_user(run_pipex_as_test_user: RunPipex, user_tmp_path: Path) -> None:
    result = run_pipex_as_test_user(["--version"], cwd=user_tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "pipex 0.1.0\n"


@pytest.mark.docker_engine
def test_stop_leaves_nothing_behind(docker_engine: Engine, session_dir: Path) -> None:
    # A second, throwaway dockerd with a running container and a network: its bridge is a host interface
    # that outlives a careless stop, and its containerd and shims are processes that can.
    from docker import DockerClient

    service = services.docker_engine(session_dir / "throwaway")
    try:
        service.start()
        service.load_images(REGISTRY.rootfs())
        client = DockerClient(base_url=service.engine.url)
        try:
            network = client.networks.create("pipex-t")
            client.containers.run(ALPINE, ["sleep", "600"], detach=True, network=network.name, labels=LABELS)
        finally:
            client.close()
        bridge = Path("/sys/class/net", f"br-{network.id[:12]}")
        assert bridge.exists()
    finally:
        service.stop()
    assert not bridge.exists()
    assert not service.workdir.exists()
    assert service.process is not None and service.process.returncode is not None
    needle = str(service.workdir).encode()
    assert [p.name for p in Path("/proc").glob("[0-9]*/cmdline") if needle in _read(p)] == []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
