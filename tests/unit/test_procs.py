"""``pid_alive``: the one liveness check every layer uses (reaper, private service, locks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pipex.procs import pid_alive


def test_live_processes() -> None:
    assert pid_alive(os.getpid())
    assert pid_alive(1)


def test_never_a_single_process() -> None:
    assert not pid_alive(0)  # kill(0, …) would mean "my process group"
    assert not pid_alive(-1)  # kill(-1, …) would mean "every process I may signal"
    assert not pid_alive(2**22 + 12345)  # above the kernel's pid_max


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while pid_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)  # exited but not reaped (no wait yet): a zombie, which signal 0 still reaches
        os.kill(child.pid, 0)  # the pid still exists...
        assert not pid_alive(child.pid)  # ...but nothing runs there
    finally:
        child.wait()
    assert not pid_alive(child.pid)


def test_a_reaped_child_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert child.wait() == 0
    assert not pid_alive(child.pid)
