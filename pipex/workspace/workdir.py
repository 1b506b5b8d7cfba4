"""The workdir (the folder holding the workspaces): one rule for every command and the Python API.

``--workdir`` > ``$PIPEX_WORKDIR`` > ``.pipex.yml`` ``workdir:`` > the user data dir. The workspace layer does
not read ``.pipex.yml`` (that is the model's file format): callers pass ``configured``, the file's ``workdir:``
already resolved (``pipex.model.project.find_configured_workdir``), or a function giving it, called only when
neither ``--workdir`` nor ``$PIPEX_WORKDIR`` decides — so ``pipex show`` with ``--workdir`` reads no file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from pipex import config

Configured = Path | Callable[[], Path | None] | None


def resolve_workdir(
    workdir: str | Path | None, *, configured: Configured = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The absolute workdir: ``workdir`` (``--workdir``) > ``$PIPEX_WORKDIR`` > ``configured`` > the default."""
    if workdir is not None and str(workdir):
        return Path(workdir).expanduser().absolute()
    env = config.env(environ)
    if env.get(config.PIPEX_WORKDIR):
        return Path(env[config.PIPEX_WORKDIR]).expanduser().absolute()
    found = configured() if callable(configured) else configured
    if found is not None:
        return found.absolute()
    return config.default_workdir()
