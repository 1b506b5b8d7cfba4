"""The private Podman service shared by consecutive commands: reuse, one start when two race, the idle timeout,
the lease that keeps it while a command runs, and what ``doctor`` says about it (a fake ``podman`` binary)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipex.engine.engine import Engine
from pipex.errors import ConfigError
from pipex.runtime.discovery import discover, prestart
from pipex.runtime.doctor import checks
from pipex.runtime.factory import connect
from pipex.runtime.service import PrivateService
from pipex.runtime.sharedservice import SharedService, idle_seconds, service_key

from .conftest import process_gone
from .test_doctor import FACTS, INFO

UID = 4243
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def xdg(short_tmp: Path) -> Iterator[Path]:
    path = short_tmp / "xdg"
    path.mkdir(mode=0o700)
    yield path
    for pidfile in short_tmp.glob("*.pids"):  # services a test left to their idle timeout
        for pid in _pids(pidfile):
            if not process_gone(pid):
                os.kill(pid, signal.SIGTERM)


def _pids(pidfile: Path) -> list[int]:
    return [int(line) for line in pidfile.read_text().split()] if pidfile.exists() else []


def _env(short_tmp: Path, xdg: Path, idle: str = "30", **extra: str) -> dict[str, str]:
    return {
        "XDG_RUNTIME_DIR": str(xdg),
        "PIPEX_SERVICE_IDLE": idle,
        "FAKE_PODMAN_PIDFILE": str(short_tmp / "podman.pids"),
        **extra,
    }


def _until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return bool(condition())  # type: ignore[operator]


def test_two_commands_share_one_service(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    env = _env(short_tmp, xdg)
    first = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(first.service, SharedService)
    assert not first.service.reused
    first.service.stop()  # the first command ends: the service stays
    second = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(second.service, SharedService)
    try:
        assert second.url == first.url == f"unix://{xdg}/pipex/podman-{service_key(str(fake_podman), env)}.sock"
        assert second.service.reused
        assert second.attempts[-1].outcome == "answered: Podman 4.3.1 (libpod API 4.3.1)"
        assert len(_pids(short_tmp / "podman.pids")) == 1
        assert (xdg / "pipex").stat().st_mode & 0o777 == 0o700
    finally:
        second.service.stop()


def test_the_service_does_not_keep_the_commands_working_directory(
    short_tmp: Path, xdg: Path, fake_podman: Path
) -> None:
    env = _env(short_tmp, xdg, FAKE_PODMAN_CWDFILE=str(short_tmp / "cwd"))
    endpoint = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert endpoint.service is not None
    endpoint.service.stop()
    assert str(Path.cwd()) != "/"
    assert (short_tmp / "cwd").read_text() == "/"  # it outlives the command: its directory may be deleted


def test_another_configuration_gets_another_service(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    one = discover("auto", None, environ=_env(short_tmp, xdg), uid=UID, root=short_tmp, podman=str(fake_podman))
    other_env = _env(short_tmp, xdg, CONTAINERS_STORAGE_CONF="/elsewhere.conf")
    other = discover("auto", None, environ=other_env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert one.service is not None and other.service is not None
    one.service.stop()
    other.service.stop()
    assert one.url != other.url
    assert len(_pids(short_tmp / "podman.pids")) == 2


def test_two_commands_starting_at_once_start_one_service(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    code = (
        "import os; from pathlib import Path; from pipex.runtime.discovery import discover; "
        f"e = discover('auto', None, environ=dict(os.environ), uid={UID}, root=Path({str(short_tmp)!r}), "
        f"podman={str(fake_podman)!r}); print(e.url, e.service.reused, flush=True); e.service.stop()"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), **_env(short_tmp, xdg, FAKE_PODMAN_START_DELAY="0.5")}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = sorted(p.communicate(timeout=60)[0].split() for p in procs)
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs[0][0] == outputs[1][0]  # the same socket
    assert sorted(o[1] for o in outputs) == ["False", "True"]  # one started it, the other waited and reused it
    assert len(_pids(short_tmp / "podman.pids")) == 1


def test_the_idle_timeout_ends_the_service_but_not_under_a_lease(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    env = _env(short_tmp, xdg, idle="1")
    endpoint = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    service = endpoint.service
    assert isinstance(service, SharedService)
    time.sleep(2.5)  # more than the idle timeout while the command holds its lease
    assert not process_gone(service.podman_pid)
    service.stop()
    assert _until(lambda: process_gone(service.podman_pid), 5)
    assert not service.path.exists()


def test_a_killed_command_leaves_the_service_only_for_the_idle_timeout(
    short_tmp: Path, xdg: Path, fake_podman: Path
) -> None:
    code = (
        "import os; from pathlib import Path; from pipex.runtime.discovery import discover; "
        f"e = discover('auto', None, environ=dict(os.environ), uid={UID}, root=Path({str(short_tmp)!r}), "
        f"podman={str(fake_podman)!r}); print(e.url, flush=True); os.kill(os.getpid(), 9)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), **_env(short_tmp, xdg, idle="1")}
    argv = [sys.executable, "-c", code]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == -9, result.stderr
    [pid] = _pids(short_tmp / "podman.pids")
    assert _until(lambda: process_gone(pid), 5)
    assert not Path(result.stdout.strip().removeprefix("unix://")).exists()


def test_a_dead_service_socket_is_replaced(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    env = _env(short_tmp, xdg)
    first = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(first.service, SharedService)
    first.service.stop()
    os.kill(first.service.podman_pid, signal.SIGKILL)  # leaves its socket file behind
    assert _until(lambda: process_gone(first.service.podman_pid), 5)  # type: ignore[union-attr]
    assert first.service.path.exists()
    second = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(second.service, SharedService)
    second.service.stop()
    assert not second.service.reused
    assert second.url == first.url


def test_idle_zero_or_a_tmp_dir_that_is_not_ours_means_one_service_per_command(
    short_tmp: Path, xdg: Path, fake_podman: Path
) -> None:
    env = _env(short_tmp, xdg, idle="0")
    endpoint = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(endpoint.service, PrivateService)
    endpoint.service.stop()
    uid = 40000 + os.getpid() % 20000
    planted = Path(f"/tmp/pipex-{uid}")
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)  # anybody could have made it: not a place for a socket
    try:
        env = {"PIPEX_SERVICE_IDLE": "30", "FAKE_PODMAN_PIDFILE": str(short_tmp / "podman.pids")}
        endpoint = discover("auto", None, environ=env, uid=uid, root=short_tmp, podman=str(fake_podman))
        assert isinstance(endpoint.service, PrivateService)
        endpoint.service.stop()
        assert list(planted.iterdir()) == []
    finally:
        planted.rmdir()


def test_a_restarted_service_does_not_ask_for_info_again(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    calls = short_tmp / "info.calls"
    env = _env(
        short_tmp,
        xdg,
        PATH=f"{fake_podman.parent}:/usr/bin:/bin",
        XDG_CACHE_HOME=str(short_tmp / "cache"),
        FAKE_PODMAN_INFOFILE=str(calls),
    )

    def command() -> SharedService:
        found = connect("auto", None, environ=env, root=short_tmp)
        try:
            assert found.runtime.info().version == "4.3.1"
        finally:
            found.runtime.close()
        assert isinstance(found.endpoint.service, SharedService)
        assert found.endpoint.service.info_identity is not None
        return found.endpoint.service

    def idle_timeout(service: SharedService) -> None:
        os.kill(_pids(short_tmp / "podman.pids")[-1], signal.SIGTERM)
        assert _until(lambda: not service.path.exists(), 5)

    first = command()
    idle_timeout(first)
    second = command()  # a new service on the same socket path: the answer kept for the first one still holds
    assert not second.reused
    assert second.info_identity == first.info_identity
    assert len(_pids(short_tmp / "podman.pids")) == 2
    assert len(_pids(calls)) == 1
    idle_timeout(second)
    fake_podman.write_text(fake_podman.read_text() + "# rebuilt\n")  # another podman binary: ask again
    third = command()
    assert third.info_identity != first.info_identity
    assert len(_pids(calls)) == 2


def test_an_early_start_overlaps_the_commands_own_work(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    env = _env(short_tmp, xdg, FAKE_PODMAN_START_DELAY="1.5")  # a slow Podman start
    assert prestart("auto", environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert not prestart("auto", environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))  # once
    time.sleep(1.5)  # the command reads and checks its pipeline meanwhile
    began = time.monotonic()
    endpoint = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    waited = time.monotonic() - began
    service = endpoint.service
    assert isinstance(service, SharedService)
    service.stop()
    assert waited < 1.0  # not a second start of 1.5 s
    assert not service.reused  # this command started it
    assert [service.podman_pid] == _pids(short_tmp / "podman.pids")


def test_an_early_start_leaves_the_lock_once_the_service_answers(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    env = _env(short_tmp, xdg)
    assert prestart("auto", environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    lock = xdg / "pipex" / f"podman-{service_key(str(fake_podman), env)}.lock"
    # Another command must not wait for this one to come to its discovery (it may never: a dry run, an error).
    assert _until(lambda: _free(lock), 10)
    endpoint = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(endpoint.service, SharedService)
    endpoint.service.stop()
    assert len(_pids(short_tmp / "podman.pids")) == 1


def test_a_command_that_ends_before_its_early_service_answers_leaves_one_service(
    short_tmp: Path, xdg: Path, fake_podman: Path
) -> None:
    env = _env(short_tmp, xdg, FAKE_PODMAN_START_DELAY="1")
    code = (
        "from pathlib import Path; from pipex.runtime.discovery import prestart; "
        f"print(prestart('auto', environ={env!r}, uid={UID}, root=Path({str(short_tmp)!r}), "
        f"podman={str(fake_podman)!r}))"  # then it ends, as a detached run's parent does
    )
    argv = [sys.executable, "-c", code]
    done = subprocess.run(argv, check=False, env={**os.environ, "PYTHONPATH": str(REPO), **env}, capture_output=True)
    assert done.stdout == b"True\n", done.stderr
    endpoint = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(endpoint.service, SharedService)
    endpoint.service.stop()
    assert endpoint.service.reused  # started by the command that ended
    assert len(_pids(short_tmp / "podman.pids")) == 1


def _free(lock: Path) -> bool:
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_no_early_start_where_discovery_would_not_start_the_service(
    short_tmp: Path, xdg: Path, fake_podman: Path, engine: Callable[..., object]
) -> None:
    podman = str(fake_podman)
    for kind, env in [
        ("docker", _env(short_tmp, xdg)),  # the private service is Podman's
        ("auto", _env(short_tmp, xdg, CONTAINER_HOST="unix:///nowhere.sock")),  # an engine is named
        ("auto", _env(short_tmp, xdg, idle="0")),  # one service per command: started by discovery
    ]:
        assert not prestart(kind, environ=env, uid=UID, root=short_tmp, podman=podman)
    engine(xdg / "podman" / "podman.sock")  # Podman's own socket is there
    assert not prestart("auto", environ=_env(short_tmp, xdg), uid=UID, root=short_tmp, podman=podman)
    assert _pids(short_tmp / "podman.pids") == []


def test_a_run_starts_the_service_early_unless_its_project_names_another_engine(
    short_tmp: Path, xdg: Path, fake_podman: Path
) -> None:
    env = _env(short_tmp, xdg, PATH=f"{fake_podman.parent}:/usr/bin:/bin")
    project = short_tmp / "project"
    (project / ".git").mkdir(parents=True)  # .pipex.yml is looked for up to here
    config = project / ".pipex.yml"
    for settings in ("host: unix:///elsewhere.sock\n", "runtime: docker\n"):
        config.write_text(settings)
        assert not Engine(environ=env).start_engine_early(project)
    assert not Engine(environ=env, host="unix:///elsewhere.sock").start_engine_early(project)
    assert _pids(short_tmp / "podman.pids") == []
    config.write_text("runtime: podman\n")
    assert Engine(environ=env).start_engine_early(project)
    assert _until(lambda: len(_pids(short_tmp / "podman.pids")) == 1, 10)


def test_service_idle_setting() -> None:
    assert idle_seconds({}) == 60
    assert idle_seconds({"PIPEX_SERVICE_IDLE": " 5 "}) == 5
    with pytest.raises(ConfigError) as caught:
        idle_seconds({"PIPEX_SERVICE_IDLE": "1m"})
    assert caught.value.message == "PIPEX_SERVICE_IDLE='1m' is not a number of seconds"
    assert caught.value.hint == (
        "set PIPEX_SERVICE_IDLE to a whole number of seconds (0: stop the service after each command), or unset it"
    )


def test_doctor_reports_the_shared_service(short_tmp: Path, xdg: Path, fake_podman: Path) -> None:
    env = _env(short_tmp, xdg, idle="45")
    started = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert isinstance(started.service, SharedService)
    started.service.stop()
    reused = discover("auto", None, environ=env, uid=UID, root=short_tmp, podman=str(fake_podman))
    assert reused.service is not None
    reused.service.stop()
    found = {c.name: c for c in checks(endpoint=started, error=None, info=INFO, facts=FACTS, environ=env)}
    assert found["endpoint"].status == "warn"
    assert found["endpoint"].detail == (
        f"{started.url} (private Podman service: no socket found)\n"
        f"  shared by your pipex commands, started now (pid {started.service.podman_pid}); "
        "it stops after 45 s without one (PIPEX_SERVICE_IDLE)"
    )
    assert found["endpoint"].fix == (
        "the first command after a pause starts it again; start Podman's socket once with "
        "`systemctl --user enable --now podman.socket`"
    )
    found = {c.name: c for c in checks(endpoint=reused, error=None, info=INFO, facts=FACTS, environ=env)}
    assert found["endpoint"].detail.endswith(
        "shared by your pipex commands, reused: started by an earlier command; "
        "it stops after 45 s without one (PIPEX_SERVICE_IDLE)"
    )
