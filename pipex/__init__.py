"""pipex: run data pipelines as rootless containers (Podman first, Docker socket as the fallback).

The public API is listed in ``__all__`` (pinned by a test). Names are imported lazily on first use, so
``import pipex`` (and ``pipex --version``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # loading and the model
    "load": "pipex.model",
    "Pipeline": "pipex.model",
    "PipelineBuilder": "pipex.model.builder",
    "Step": "pipex.model",
    "slugify": "pipex.model",
    "Problem": "pipex.errors",
    # running
    "Engine": "pipex.engine.engine",
    "DetachedRun": "pipex.daemon.spawn",
    "RunResult": "pipex.engine.events",
    "StepOutcome": "pipex.engine.events",
    "Metrics": "pipex.engine.events",
    "Event": "pipex.engine.events",
    "PipelineStart": "pipex.engine.events",
    "StepStart": "pipex.engine.events",
    "StepLog": "pipex.engine.events",
    "StepRetry": "pipex.engine.events",
    "StepCached": "pipex.engine.events",
    "StepSkipped": "pipex.engine.events",
    "StepWouldRun": "pipex.engine.events",
    "StepEnd": "pipex.engine.events",
    "ImagePull": "pipex.engine.events",
    "PipelineEnd": "pipex.engine.events",
    "RunWarning": "pipex.engine.events",
    # errors
    "PipexError": "pipex.errors",
    "UsageError": "pipex.errors",
    "PipelineError": "pipex.errors",
    "KitError": "pipex.errors",
    "ConfigError": "pipex.errors",
    "EngineRuntimeError": "pipex.errors",
    "RuntimeUnavailable": "pipex.errors",
    "ImageNotFound": "pipex.errors",
    "ImagePullFailed": "pipex.errors",
    "ContainerFailed": "pipex.errors",
    "EngineError": "pipex.errors",
    "FeatureUnsupported": "pipex.errors",
    "WorkspaceError": "pipex.errors",
    "WorkspaceBusy": "pipex.errors",
    "WorkspaceNotFound": "pipex.errors",
    "UnsafePath": "pipex.errors",
    "Interrupted": "pipex.errors",
}

__all__ = [
    "ConfigError",
    "ContainerFailed",
    "DetachedRun",
    "Engine",
    "EngineError",
    "EngineRuntimeError",
    "Event",
    "FeatureUnsupported",
    "ImageNotFound",
    "ImagePull",
    "ImagePullFailed",
    "Interrupted",
    "KitError",
    "Metrics",
    "Pipeline",
    "PipelineBuilder",
    "PipelineEnd",
    "PipelineError",
    "PipelineStart",
    "PipexError",
    "Problem",
    "RunResult",
    "RunWarning",
    "RuntimeUnavailable",
    "Step",
    "StepCached",
    "StepEnd",
    "StepLog",
    "StepOutcome",
    "StepRetry",
    "StepSkipped",
    "StepStart",
    "StepWouldRun",
    "UnsafePath",
    "UsageError",
    "WorkspaceBusy",
    "WorkspaceError",
    "WorkspaceNotFound",
    "__version__",
    "load",
    "slugify",
]

if TYPE_CHECKING:
    from pipex.daemon.spawn import DetachedRun
    from pipex.engine.engine import Engine
    from pipex.engine.events import (
        Event,
        ImagePull,
        Metrics,
        PipelineEnd,
        PipelineStart,
        RunResult,
        RunWarning,
        StepCached,
        StepEnd,
        StepLog,
        StepOutcome,
        StepRetry,
        StepSkipped,
        StepStart,
        StepWouldRun,
    )
    from pipex.errors import (
        ConfigError,
        ContainerFailed,
        EngineError,
        EngineRuntimeError,
        FeatureUnsupported,
        ImageNotFound,
        ImagePullFailed,
        Interrupted,
        KitError,
        PipelineError,
        PipexError,
        Problem,
        RuntimeUnavailable,
        UnsafePath,
        UsageError,
        WorkspaceBusy,
        WorkspaceError,
        WorkspaceNotFound,
    )
    from pipex.model import Pipeline, Step, load, slugify
    from pipex.model.builder import PipelineBuilder


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipex' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
