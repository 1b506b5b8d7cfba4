"""A command missing from the image exits 127 naming it; a container whose network cannot start fails with
reason ``network``. The engine's words are classified at the runtime seam (``errors_map``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipex.engine.events import StepEnd
from pipex.errors import CommandNotFound, ContainerFailed, NetworkUnavailable
from pipex.runtime.errors_map import classify_container_failure
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import run
from tests.unit.engine.test_engine_support import meta, of, write

STEP = """
    id: cmd
    steps:
      - {id: s, image: alpine:3.20, cmd: [nosuch, --flag]}
"""


@pytest.mark.parametrize(
    "engine_says",
    [
        # runc under Podman
        'runc: runc create failed: unable to start container process: exec: "nosuch": executable file not found '
        "in $PATH: OCI runtime attempted to invoke a command that was not found",
        # dockerd
        "failed to create task for container: failed to create shim task: OCI runtime create failed: runc create "
        'failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown',
        # crun
        "crun: executable file `nosuch` not found in $PATH: No such file or directory: OCI runtime attempted to "
        "invoke a command that was not found",
    ],
)
def test_missing_command_is_classified(engine_says: str) -> None:
    error = classify_container_failure(f"start container failed: {engine_says}")
    assert isinstance(error, CommandNotFound)
    assert error.executable == "nosuch"
    assert (
        error.message
        == f'command "nosuch" not found in the image (the engine said: start container failed: {engine_says})'
    )


@pytest.mark.parametrize(
    "engine_says",
    [
        'slirp4netns failed: "open(\\"/dev/net/tun\\"): Permission denied\\nWARNING: Support for sandboxing is '
        'experimental\\n"',
        "setting up Pasta: pasta failed with exit code 1:\nFailed to open() /dev/net/tun: Permission denied",
        'could not find slirp4netns, the network namespace can\'t be configured: exec: "slirp4netns": executable '
        "file not found in $PATH",
    ],
)
def test_rootless_network_failure_is_classified(engine_says: str) -> None:
    error = classify_container_failure(f"start container failed: {engine_says}")
    assert isinstance(error, NetworkUnavailable)
    assert error.hint is not None and "slirp4netns or pasta" in error.hint


def test_other_failures_keep_the_engines_words() -> None:
    error = classify_container_failure("create container failed: no space left on device")
    assert type(error) is ContainerFailed
    assert error.message == "create container failed: no space left on device"


def test_a_missing_command_fails_the_step_with_127(tmp_path: Path) -> None:
    path = write(tmp_path / "p", STEP)
    rt = FakeRuntime()
    rt.fail("start", classify_container_failure('start failed: exec: "nosuch": executable file not found in $PATH'))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    (end,) = of(r, StepEnd, "s")
    expected = (
        'command "nosuch" not found in the image (the engine said: start failed: exec: "nosuch": executable file '
        "not found in $PATH)"
    )
    assert (end.status, end.exit_code, end.reason, end.message) == ("failure", 127, "command", expected)
    assert (meta(r, "s")["exitCode"], meta(r, "s")["reason"]) == (127, "command")


def test_a_network_failure_fails_the_step_with_reason_network(tmp_path: Path) -> None:
    path = write(tmp_path / "p", STEP)
    rt = FakeRuntime()
    rt.fail("start", classify_container_failure("start failed: pasta failed with exit code 1: /dev/net/tun"))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    (end,) = of(r, StepEnd, "s")
    assert (end.status, end.exit_code, end.reason) == ("failure", None, "network")
    assert end.message == (
        "the container's network could not be set up: start failed: pasta failed with exit code 1: /dev/net/tun"
    )


@pytest.mark.parametrize(
    ("code", "stderr", "expected"),
    [
        (1, b"ERROR (catatonit:6): failed to exec pid1: No such file or directory\n", 127),  # Podman's init
        (127, b"[FATAL tini (7)] exec nosuch failed: No such file or directory\n", 127),  # Docker's init
        (1, b"ERROR (catatonit:6): failed to exec pid1: Permission denied\n", 126),
    ],
)
def test_the_inits_report_of_a_missing_command(tmp_path: Path, code: int, stderr: bytes, expected: int) -> None:
    path = write(tmp_path / "p", STEP)
    rt = FakeRuntime()
    rt.script(step="s", behaviour=Behaviour(exit_code=code, stderr=stderr))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    (end,) = of(r, StepEnd, "s")
    word = "not found" if expected == 127 else "is not executable"
    assert (end.exit_code, end.reason, end.message) == (
        expected,
        "command",
        f'command "nosuch" {word} in the image alpine:3.20',
    )


@pytest.mark.parametrize(
    ("stdout", "stderr"),
    [
        (b"started\n", b"ERROR (catatonit:6): failed to exec pid1: No such file or directory\n"),
        (b"", b"x\nERROR (catatonit:6): failed to exec pid1: No such file or directory\n"),
        (b"", b"[FATAL tini (7)] exec nosuch failed: No such file or directory (not quite)\n"),
    ],
)
def test_a_step_that_wrote_more_keeps_its_exit_code(tmp_path: Path, stdout: bytes, stderr: bytes) -> None:
    path = write(tmp_path / "p", STEP)
    rt = FakeRuntime()
    rt.script(step="s", behaviour=Behaviour(exit_code=1, stdout=stdout, stderr=stderr))
    (end,) = of(run(path, runtime=rt, workdir=tmp_path / "wd"), StepEnd, "s")
    assert (end.exit_code, end.reason) == (1, "exit")
