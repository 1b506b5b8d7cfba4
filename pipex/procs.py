"""Processes on this machine: the one answer to "is pid N still running?" for every layer.

Beside ``config.py`` and ``errors.py`` at the bottom of the layers (any package may import it; it imports only
the standard library): the runtime's reaper asks it about the pipex that labelled a container, the private
Podman service about the engine it started, and a workspace may ask it about the holder of a lock.
"""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid is running here (in this pid namespace).

    ``False`` for ``pid <= 0`` (never a single process: ``kill(0, …)`` means "my process group") and for a zombie
    (exited, not yet reaped: it holds nothing any more). A process of another user is alive (``EPERM``).
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (or it just exited): signal 0 answered, so count it alive
    # The state follows the command name in parentheses, which may itself hold ") ": split at the last one.
    _, _, rest = stat.rpartition(") ")
    return rest.startswith("Z")
