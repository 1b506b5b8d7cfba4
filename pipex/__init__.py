"""pipex: run data pipelines as rootless containers (Podman first, Docker socket as the fallback).

The public API is the keys of ``_EXPORTS`` (``__all__`` derives from it). Names are imported lazily on first
use, so ``import pipex`` (and ``pipex --version``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pipex.version import __version__ as __version__

_EXPORTS: dict[str, str] = {
    # loading and the model
    "load": "pipex.kits.check",
    "Pipeline": "pipex.model",
    "PipelineBuilder": "pipex.model.builder",
    "Step": "pipex.model",
    "slugify": "pipex.model",
    "Problem": "pipex.errors",
    # running
    "Engine": "pipex.engine.engine",
    "Secret": "pipex.model.secret",
    "DetachedRun": "pipex.daemon.spawn",
    "RunResult": "pipex.engine.events",
    "RunWarning": "pipex.engine.events",
    "RunError": "pipex.engine.events",
    "StepOutcome": "pipex.engine.events",
    "Metrics": "pipex.engine.events",
    "Event": "pipex.engine.events",
    "PipelineStart": "pipex.engine.events",
    "StepStart": "pipex.engine.events",
    "StepWarning": "pipex.engine.events",
    "StepLog": "pipex.engine.events",
    "StepRetry": "pipex.engine.events",
    "StepJob": "pipex.engine.events",
    "StepCached": "pipex.engine.events",
    "StepSkipped": "pipex.engine.events",
    "StepWaiting": "pipex.engine.events",
    "StepWouldRun": "pipex.engine.events",
    "StepEnd": "pipex.engine.events",
    "ImagePull": "pipex.engine.events",
    "PipelineEnd": "pipex.engine.events",
    # errors
    "PipexError": "pipex.errors",
    "UsageError": "pipex.errors",
    "PipelineError": "pipex.errors",
    "KitError": "pipex.errors",
    "NameTooLong": "pipex.errors",
    "ConfigError": "pipex.errors",
    "UnusableWorkdir": "pipex.errors",
    "NetworkUnavailable": "pipex.errors",
    "CommandNotFound": "pipex.errors",
    "EngineRuntimeError": "pipex.errors",
    "RuntimeUnavailable": "pipex.errors",
    "ImageNotFound": "pipex.errors",
    "ImagePullFailed": "pipex.errors",
    "ContainerFailed": "pipex.errors",
    "ContainerGone": "pipex.errors",
    "DiskFull": "pipex.errors",
    "EngineError": "pipex.errors",
    "FeatureUnsupported": "pipex.errors",
    "WorkspaceError": "pipex.errors",
    "WorkspaceBusy": "pipex.errors",
    "WorkspaceNotFound": "pipex.errors",
    "UnsafePath": "pipex.errors",
    "StoreError": "pipex.errors",
    "StoreCorrupt": "pipex.errors",
    "Interrupted": "pipex.errors",
    "SecretMissing": "pipex.errors",
}

# The public API is the keys of _EXPORTS (name → module), written only there: ``__all__`` derives from it, and
# tests check the imports below (for type checkers) and the event and error classes against it.
__all__ = sorted(["__version__", *_EXPORTS])  # noqa: PLE0605 - derived; the imports below re-export for type checkers

if TYPE_CHECKING:  # ``X as X``: re-exported for type checkers (``__all__`` is computed)
    from pipex.daemon.spawn import DetachedRun as DetachedRun
    from pipex.engine.engine import Engine as Engine
    from pipex.engine.events import Event as Event
    from pipex.engine.events import ImagePull as ImagePull
    from pipex.engine.events import Metrics as Metrics
    from pipex.engine.events import PipelineEnd as PipelineEnd
    from pipex.engine.events import PipelineStart as PipelineStart
    from pipex.engine.events import RunError as RunError
    from pipex.engine.events import RunResult as RunResult
    from pipex.engine.events import RunWarning as RunWarning
    from pipex.engine.events import StepCached as StepCached
    from pipex.engine.events import StepEnd as StepEnd
    from pipex.engine.events import StepJob as StepJob
    from pipex.engine.events import StepLog as StepLog
    from pipex.engine.events import StepOutcome as StepOutcome
    from pipex.engine.events import StepRetry as StepRetry
    from pipex.engine.events import StepSkipped as StepSkipped
    from pipex.engine.events import StepStart as StepStart
    from pipex.engine.events import StepWaiting as StepWaiting
    from pipex.engine.events import StepWarning as StepWarning
    from pipex.engine.events import StepWouldRun as StepWouldRun
    from pipex.errors import CommandNotFound as CommandNotFound
    from pipex.errors import ConfigError as ConfigError
    from pipex.errors import ContainerFailed as ContainerFailed
    from pipex.errors import ContainerGone as ContainerGone
    from pipex.errors import DiskFull as DiskFull
    from pipex.errors import EngineError as EngineError
    from pipex.errors import EngineRuntimeError as EngineRuntimeError
    from pipex.errors import FeatureUnsupported as FeatureUnsupported
    from pipex.errors import ImageNotFound as ImageNotFound
    from pipex.errors import ImagePullFailed as ImagePullFailed
    from pipex.errors import Interrupted as Interrupted
    from pipex.errors import KitError as KitError
    from pipex.errors import NameTooLong as NameTooLong
    from pipex.errors import NetworkUnavailable as NetworkUnavailable
    from pipex.errors import PipelineError as PipelineError
    from pipex.errors import PipexError as PipexError
    from pipex.errors import Problem as Problem
    from pipex.errors import RuntimeUnavailable as RuntimeUnavailable
    from pipex.errors import SecretMissing as SecretMissing
    from pipex.errors import StoreCorrupt as StoreCorrupt
    from pipex.errors import StoreError as StoreError
    from pipex.errors import UnsafePath as UnsafePath
    from pipex.errors import UnusableWorkdir as UnusableWorkdir
    from pipex.errors import UsageError as UsageError
    from pipex.errors import WorkspaceBusy as WorkspaceBusy
    from pipex.errors import WorkspaceError as WorkspaceError
    from pipex.errors import WorkspaceNotFound as WorkspaceNotFound
    from pipex.kits.check import load as load
    from pipex.model import Pipeline as Pipeline
    from pipex.model import Step as Step
    from pipex.model import slugify as slugify
    from pipex.model.builder import PipelineBuilder as PipelineBuilder
    from pipex.model.secret import Secret as Secret


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipex' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
