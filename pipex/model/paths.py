"""The path rules of the pipeline format: host paths stay in the project, container paths stay sane."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pipex.model.bounds import path_problem

_SLASHES = re.compile(r"/{2,}")


def resolve_host_path(value: str, *, root: Path, boundary: Path) -> Path:
    """``value`` (relative to ``root``) as an absolute, symlink-resolved path inside ``boundary``.

    Raises ``ValueError`` with the message to show when the path is empty, absolute, escapes the boundary
    (after following symlinks, so a link cannot smuggle ``/etc`` into a container) or does not exist.
    """
    if not value:
        raise ValueError("a host path must not be empty")
    if "\x00" in value:
        raise ValueError("a host path must not contain a NUL byte")
    if too_long := path_problem(value):
        raise ValueError(f"host path {too_long}")
    if value.startswith(("/", "~")) or Path(value).is_absolute():
        raise ValueError(f"host path {value!r} must be relative to the pipeline root {root}")
    resolved = (root / value).resolve()
    fence = boundary.resolve()
    if not resolved.is_relative_to(fence):
        raise ValueError(f"host path {value!r} resolves to {resolved}, outside the project directory {fence}")
    if not resolved.exists():
        raise ValueError(f"host path {value!r} does not exist ({resolved})")
    return resolved


@functools.lru_cache(maxsize=4096)  # pure; big pipelines repeat the same few paths
def check_container_path(value: str) -> str | None:
    """Why ``value`` is not a usable container path, or ``None`` when it is."""
    if not value:
        return "a container path must not be empty"
    if too_long := path_problem(value):
        return f"container path {too_long}"
    if not value.startswith("/"):
        return f"container path {value!r} must be absolute (start with /)"
    parts = [part for part in _SLASHES.sub("/", value).split("/") if part]
    if ".." in parts:
        return f'container path {value!r} must not contain ".."'
    normal = "/" + "/".join(part for part in parts if part != ".")
    if normal == "/":
        return 'a container path must not be "/"'
    if normal == "/input" or normal.startswith("/input/"):
        return f"container path {value!r} is under /input, which pipex reserves for step inputs"
    return None


@functools.lru_cache(maxsize=4096)
def normal_container_path(value: str) -> str:
    """``value`` with duplicate slashes, ``.`` parts and a trailing slash removed (for comparisons)."""
    parts = [part for part in value.split("/") if part and part != "."]
    return "/" + "/".join(parts)
