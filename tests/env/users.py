"""The non-root user that rootless Podman runs as in the tests, and running commands as that user.

As root (CI), the rootless engine runs as ``pipex-test`` (made by ``tests/env/setup.sh user``). As a normal
user (a workstation), the rootless engine runs as that user itself and these helpers run commands directly.

The repo venv is made from ``/usr/bin/python3`` so ``pipex-test`` can run it when the clone is readable by
it; when it is not (a clone under ``/root``), setup.sh builds ``/var/tmp/pipex-test-venv`` with pipex's
runtime dependencies, and the tests run pipex from a copy of the package in a readable session dir
(``PYTHONPATH``), never from the clone.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TEST_USER = "pipex-test"
FALLBACK_VENV = Path("/var/tmp/pipex-test-venv")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What `python -m pipex` needs at run time (keep in step with [project.dependencies]).
RUNTIME_IMPORTS = "import docker, podman, pydantic, yaml, typer, platformdirs"
SETUP_HINT = "run `make test` once, or `sudo tests/env/setup.sh user .venv`"


class TestUserError(Exception):
    __test__ = False  # not a test class, despite the name


@dataclass(frozen=True)
class TestUser:
    __test__ = False

    name: str
    uid: int
    gid: int
    home: Path

    @property
    def is_self(self) -> bool:
        """True when the tests already run as this user (no uid switch)."""
        return self.uid == os.getuid()


def is_root() -> bool:
    return os.geteuid() == 0


def get_test_user() -> TestUser:
    """``pipex-test`` when running as root, else the current user."""
    name = TEST_USER if is_root() else pwd.getpwuid(os.getuid()).pw_name
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise TestUserError(f"user {name!r} does not exist: {SETUP_HINT}") from None
    return TestUser(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid, home=Path(entry.pw_dir))


def base_env(user: TestUser) -> dict[str, str]:
    return {
        "PATH": SYSTEM_PATH,
        "HOME": str(user.home),
        "USER": user.name,
        "LOGNAME": user.name,
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }


def as_user_argv(user: TestUser, argv: Sequence[str]) -> list[str]:
    """``argv`` prefixed to run as ``user`` (setpriv execs, so the pid is the command's own)."""
    if user.is_self:
        return list(argv)
    return ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups", "--", *argv]


def run_as_test_user(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 300.0,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as the test user with a clean environment (``base_env`` updated with ``env``).

    The output is captured as text. ``cwd`` (default ``/``: pytest's cwd may be closed to the user) must be
    readable by the user (see the ``user_tmp_path`` fixture).
    """
    user = get_test_user()
    full_env = {**base_env(user), **(env or {})}
    return subprocess.run(
        as_user_argv(user, argv),
        env=full_env,
        cwd=cwd or "/",
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def user_can_import(python: Path) -> bool:
    if not python.exists():
        return False
    result = run_as_test_user([str(python), "-c", RUNTIME_IMPORTS], cwd=Path("/"), timeout=120)
    return result.returncode == 0


def user_python() -> Path:
    """A Python the test user can run that has pipex's runtime dependencies."""
    candidates = [Path(sys.prefix) / "bin" / "python", FALLBACK_VENV / "bin" / "python"]
    for python in candidates:
        if user_can_import(python):
            return python
    tried = ", ".join(str(p) for p in candidates)
    raise TestUserError(
        f"user {get_test_user().name!r} cannot run a Python with pipex's dependencies ({tried}): {SETUP_HINT}"
    )


def make_user_dir(path: Path, user: TestUser, mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    if not user.is_self:
        os.chown(path, user.uid, user.gid)
    return path
