"""Every environment variable pipex reads, and its default directories.

Functions that read the environment take ``environ: Mapping[str, str] | None`` (``None`` = ``os.environ``),
so tests pass a dict instead of patching the process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args

# Names of the environment variables pipex itself reads.
PIPEX_WORKDIR = "PIPEX_WORKDIR"
PIPEX_DEBUG = "PIPEX_DEBUG"
PIPEX_PLAIN_HELP = "PIPEX_PLAIN_HELP"
NO_COLOR = "NO_COLOR"
CONTAINER_HOST = "CONTAINER_HOST"
DOCKER_HOST = "DOCKER_HOST"
XDG_RUNTIME_DIR = "XDG_RUNTIME_DIR"
XDG_CACHE_HOME = "XDG_CACHE_HOME"
HOME = "HOME"
# Seconds a private Podman service pipex started stays after its last command (0: one per command).
PIPEX_SERVICE_IDLE = "PIPEX_SERVICE_IDLE"

# Which engine to use: ``--runtime``, ``.pipex.yml``'s ``runtime:``, ``Engine(runtime=…)``. Here because every
# layer names it (the model validates it, the runtime discovers by it, the CLI parses it) and none may import
# another's copy.
RuntimeKind = Literal["auto", "podman", "docker"]
RUNTIME_KINDS: tuple[RuntimeKind, ...] = get_args(RuntimeKind)

CONFIG_FILE_NAME = ".pipex.yml"
PIPELINE_FILE_NAMES = ("pipeline.yml", "pipeline.yaml", "pipeline.json")


def env(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def debug_enabled(environ: Mapping[str, str] | None = None) -> bool:
    return env(environ).get(PIPEX_DEBUG, "") not in ("", "0", "false")


def default_workdir() -> Path:
    """The user data dir (``~/.local/share/pipex/workspaces`` on Linux)."""
    import platformdirs  # lazy: keeps `pipex --version` fast

    return Path(platformdirs.user_data_dir("pipex")) / "workspaces"


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user cache dir (``$XDG_CACHE_HOME/pipex``, else ``~/.cache/pipex`` on Linux): only facts that can be
    thrown away and found again (e.g. the engine's info per socket)."""
    xdg = env(environ).get(XDG_CACHE_HOME, "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "pipex"
    import platformdirs  # lazy: keeps `pipex --version` fast

    return Path(platformdirs.user_cache_dir("pipex"))
