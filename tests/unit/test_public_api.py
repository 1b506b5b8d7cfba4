"""The public surface of ``pipex`` is exactly this list: adding or removing a name is a deliberate change."""

from __future__ import annotations

import pipex

PUBLIC = [
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


def test_all_is_pinned() -> None:
    assert pipex.__all__ == PUBLIC


def test_every_public_name_resolves() -> None:
    for name in pipex.__all__:
        assert getattr(pipex, name) is not None, name
