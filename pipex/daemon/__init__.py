"""Detached runs: a background pipex process that owns the workspace lock and logs every event (``spawn``,
``child``), and the readers that follow or stop it (``follow``, ``cancel``); ``eventlog`` is the file format.

The Python API of detached runs (the daemon layer wraps the engine; the engine knows nothing of it)::

    started = pipex.daemon.start(engine, pipeline, workspace="demo")   # a pipex.DetachedRun
    async for event in pipex.daemon.attach(engine, "demo"): ...

Names are imported on first use, so ``pipex cancel`` does not load the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipex.daemon.follow import attach
    from pipex.daemon.spawn import DetachedRun, start

__all__ = ["DetachedRun", "attach", "start"]

_HOMES = {"start": "spawn", "DetachedRun": "spawn", "attach": "follow"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pipex.daemon' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pipex.daemon.{home}"), name)
