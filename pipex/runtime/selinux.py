"""SELinux relabel choices for bind mounts, and the system paths pipex refuses to relabel.

When SELinux is enforcing, a container can only read host files labelled for containers. Inputs and mounts
are shared between containers (``:z``, the shared label); a step's output and caches get the private label
(``:Z``, only this container). Relabelling rewrites the labels of the host tree, so doing it to ``$HOME``,
``/usr`` or ``/etc`` would break the host: those are refused with a way out. Pure functions: callers pass
absolute, symlink-resolved paths and the facts (enforcing, label disabled, home).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Literal

from pipex.errors import UnsafePath
from pipex.runtime.base import Relabel

Role = Literal["input", "mount", "output", "cache"]

# Relabelling these directories themselves would break the host (or every user's home); their subdirectories
# (``/srv/data``, ``/tmp/x``, ``/home/me/data``) are ordinary data.
_SYSTEM_DIRS = frozenset(
    {
        "/",
        "/home",
        "/root",
        "/run",
        "/tmp",
        "/var",
        "/var/lib",
        "/var/log",
        "/var/tmp",
        "/opt",
        "/srv",
        "/mnt",
        "/media",
    }
)
# Everything below these belongs to the operating system.
_SYSTEM_TREES = (
    "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/proc", "/sys",
    "/var/lib/containers", "/var/lib/docker",
)  # fmt: skip


def refusal(path: str | os.PathLike[str], *, home: str | None) -> str | None:
    """Why relabelling ``path`` is refused, or ``None`` when it is fine."""
    norm = os.path.normpath(os.fspath(path))
    if not norm.startswith("/"):
        return f"cannot decide the SELinux label of a relative path {norm!r}"
    norm = "/" + norm.lstrip("/")  # normpath keeps a leading "//"
    if home and norm == os.path.normpath(home):
        return f"refusing to relabel your home directory {norm} for SELinux"
    if norm in _SYSTEM_DIRS:
        return f"refusing to relabel the system directory {norm} for SELinux"
    pure = PurePosixPath(norm)
    for tree in _SYSTEM_TREES:
        if pure == PurePosixPath(tree) or pure.is_relative_to(tree):
            return f"refusing to relabel {norm} for SELinux: it belongs to the system ({tree})"
    return None


def choose_relabel(
    role: Role,
    path: str | os.PathLike[str],
    *,
    enforcing: bool,
    label_disabled: bool = False,
    home: str | None = None,
) -> Relabel | None:
    """The relabel choice for a bind mount of ``path`` used as ``role``.

    ``None`` when SELinux is not enforcing or the step set ``securityOpt: [label=disable]``; raises
    ``UnsafePath`` for a path that must not be relabelled.
    """
    if not enforcing or label_disabled:
        return None
    why = refusal(path, home=home)
    if why is not None:
        raise UnsafePath(
            why,
            hint="move the data into a directory of its own (e.g. under your workdir), "
            "or set `securityOpt: [label=disable]` on the step to run it without SELinux separation",
        )
    return "shared" if role in ("input", "mount") else "private"


def mount_option(relabel: Relabel | None) -> str | None:
    """The engine's bind option for a relabel choice (``z``, ``Z`` or none)."""
    return {"shared": "z", "private": "Z", None: None}[relabel]
