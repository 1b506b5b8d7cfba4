from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pipex.errors import PipelineError, Problem
from pipex.model import Pipeline, Step, load


def raw(step_id: str, *inputs: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "image": "alpine", "cmd": ["true"], "inputs": [{"step": s} for s in inputs], **extra}


DIAMOND = {
    "id": "diamond",
    "steps": [raw("d", "b", "c"), raw("b", "a"), raw("c", "a"), raw("a"), raw("e")],
}


@pytest.fixture
def diamond(tmp_path: Path) -> Pipeline:
    return Pipeline.from_dict(DIAMOND, root=tmp_path)


def test_lookup_and_edges(diamond: Pipeline) -> None:
    assert diamond.step("b").inputs[0].step == "a"
    assert diamond.dependencies("d") == ["b", "c"]
    assert diamond.dependents("a") == ["b", "c"]
    assert diamond.dependents("d") == []
    assert diamond.downstream() == {"d": [], "b": ["d"], "c": ["d"], "a": ["b", "c"], "e": []}
    assert diamond.ids == ["d", "b", "c", "a", "e"]


def test_unknown_step_lookup_suggests(diamond: Pipeline) -> None:
    with pytest.raises(KeyError) as info:
        diamond.step("dd")
    assert info.value.args[0] == 'no step "dd" in pipeline "diamond"; did you mean "d"?'


def test_topological_order_breaks_ties_in_file_order(diamond: Pipeline) -> None:
    # among the steps that are ready, the earliest in the file goes first: d (index 0) before e (index 4)
    assert diamond.topological_order() == ["a", "b", "c", "d", "e"]


def test_optional_missing_inputs_are_not_dependencies(tmp_path: Path) -> None:
    data = {
        "id": "p",
        "steps": [raw("a"), {**raw("b"), "inputs": [{"step": "ghost", "optional": True}, {"step": "a"}]}],
    }
    pipeline = Pipeline.from_dict(data, root=tmp_path)
    assert pipeline.dependencies("b") == ["a"]


def test_from_dict_raises_with_every_problem(tmp_path: Path) -> None:
    data = {"id": "p", "steps": [raw("a", "b"), raw("b", "a"), {"id": "c", "image": "x"}]}
    with pytest.raises(PipelineError) as info:
        Pipeline.from_dict(data, root=tmp_path, source=tmp_path / "p.yml")
    assert info.value.problems == (
        Problem("steps[0].inputs[0].step", "dependency cycle: a → b → a", "remove one of these inputs"),
        Problem("steps[2]", 'missing "cmd": a step with "image" needs a command'),
    )
    assert info.value.message == f"invalid pipeline in {tmp_path / 'p.yml'}: 2 problems"


def test_validate_is_empty_for_a_valid_pipeline_and_sees_later_changes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    data = {"id": "p", "steps": [raw("a", mounts=[{"host": "data", "container": "/data"}])]}
    pipeline = Pipeline.from_dict(data, root=tmp_path)
    assert pipeline.validate() == []
    (tmp_path / "data").rmdir()
    assert pipeline.validate() == [
        Problem("steps[0].mounts[0].host", f"host path 'data' does not exist ({tmp_path.resolve() / 'data'})")
    ]


def test_validate_checks_a_pipeline_built_in_python(tmp_path: Path) -> None:
    steps = [Step(id="a", image="alpine", cmd=["true"]), Step(id="b", cmd=["x"], inputs=[{"step": "c"}])]  # type: ignore[list-item]
    pipeline = Pipeline(id="-bad", steps=steps)
    assert [str(p) for p in pipeline.validate()] == [
        'id: "-bad" is not a valid pipeline id (start with a letter or digit, then use letters, digits, "_" and "-")',
        'steps[1]: missing "image": a step with "cmd" needs an image',
        'steps[1].inputs[0].step: unknown step "c" (steps: a, b)',
    ]
    assert pipeline.root == Path.cwd()
    assert pipeline.source is None


