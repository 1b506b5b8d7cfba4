"""The examples validate, and their graphs (and a tricky pipeline's) match the golden files byte for byte.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/cli`` and review
the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Invoke

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
GOLDEN = Path(__file__).parent / "golden"
TRICKY = Path(__file__).parent / "pipelines" / "tricky.yml"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

EXTENSIONS = {"mermaid": "mmd", "dot": "dot", "json": "json"}
NAMES = ("fan-out", "geodata", "multi-language", "text-processing")
STEP_COUNTS = {"fan-out": 6, "geodata": 4, "multi-language": 4, "text-processing": 6}


def test_every_example_is_tested() -> None:
    found = sorted(path.name for path in EXAMPLES.iterdir() if (path / "pipeline.yml").is_file())
    assert found == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_validates(invoke: Invoke, name: str) -> None:
    result = invoke(["validate", str(EXAMPLES / name)])
    assert (result.exit_code, result.stderr) == (0, "")
    shown = EXAMPLES / name / "pipeline.yml"
    assert result.stdout == f'ok: {shown}: valid pipeline "{name}" ({STEP_COUNTS[name]} steps)\n'


@pytest.mark.parametrize("name", NAMES)
def test_example_has_a_readme(name: str) -> None:
    readme = (EXAMPLES / name / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {name}\n")
    assert f"pipex run examples/{name}" in readme


@pytest.mark.parametrize("fmt", EXTENSIONS)
@pytest.mark.parametrize("name", [*NAMES, "tricky"])
def test_graph_matches_golden(invoke: Invoke, name: str, fmt: str) -> None:
    path = TRICKY if name == "tricky" else EXAMPLES / name
    result = invoke(["graph", str(path), "--format", fmt])
    assert (result.exit_code, result.stderr) == (0, "")
    golden = GOLDEN / f"{name}.{EXTENSIONS[fmt]}"
    if UPDATE:
        golden.write_bytes(result.stdout_bytes)
    assert result.stdout_bytes == golden.read_bytes()
