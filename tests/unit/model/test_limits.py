"""One memory grammar for ``validate`` and ``run``: what validates is what the engine gets, and the reverse."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipex.engine.limits import to_resources
from pipex.errors import PipelineError, Problem
from pipex.kits.resolve import resolve_steps
from pipex.model import Pipeline
from pipex.model.limits import parse_memory
from pipex.runtime.base import Resources

MIB = 1024**2


def pipeline(tmp_path: Path, memory: str) -> Pipeline:
    step = {"id": "a", "image": "alpine", "cmd": ["true"], "resources": {"memory": memory}}
    return Pipeline.from_dict({"id": "p", "steps": [step]}, root=tmp_path)


@pytest.mark.parametrize(("text", "size"), [("512MIB", 512 * MIB), ("1Gi", 1024 * MIB), (".5g", 512 * MIB)])
def test_a_size_that_validates_is_the_size_the_run_gets(tmp_path: Path, text: str, size: int) -> None:
    (spec,) = resolve_steps(pipeline(tmp_path, text))
    assert to_resources(spec.resources) == Resources(memory=size)


def test_a_size_the_run_refuses_fails_validation(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        pipeline(tmp_path, "1k")
    assert caught.value.problems == (
        Problem("steps[0].resources.memory", '"1k" is less than 6m, the least memory an engine accepts'),
    )
    with pytest.raises(ValueError, match=r"^memory must be at least 6m, the least an engine accepts \(got '1k'\)$"):
        parse_memory("1k")


@pytest.mark.parametrize("text", ["512ib", "2x", "1 k b"])
def test_what_is_not_a_size_fails_validation(tmp_path: Path, text: str) -> None:
    with pytest.raises(PipelineError) as caught:
        pipeline(tmp_path, text)
    assert caught.value.problems == (
        Problem(
            "steps[0].resources.memory",
            f'"{text}" is not a memory size',
            'a number with an optional unit: "512m", "2g", "1GiB"',
        ),
    )
