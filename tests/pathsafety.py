"""The entries a hostile step can leave in ``/output``, and a sentinel outside the workspace that must stay intact.

Shared by the path-safety suite (unit, CLI and real-engine tests): each ``Plant`` makes one kind of entry under a
step's output; ``Sentinel`` is a host directory outside the workspace (a stand-in for ``~/.ssh``) whose names,
bytes, modes and mtimes are compared before and after, plus a FIFO *tripwire* that records whether anything ever
opened it (every planted link that could be followed points at the sentinel).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

SECRET = b"host secret, never copied\n"
DEPTH = 140  # directories below "deep": more than safetree.MAX_DEPTH
LONG = "n" * 255  # the longest name Linux allows

Fate = Literal["skipped", "copied"]


@dataclass(frozen=True)
class Plant:
    id: str
    name: str  # the entry at the top of the output
    fate: Fate  # what copyToOutput and export do with it: skip it (with a warning) or copy it as data
    make: Callable[[Path, Path], None]  # (output dir, sentinel dir)
    why: str = ""  # the warning's reason, for skipped entries


def _socket(out: Path, name: str) -> None:
    # A unix socket path must fit in 108 bytes: bind in a short directory, then move it into place.
    short = Path(tempfile.mkdtemp(prefix="px", dir="/tmp"))
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(short / "s"))
        os.rename(short / "s", out / name)
    finally:
        sock.close()
        short.rmdir()


def _deep(out: Path, _outside: Path) -> None:
    # Built with relative mkdirs from descriptors: the full path is long, each step is short.
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in ["deep"] + ["d"] * DEPTH:
            os.mkdir(name, dir_fd=fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
        leaf = os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"deep")
        os.close(leaf)
    finally:
        os.close(fd)


PLANTS = [
    Plant(
        "abs-link-to-file",
        "abs-file",
        "skipped",
        lambda o, s: os.symlink(s / "secret.txt", o / "abs-file"),
        "a symlink",
    ),
    Plant("abs-link-to-dir", "abs-dir", "skipped", lambda o, s: os.symlink(s, o / "abs-dir"), "a symlink"),
    Plant("rel-link-up", "up", "skipped", lambda o, s: os.symlink("../../..", o / "up"), "a symlink"),
    Plant("link-to-tripwire", "trip", "skipped", lambda o, s: os.symlink(s / "trip.fifo", o / "trip"), "a symlink"),
    Plant(
        "link-target-with-newline", "nl", "skipped", lambda o, s: os.symlink(f"{s}\nforged line", o / "nl"), "a symlink"
    ),
    Plant("fifo", "pipe", "skipped", lambda o, s: os.mkfifo(o / "pipe"), "a FIFO"),
    Plant("socket", "sock", "skipped", lambda o, s: _socket(o, "sock"), "a socket"),
    Plant("hard-link-outside", "hard", "copied", lambda o, s: os.link(s / "secret.txt", o / "hard")),
    Plant("name-255-bytes", LONG, "copied", lambda o, s: (o / LONG).write_bytes(b"long")),
    Plant("name-with-newline", "new\nline", "skipped", lambda o, s: (o / "new\nline").write_bytes(b"nl"), "control"),
    Plant("deep-nesting", "deep", "copied", _deep),
]


def plant_params() -> list[object]:
    return [pytest.param(p, id=p.id) for p in PLANTS]


class Sentinel:
    """A directory outside the workspace: ``secret.txt``, ``sub/inner.txt`` and the FIFO ``trip.fifo``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "secret.txt").write_bytes(SECRET)
        (root / "sub").mkdir()
        (root / "sub" / "inner.txt").write_bytes(b"inner\n")
        os.mkfifo(root / "trip.fifo")
        self.tripped = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        self.before = self.snapshot()

    def _watch(self) -> None:
        fd = os.open(self.root / "trip.fifo", os.O_WRONLY)  # blocks until somebody opens it for reading
        self.tripped.set()
        os.close(fd)

    def snapshot(self) -> dict[str, tuple[int, int, int, bytes | None]]:
        found: dict[str, tuple[int, int, int, bytes | None]] = {}
        for dirpath, dirs, files in os.walk(self.root):
            for name in [".", *dirs, *files]:
                path = Path(dirpath) / name
                st = path.lstat()
                data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
                found[str(path.relative_to(self.root))] = (st.st_mode, st.st_mtime_ns, st.st_nlink, data)
        return found

    def check(self, *, linked: bool = False) -> None:
        """Nothing was written (names, bytes, modes, mtimes) and the tripwire was never opened. ``linked``: the
        test itself hard-linked ``secret.txt`` into a run (its link count is then not compared)."""
        assert not self.tripped.is_set(), "something opened a FIFO outside the workspace through a planted link"
        now = self.snapshot()
        expected = dict(self.before)
        if linked:
            mode, mtime, _, data = expected["secret.txt"]
            expected["secret.txt"] = (mode, mtime, now["secret.txt"][2], data)
        assert now == expected

    def close(self) -> None:
        if not self.tripped.is_set():  # release the watcher
            fd = os.open(self.root / "trip.fifo", os.O_RDONLY | os.O_NONBLOCK)
            self._thread.join(timeout=5)
            os.close(fd)


@pytest.fixture
def sentinel(tmp_path: Path) -> object:
    s = Sentinel(tmp_path / "outside-home")
    yield s
    s.close()


def linked(plant: Plant) -> bool:
    return plant.id == "hard-link-outside"
