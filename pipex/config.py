"""Every environment variable pipex reads, and its default directories.

Functions that read the environment take ``environ: Mapping[str, str] | None`` (``None`` = ``os.environ``),
so tests pass a dict instead of patching the process.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

# Names of the environment variables pipex itself reads.
PIPEX_WORKDIR = "PIPEX_WORKDIR"
PIPEX_DEBUG = "PIPEX_DEBUG"
PIPEX_PLAIN_HELP = "PIPEX_PLAIN_HELP"
# Directories whose .pipex.yml and kit files are trusted whoever owns them (git's safe.directory): a list
# separated by ":"; "DIR/*" trusts DIR and everything under it, "*" everything.
PIPEX_SAFE_DIRECTORIES = "PIPEX_SAFE_DIRECTORIES"
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


@dataclass(frozen=True, slots=True)
class Distrust:
    """Why a file that configures pipex or holds kit code is not obeyed: ``reason`` and the ``fix``."""

    path: Path
    reason: str
    fix: str


def distrust(
    path: Path,
    *,
    directory_too: bool = False,
    allow_root: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Distrust | None:
    """Why ``path`` may not be obeyed, or ``None`` when it may.

    git's ``safe.directory`` rule: the file must belong to the current user (``allow_root``: or to root, for
    installed packages) and nobody else may write it (group or others), else another user could decide what
    pipex runs. ``directory_too`` applies the same to its directory (code: a folder others can write lets them
    put a module next to it). A directory listed in ``$PIPEX_SAFE_DIRECTORIES`` is trusted as it is.
    """
    folder = path.absolute().parent
    if _listed_safe(folder, environ):
        return None
    for target in (path, folder) if directory_too else (path,):
        try:
            info = target.stat()  # what the name leads to: a link is judged by its target
        except OSError:
            return None  # gone or unreadable: reading it reports that
        euid = os.geteuid()
        if info.st_uid != euid and not (allow_root and info.st_uid == 0):
            owner, you = _user(info.st_uid), _user(euid)
            fix = f"if you trust it, export {PIPEX_SAFE_DIRECTORIES}={folder} or run: sudo chown {you} {target}"
            return Distrust(target, f"it belongs to {owner}, not to you ({you})", fix)
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return Distrust(target, "other users can write to it", f"chmod go-w {target}")
    return None


def _listed_safe(folder: Path, environ: Mapping[str, str] | None) -> bool:
    entries = [entry for entry in env(environ).get(PIPEX_SAFE_DIRECTORIES, "").split(os.pathsep) if entry]
    for entry in entries:
        if entry == "*":
            return True
        if entry.endswith("/*"):
            if folder.is_relative_to(Path(entry[:-2]).expanduser().absolute()):
                return True
        elif folder == Path(entry).expanduser().absolute():
            return True
    return False


def _user(uid: int) -> str:
    import pwd  # lazy: only needed to word a refusal

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
