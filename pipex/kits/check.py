"""A whole pipeline's check: the model's problems and the kits' (parameters, templates, kit files), in file order.

The model knows nothing of kits; this layer above it hands the kits' check down as ``extra``. ``pipex.load``,
``pipex validate``, ``pipex run`` and ``pipex graph`` all load through here, so they report the same problems.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipex.errors import Problem
from pipex.model.loader import load as load_model
from pipex.model.pipeline import Pipeline
from pipex.model.project import ProjectConfig


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Pipeline:
    """``pipex.model.loader.load`` with the kits' checks: raises ``PipelineError`` with every problem."""
    return load_model(path, cwd=cwd, environ=environ, extra=kit_check)


def from_dict(
    data: Any,
    *,
    root: Path,
    source: Path | None = None,
    boundary: Path | None = None,
    environ: Mapping[str, str] | None = None,
    config: ProjectConfig | None = None,
    config_path: Path | None = None,
) -> Pipeline:
    """``Pipeline.from_dict`` with the kits' checks."""
    return Pipeline.from_dict(
        data,
        root=root,
        source=source,
        boundary=boundary,
        environ=environ,
        config=config,
        config_path=config_path,
        extra=kit_check,
    )


def problems(pipeline: Pipeline) -> list[Problem]:
    """Every problem of ``pipeline`` now, the kits' included (``Pipeline.validate`` has the model's only)."""
    return pipeline.validate(kit_check)


def kit_check(pipeline: Pipeline) -> list[Problem]:
    """The kits' problems of ``pipeline`` (the ``extra`` check the model's functions take)."""
    if not any(step.uses for step in pipeline.steps):
        return []
    # start-up: the kits' resolver costs ~13 ms to import; `validate` of a pipeline without kit steps skips it
    from pipex.kits.resolve import kit_problems

    return kit_problems(pipeline)
