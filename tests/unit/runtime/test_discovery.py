"""Discovery: every rule of the order, each verified against real (fake) engines on unix sockets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipex.errors import ConfigError
from pipex.runtime.discovery import Attempt, DiscoveryFailed, candidates, discover
from pipex.runtime.probe import Identity, ProbeFailed
from pipex.runtime.service import PrivateService

from .conftest import process_gone
from .fakeengine import FakeEngine, stale_socket

Start = Callable[..., FakeEngine]
UID = 4242


def find(root: Path, environ: dict[str, str], kind: str = "auto", host: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return discover(kind, host, environ=environ, uid=UID, root=root, podman=None, **kw)  # type: ignore[arg-type]


def test_candidates_follow_the_documented_order(short_tmp: Path) -> None:
    env = {
        "CONTAINER_HOST": "unix:///c.sock",
        "DOCKER_HOST": "tcp://127.0.0.1:2375",
        "XDG_RUNTIME_DIR": "/xdg",
        "HOME": "/home/u",
    }
    found = [(c.url, c.source) for c in candidates(None, env, uid=UID, root=Path("/"))]
    assert found == [
        ("unix:///c.sock", "CONTAINER_HOST"),
        ("tcp://127.0.0.1:2375", "DOCKER_HOST"),
        ("unix:///xdg/podman/podman.sock", "rootless Podman socket ($XDG_RUNTIME_DIR)"),
        (f"unix:///run/user/{UID}/podman/podman.sock", "rootless Podman socket"),
        ("unix:///run/podman/podman.sock", "rootful Podman socket"),
        ("unix:///var/run/docker.sock", "Docker socket"),
        ("unix:///home/u/.docker/run/docker.sock", "Docker Desktop socket"),
        ("unix:///xdg/docker.sock", "rootless Docker socket"),
        ("unix:///home/u/.colima/docker.sock", "Colima socket"),
    ]


def test_without_xdg_or_home_only_system_paths_remain() -> None:
    found = [c.url for c in candidates(None, {}, uid=UID, root=Path("/"))]
    assert found == [
        f"unix:///run/user/{UID}/podman/podman.sock",
        "unix:///run/podman/podman.sock",
        "unix:///var/run/docker.sock",
    ]


def test_host_is_the_only_candidate(short_tmp: Path, engine: Start) -> None:
    engine(short_tmp / "xdg/podman/podman.sock")
    with pytest.raises(DiscoveryFailed) as caught:
        find(short_tmp, {"XDG_RUNTIME_DIR": str(short_tmp / "xdg")}, host=f"unix://{short_tmp}/nope.sock")
    assert caught.value.message == (
        f"no container engine answers; tried:\n  unix://{short_tmp}/nope.sock (--host): no socket there"
    )
    assert caught.value.hint == (
        f"check that an engine listens at unix://{short_tmp}/nope.sock, or drop --host to let pipex look for one"
    )
    assert caught.value.exit_code == 3


def test_host_answering_is_chosen(short_tmp: Path, engine: Start) -> None:
    fake = engine(short_tmp / "e.sock", "docker")
    endpoint = find(short_tmp, {}, host=fake.url, host_source=".pipex.yml host")
    assert (endpoint.url, endpoint.api, endpoint.source) == (fake.url, "docker", ".pipex.yml host")
    assert endpoint.identity == Identity(fake.url, "docker", "docker", "24.0.7", "1.43")
    assert endpoint.why == f"{fake.url} (.pipex.yml host)"


def test_container_host_wins_over_docker_host_and_sockets(short_tmp: Path, engine: Start) -> None:
    podman = engine(short_tmp / "p.sock")
    docker = engine(short_tmp / "d.sock", "docker")
    engine(short_tmp / "xdg/podman/podman.sock")
    env = {"CONTAINER_HOST": podman.url, "DOCKER_HOST": docker.url, "XDG_RUNTIME_DIR": str(short_tmp / "xdg")}
    endpoint = find(short_tmp, env)
    assert (endpoint.url, endpoint.api, endpoint.source) == (podman.url, "libpod", "CONTAINER_HOST")
    assert endpoint.attempts == (Attempt(podman.url, "CONTAINER_HOST", "answered: Podman 4.3.1 (libpod API 4.3.1)"),)


def test_docker_host_comes_before_the_well_known_sockets(short_tmp: Path, engine: Start) -> None:
    docker = engine(short_tmp / "d.sock", "docker")
    engine(short_tmp / "xdg/podman/podman.sock")
    endpoint = find(short_tmp, {"DOCKER_HOST": docker.url, "XDG_RUNTIME_DIR": str(short_tmp / "xdg")})
    assert (endpoint.source, endpoint.api) == ("DOCKER_HOST", "docker")


def test_docker_host_pointing_at_podman_uses_the_libpod_api(short_tmp: Path, engine: Start) -> None:
    podman = engine(short_tmp / "p.sock")
    assert find(short_tmp, {"DOCKER_HOST": podman.url}).api == "libpod"


def test_docker_host_without_scheme_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        find(Path("/nonexistent"), {"DOCKER_HOST": "/var/run/docker.sock"})
    assert caught.value.message == "DOCKER_HOST='/var/run/docker.sock' has no scheme"
    assert caught.value.hint == "add one: DOCKER_HOST=unix:///var/run/docker.sock"


def test_host_with_unknown_scheme_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        find(Path("/nonexistent"), {}, host="npipe:////./pipe/docker_engine")
    assert caught.value.message == "--host='npipe:////./pipe/docker_engine': unsupported scheme 'npipe'"
    assert caught.value.hint == "use one of unix://, tcp://, http://, https://, ssh://"


def test_bad_docker_host_does_not_matter_once_container_host_answers(short_tmp: Path, engine: Start) -> None:
    podman = engine(short_tmp / "p.sock")
    assert find(short_tmp, {"CONTAINER_HOST": podman.url, "DOCKER_HOST": "localhost:2375"}).url == podman.url


def test_xdg_socket_then_run_user_then_rootful(short_tmp: Path, engine: Start) -> None:
    root = short_tmp / "root"
    rootful = engine(root / "run/podman/podman.sock")
    env = {"XDG_RUNTIME_DIR": str(short_tmp / "xdg")}
    assert find(root, env).source == "rootful Podman socket"
    user = engine(root / f"run/user/{UID}/podman/podman.sock")
    assert find(root, env).url == user.url
    xdg = engine(short_tmp / "xdg/podman/podman.sock")
    endpoint = find(root, env)
    assert endpoint.url == xdg.url
    assert rootful.url != endpoint.url


def test_docker_sockets_in_order(short_tmp: Path, engine: Start) -> None:
    root, home = short_tmp / "root", short_tmp / "home"
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(short_tmp / "xdg")}
    engine(home / ".colima/docker.sock", "docker")
    assert find(root, env).source == "Colima socket"
    engine(short_tmp / "xdg/docker.sock", "docker")
    assert find(root, env).source == "rootless Docker socket"
    engine(home / ".docker/run/docker.sock", "docker")
    assert find(root, env).source == "Docker Desktop socket"
    engine(root / "var/run/docker.sock", "docker")
    endpoint = find(root, env)
    assert (endpoint.source, endpoint.api) == ("Docker socket", "docker")


def test_attempts_say_why_each_candidate_was_passed_over(short_tmp: Path, engine: Start) -> None:
    root = short_tmp / "root"
    xdg = short_tmp / "xdg"
    (xdg / "podman").mkdir(parents=True)
    (xdg / "podman/podman.sock").symlink_to(short_tmp / "gone.sock")  # dangling
    stale_socket(root / f"run/user/{UID}/podman/podman.sock")
    (root / "run/podman").mkdir(parents=True)
    (root / "run/podman/podman.sock").write_text("not a socket")
    docker = engine(root / "var/run/docker.sock", "docker")
    endpoint = find(root, {"XDG_RUNTIME_DIR": str(xdg)})
    assert endpoint.url == docker.url
    assert [a.outcome for a in endpoint.attempts] == [
        f"dangling symlink to {short_tmp}/gone.sock: skipped",
        "connection refused: nothing listens on it (a stale socket?)",
        "not a socket",
        "answered: Docker Engine API 24.0.7 (Docker API 1.43)",
    ]


def test_runtime_podman_skips_docker_engines(short_tmp: Path, engine: Start) -> None:
    root = short_tmp / "root"
    docker = engine(root / "var/run/docker.sock", "docker")
    with pytest.raises(DiscoveryFailed) as caught:
        find(root, {}, kind="podman")
    assert caught.value.attempts[-1] == Attempt(
        docker.url, "Docker socket", "Docker Engine API 24.0.7 (Docker API 1.43), not Podman (--runtime podman)"
    )
    assert caught.value.message.splitlines()[0] == "no Podman engine answers; tried:"
    podman = engine(short_tmp / "home/.colima/docker.sock")  # a Podman behind a Docker-looking path counts
    assert find(root, {"HOME": str(short_tmp / "home")}, kind="podman").url == podman.url


def test_podman_without_libpod_is_not_podman_enough(short_tmp: Path, engine: Start) -> None:
    compat = engine(short_tmp / "c.sock", "podman-compat")
    with pytest.raises(DiscoveryFailed) as caught:
        find(short_tmp, {}, kind="podman", host=compat.url)
    assert caught.value.attempts[0].outcome == "Podman 4.3.1 (Docker API 1.41), not Podman (--runtime podman)"
    assert find(short_tmp, {}, host=compat.url).api == "docker"


def test_runtime_docker_uses_a_podman_socket_through_the_docker_api(short_tmp: Path, engine: Start) -> None:
    podman = engine(short_tmp / "p.sock")
    endpoint = find(short_tmp, {"CONTAINER_HOST": podman.url}, kind="docker")
    assert (endpoint.url, endpoint.api) == (podman.url, "docker")
    assert endpoint.identity is not None and endpoint.identity.engine == "podman"


def test_nothing_found_lists_every_attempt_and_the_fix(short_tmp: Path) -> None:
    root = short_tmp / "root"
    with pytest.raises(DiscoveryFailed) as caught:
        discover("auto", None, environ={"PATH": str(short_tmp)}, uid=UID, root=root)
    assert caught.value.message == "\n".join(
        [
            "no container engine answers; tried:",
            f"  unix://{root}/run/user/{UID}/podman/podman.sock (rootless Podman socket): not found",
            f"  unix://{root}/run/podman/podman.sock (rootful Podman socket): not found",
            f"  unix://{root}/var/run/docker.sock (Docker socket): not found",
            "  podman system service (private Podman service: no socket found): no podman binary on PATH",
        ]
    )
    assert caught.value.hint == (
        "start Podman's socket with `systemctl --user enable --now podman.socket`, or install podman"
    )


def test_root_is_told_to_start_the_system_socket(short_tmp: Path) -> None:
    with pytest.raises(DiscoveryFailed) as caught:
        discover("auto", None, environ={}, uid=0, root=short_tmp, podman=None)
    assert caught.value.hint == "start Podman's socket with `systemctl enable --now podman.socket`, or install podman"


def test_permission_denied_adds_the_group_fix(short_tmp: Path, engine: Start) -> None:
    fake = engine(short_tmp / "d.sock", "docker")

    def denied(url: str) -> Identity:
        raise ProbeFailed("permission denied: your user may not use this socket")

    with pytest.raises(DiscoveryFailed) as caught:
        find(short_tmp, {"DOCKER_HOST": fake.url}, check=denied)
    assert caught.value.hint == (
        "DOCKER_HOST names an engine that does not answer: start dockerd (`sudo systemctl start docker`) or unset "
        "DOCKER_HOST; or start Podman's socket with `systemctl --user enable --now podman.socket`, or install "
        "podman; for a socket you may not use, add your user to its group (e.g. `docker`) or use rootless Podman"
    )


def test_runtime_docker_speaks_of_dockerd(short_tmp: Path) -> None:
    with pytest.raises(DiscoveryFailed) as caught:
        find(short_tmp, {}, kind="docker")
    assert caught.value.hint == (
        "start dockerd (`sudo systemctl start docker`), or point DOCKER_HOST at a running engine "
        "(e.g. DOCKER_HOST=unix:///var/run/docker.sock)"
    )


def test_docker_host_not_answering_then_podman_is_a_warning(short_tmp: Path, engine: Start) -> None:
    engine(short_tmp / "xdg/podman/podman.sock")
    env = {"DOCKER_HOST": f"unix://{short_tmp}/gone.sock", "XDG_RUNTIME_DIR": str(short_tmp / "xdg")}
    endpoint = find(short_tmp, env)
    assert endpoint.source == "rootless Podman socket ($XDG_RUNTIME_DIR)"
    assert endpoint.warnings == (
        f"DOCKER_HOST=unix://{short_tmp}/gone.sock does not answer (no socket there); using {endpoint.why} instead",
    )


def test_an_answering_docker_host_has_no_warning(short_tmp: Path, engine: Start) -> None:
    docker = engine(short_tmp / "d.sock", "docker")
    assert find(short_tmp, {"DOCKER_HOST": docker.url}).warnings == ()


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^unknown runtime 'kubernetes'$"):
        find(Path("/"), {}, kind="kubernetes")


def test_ssh_endpoints_are_left_to_the_backend() -> None:
    endpoint = find(Path("/"), {"CONTAINER_HOST": "ssh://core@host/run/podman/podman.sock"})
    assert (endpoint.api, endpoint.identity, endpoint.source) == ("libpod", None, "CONTAINER_HOST")
    assert find(Path("/"), {"DOCKER_HOST": "ssh://me@host"}).api == "docker"


def test_every_call_looks_again(short_tmp: Path, engine: Start) -> None:
    root = short_tmp / "root"
    first = engine(root / "run/podman/podman.sock")
    assert find(root, {}).url == first.url
    first.close()
    second = engine(root / "var/run/docker.sock", "docker")
    assert find(root, {}).url == second.url


# -- rule 7: the private Podman service -------------------------------------------------------------------------


def test_private_service_in_xdg_runtime_dir(short_tmp: Path, fake_podman: Path) -> None:
    xdg = short_tmp / "xdg"
    xdg.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(xdg), "PIPEX_SERVICE_IDLE": "0"}  # one service for this command only
    endpoint = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    service = endpoint.service
    assert service is not None
    try:
        assert endpoint.url == f"unix://{xdg}/pipex/podman-{os.getpid()}.sock"
        assert (endpoint.api, endpoint.source) == ("libpod", "private Podman service: no socket found")
        assert endpoint.attempts[-1].outcome == "answered: Podman 4.3.1 (libpod API 4.3.1)"
        assert (xdg / "pipex").stat().st_mode & 0o777 == 0o700
    finally:
        service.stop()
    assert process_gone(service.podman_pid)
    assert service.process.returncode is not None
    assert not service.path.exists()
    assert (xdg / "pipex").is_dir()  # the XDG dir is shared by later runs; only the socket goes


def test_private_service_without_xdg_uses_a_private_tmp_dir(short_tmp: Path, fake_podman: Path) -> None:
    env = {"PIPEX_SERVICE_IDLE": "0"}
    endpoint = discover("podman", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    service = endpoint.service
    assert isinstance(service, PrivateService)
    directory = service.path.parent
    try:
        assert directory.parent == Path("/tmp")
        assert directory.name.startswith(f"pipex-{UID}-")
        assert directory.stat().st_mode & 0o777 == 0o700
        assert directory.stat().st_uid == os.getuid()
    finally:
        service.stop()
        service.stop()  # idempotent
    assert not directory.exists()
    assert process_gone(service.podman_pid)


def test_private_service_that_fails_is_reported(short_tmp: Path, fake_podman: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(short_tmp), "FAKE_PODMAN_FAIL": "1", "PIPEX_SERVICE_IDLE": "0"}
    with pytest.raises(DiscoveryFailed) as caught:
        discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    sock = f"{short_tmp}/pipex/podman-{os.getpid()}.sock"
    assert caught.value.attempts[-1] == Attempt(
        f"{fake_podman} system service",
        "private Podman service: no socket found",
        f"a private `podman system service` on unix://{sock} failed: it exited: "
        "Error: cannot set up namespace: permission denied",
    )


def test_no_private_service_for_docker_or_an_explicit_host(short_tmp: Path, fake_podman: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(short_tmp)}
    for kind, host in (("docker", None), ("auto", f"unix://{short_tmp}/x.sock")):
        with pytest.raises(DiscoveryFailed):
            discover(kind, host, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))  # type: ignore[arg-type]
    assert not (short_tmp / "pipex").exists()


def test_private_service_is_gone_when_pipex_is_killed(short_tmp: Path, fake_podman: Path) -> None:
    pidfile = short_tmp / "podman.pid"
    code = (
        "import os, sys; from pathlib import Path; from pipex.runtime.discovery import discover; "
        f"e = discover('auto', None, environ=dict(os.environ), uid=1, root=Path({str(short_tmp)!r}), "
        f"podman={str(fake_podman)!r}); print(e.url, flush=True); os.kill(os.getpid(), 9)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
        "XDG_RUNTIME_DIR": str(short_tmp),
        "FAKE_PODMAN_PIDFILE": str(pidfile),
        "PIPEX_SERVICE_IDLE": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == -9, result.stderr
    url = result.stdout.strip()
    podman_pid = int(pidfile.read_text())
    sock = Path(url.removeprefix("unix://"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (process_gone(podman_pid) and not sock.exists()):
        time.sleep(0.05)
    assert process_gone(podman_pid)
    assert not sock.exists()  # the watchdog removed it
