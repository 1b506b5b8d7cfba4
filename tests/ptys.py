"""A pseudo-terminal for tests that need pipex to see a terminal, or a skip where none can be had.

A package build chroot (``make package`` runs the unit tests inside Debian's build root) has no ``/dev/pts``:
there a terminal cannot exist, so those tests skip; everywhere else they run.
"""

from __future__ import annotations

import pty

import pytest


def openpty() -> tuple[int, int]:
    try:
        return pty.openpty()
    except OSError as exc:  # "out of pty devices": no devpts mounted here
        pytest.skip(f"no pseudo-terminal can be opened here ({exc.strerror})")
