"""matrix/foreach checked when the pipeline loads; instance keys are stable and safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipex.errors import PipelineError
from pipex.model import load
from pipex.model.fanout import item_key, matrix_key, source_of, substitute


def problems_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "pipeline.yml").write_text(text)
    with pytest.raises(PipelineError) as info:
        load(tmp_path / "pipeline.yml", cwd=tmp_path)
    return [str(problem) for problem in info.value.problems] or [info.value.message]


def test_keys_come_from_the_values_only() -> None:
    assert matrix_key({"region": "eu", "format": "csv"}) == "eu-csv"
    assert item_key("a.csv") == "a.csv" and item_key(3) == "3" and item_key(True) == "true"
    assert item_key({"region": "eu", "n": 1}) == "1-eu"
    spaced = item_key("a b")
    assert spaced.startswith("a-b-") and len(spaced) == len("a-b-") + 8 and spaced != item_key("a-b")
    assert item_key("../etc") != "../etc" and "/" not in item_key("x/y")
    assert item_key(".hidden").split("-")[0] == "hidden"


def test_substitution_and_sources() -> None:
    assert substitute("${{ matrix.a }}/${{item}}", {"a": 1}, None, False) == "1/${{item}}"
    assert substitute("${{ item.f }} ${{ item }}", None, {"f": "x"}, True) == 'x {"f":"x"}'
    assert source_of("steps.list.outputs.files") is not None
    assert source_of('steps["l-1"].outputs["a-b"]') == source_of('steps["l-1"].outputs["a-b"]')
    assert source_of("env.X") is None and source_of("steps.list.status") is None


def test_load_time_errors(tmp_path: Path) -> None:
    text = """
id: p
steps:
  - {id: list, image: alpine, cmd: [l]}
  - id: both
    image: alpine
    cmd: [b]
    matrix: {a: [1]}
    foreach: [1]
  - id: empty
    image: alpine
    cmd: ["${{ matrix.b }} ${{ item }} ${{ secrets.X }}"]
    matrix: {a: [], c: [1, 1]}
  - id: reads
    image: alpine
    cmd: [r]
    foreach: steps.list.outputs.files
  - id: bad
    image: alpine
    cmd: [r]
    foreach: env.FILES
    maxParallel: 0
"""
    assert problems_of(tmp_path, text) == [
        'steps[1].foreach: a step has "matrix" or "foreach", not both',
        "steps[2].cmd[0]: ${{ matrix.b }}: unknown matrix name (its names: a, c)",
        'steps[2].cmd[0]: ${{ item }}: the step has no "foreach"',
        "steps[2].cmd[0]: ${{ secrets.X }}: only matrix.NAME, item and item.FIELD are substituted",
        "steps[2].matrix.a: must not be empty: give at least one value",
        "steps[2].matrix.c: lists a value twice",
        'steps[3].foreach: reads step "list", which is not an input of this step (add {step: list} to "inputs")',
        'steps[4].foreach: expected "steps.<id>.outputs.<key>", a list, or {step: <id>}',
        "steps[4].maxParallel: must be at least 1",
    ]


def test_a_matrix_larger_than_the_cap_is_an_error(tmp_path: Path) -> None:
    values = list(range(101))
    text = f"id: p\nsteps:\n  - {{id: a, image: x, cmd: [c], matrix: {{x: {values}, y: {values}}}}}\n"
    assert problems_of(tmp_path, text) == ["steps[0].matrix: makes 10,201 instances, at most 10,000 (split the step)"]
