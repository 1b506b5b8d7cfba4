"""The pipeline model: loading (YAML 1.2 / JSON, discovery), the pydantic models, and validation.

Names are imported lazily so that ``import pipex.model`` stays cheap (pydantic is loaded on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipex.model.handwritten.dotenv import load_dotenv, parse_dotenv
    from pipex.model.loader import load
    from pipex.model.pipeline import Pipeline
    from pipex.model.project import ProjectConfig, find_project_config
    from pipex.model.slug import slugify
    from pipex.model.step import Cache, Input, Mount, Resources, Setup, Step

__all__ = [
    "Cache",
    "Input",
    "Mount",
    "Pipeline",
    "ProjectConfig",
    "Resources",
    "Setup",
    "Step",
    "find_project_config",
    "load",
    "load_dotenv",
    "parse_dotenv",
    "slugify",
]

_HOMES = {
    "load": "loader",
    "Pipeline": "pipeline",
    "ProjectConfig": "project",
    "find_project_config": "project",
    "slugify": "slug",
    "parse_dotenv": "handwritten.dotenv",
    "load_dotenv": "handwritten.dotenv",
    "Step": "step",
    "Input": "step",
    "Mount": "step",
    "Cache": "step",
    "Setup": "step",
    "Resources": "step",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pipex.model' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pipex.model.{home}"), name)
