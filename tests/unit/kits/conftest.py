"""Fixtures for the kit tests: a project directory and pipelines built from step dicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipex.model.pipeline import Pipeline
from pipex.model.project import ProjectConfig
from pipex.model.step import Step

MakePipeline = Callable[..., Pipeline]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory, also the current directory."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def make(project: Path) -> MakePipeline:
    """``make(step, ..., kits=None)``: a pipeline rooted in ``project``; ``kits`` adds a ``.pipex.yml``."""

    def build(*steps: dict[str, Any], kits: dict[str, str] | None = None) -> Pipeline:
        config_path = None
        if kits is not None:
            config_path = project / ".pipex.yml"
            config_path.write_text("kits: {}\n")
        return Pipeline.create(
            id="p",
            name=None,
            steps=[Step.model_validate({"id": f"s{i}", **step}) for i, step in enumerate(steps)],
            root=project,
            boundary=project,
            config=ProjectConfig(kits=kits or {}),
            config_path=config_path,
        )

    return build