def test_model_validate_drops_extensions_and_derives_ids() -> None:
    pipeline = Pipeline.model_validate({"name": "Mon Pipeline", "x-anchors": {}, "steps": []})
    assert (pipeline.id, pipeline.name) == ("mon-pipeline", "Mon Pipeline")
    with pytest.raises(ValidationError):
        Pipeline.model_validate({"id": "p", "stepz": []})


def test_steps_built_in_python_derive_their_id_from_the_name() -> None:
    assert Step(name="Étape 2", image="alpine", cmd=["true"]).id == "etape-2"
    with pytest.raises(ValidationError):
        Step(name="!!!", image="alpine", cmd=["true"])


def test_pipelines_are_frozen_values(diamond: Pipeline, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        diamond.id = "other"  # type: ignore[misc]
    assert Pipeline.from_dict(DIAMOND, root=tmp_path) == diamond


def test_a_copy_with_other_steps_has_their_edges(diamond: Pipeline) -> None:
    copied = diamond.model_copy(update={"steps": diamond.steps[1:4]})
    assert copied.ids == ["b", "c", "a"]
    assert copied.dependents("a") == ["b", "c"]
    with pytest.raises(KeyError):
        copied.step("d")


def test_a_copy_keeps_where_the_pipeline_came_from(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".pipex.yml").write_text("runtime: docker\n", encoding="utf-8")
    (tmp_path / "sub" / "pipeline.yml").write_text('id: p\nsteps:\n  - {id: a, image: alpine, cmd: ["true"]}\n')
    loaded = load(tmp_path / "sub", cwd=tmp_path, environ={"X": "1"})
    copied = loaded.model_copy(update={"steps": [loaded.steps[0].model_copy(update={"id": "b"})]})
    assert copied.ids == ["b"]
    origin = ("root", "source", "boundary", "config", "config_path", "environ")
    assert [getattr(copied, name) for name in origin] == [getattr(loaded, name) for name in origin]
    assert (copied.config.runtime, copied.boundary, copied.environ) == ("docker", tmp_path, {"X": "1"})


TRICKY = {
    "id": "tricky",
    "name": "Tricky values",
    "steps": [
        {
            "id": "a",
            "image": "alpine",
            "cmd": ["echo", "yes", "0o17", "1e3", "2024-01-01", "true", "null", "~", "", "<<", "- x", "a: b"],
            "env": {"ON": "on", "NUM": "010", "EMPTY": ""},
            "retries": 2,
            "timeoutSec": 1.5,
            "allowNetwork": False,
        },
        {
            "id": "b",
            "name": "Étape",
            "uses": "shell",
            "with": {"run": "echo hi", "packages": ["curl"]},
            "inputs": [{"step": "a", "copyToOutput": True}],
            "if": 'env.X == "true"',
        },
    ],
}


def test_to_yaml_round_trips_through_load(tmp_path: Path) -> None:
    pipeline = Pipeline.from_dict(TRICKY, root=tmp_path)
    text = pipeline.to_yaml()
    (tmp_path / "pipeline.yml").write_text(text, encoding="utf-8")
    again = load(tmp_path, cwd=tmp_path)
    assert again.model_dump() == pipeline.model_dump()
    assert "allowNetwork: false" in text
    assert "outputPath" not in text and "retryDelayMs" not in text and "optional" not in text


def test_to_dict_uses_file_names_and_leaves_defaults_out(tmp_path: Path) -> None:
    pipeline = Pipeline.from_dict({"id": "p", "steps": [raw("a", envFile=None)]}, root=tmp_path)
    assert pipeline.to_dict() == {"id": "p", "steps": [{"id": "a", "image": "alpine", "cmd": ["true"]}]}


def test_graph_delegates_to_the_renderer(diamond: Pipeline) -> None:
    text = diamond.graph()
    assert text.startswith("flowchart")
    assert diamond.graph("json") != text


def test_importing_the_model_package_is_lazy() -> None:
    code = "import sys, pipex.model; print('pydantic' in sys.modules, 'yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
