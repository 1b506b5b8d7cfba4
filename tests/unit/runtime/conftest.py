from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .fakeengine import FakeEngine

FAKEENGINE = Path(__file__).with_name("fakeengine.py")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temp dir with a short path: a unix socket path must fit in 108 bytes, pytest's tmp_path may not."""
    path = Path(tempfile.mkdtemp(prefix="px", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def engine() -> Iterator[Callable[..., FakeEngine]]:
    """``engine(path, kind="podman")``: start a fake engine on ``path``; all are closed after the test."""
    started: list[FakeEngine] = []

    def start(path: Path, kind: str = "podman") -> FakeEngine:
        started.append(FakeEngine(path, kind))
        return started[-1]

    yield start
    for fake in started:
        fake.close()


@pytest.fixture
def fake_podman(short_tmp: Path) -> Path:
    """An executable standing in for ``podman``: ``system service --time=0 URL`` serves a fake Podman."""
    script = short_tmp / "bin" / "podman"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKEENGINE} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
