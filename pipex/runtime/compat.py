"""Small pieces both HTTP backends share: image config parsing, version parsing, the hold binary, exec waits."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipex.errors import ContainerFailed, FeatureUnsupported
from pipex.runtime.base import ImageRef, _frozen

# Where ``hold`` containers find the pause process: Podman's own init binary (catatonit is statically linked, so
# it runs in any image, even one without a libc), bind-mounted read-only.
HOLD_CANDIDATES = (
    Path("/usr/libexec/podman/catatonit"),
    Path("/usr/bin/catatonit"),
    Path("/usr/lib/podman/catatonit"),
    Path("/usr/local/libexec/podman/catatonit"),
)
HOLD_TARGET = "/.pipex/catatonit"


def hold_binary(candidates: tuple[Path, ...] = HOLD_CANDIDATES) -> Path:
    for path in candidates:
        if path.exists():
            return path.resolve()
    raise FeatureUnsupported(
        "hold (a pause process for setup then run)",
        "n/a",
        needs="catatonit on the engine's host",
        hint="install catatonit (it ships with podman: `apt install catatonit` / `dnf install catatonit`)",
    )


def parse_version(text: str) -> tuple[int, ...]:
    """``"4.3.1"`` → ``(4, 3, 1)``; suffixes such as ``-dev`` or ``+ds1`` are ignored."""
    return tuple(int(part) for part in re.findall(r"\d+", text.split("-", maxsplit=1)[0].split("+", maxsplit=1)[0])[:3])


def image_ref(reference: str, inspect: dict[str, Any]) -> ImageRef:
    config = inspect.get("Config") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or () if "=" in item)
    digests = inspect.get("RepoDigests") or []
    return ImageRef(
        reference=reference,
        id=str(inspect.get("Id", "")),
        digest=str(digests[0]) if digests else None,
        entrypoint=tuple(config.get("Entrypoint") or ()),
        cmd=tuple(config.get("Cmd") or ()),
        user=str(config.get("User") or ""),
        workdir=str(config.get("WorkingDir") or ""),
        env=_frozen(env),
    )


def wait_exec(inspect: Callable[[], Any], *, limit: float = 30.0) -> int:
    """The exit code of a finished exec; engines may report it a moment after the stream closed."""
    deadline = time.monotonic() + limit
    delay = 0.005
    while True:
        data = inspect()
        if not data.get("Running") and data.get("ExitCode") is not None:
            return int(data["ExitCode"])
        if time.monotonic() > deadline:
            raise ContainerFailed("exec: the engine never reported the exit code")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
