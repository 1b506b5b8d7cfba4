"""Conditions over upstream results and declared outputs: what is checked when the pipeline loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipex.errors import PipelineError
from pipex.model import load
from pipex.model.handwritten.condition import check, parse
from pipex.model.handwritten.condition_refs import StepReference, step_references


def problems_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "pipeline.yml").write_text(text)
    with pytest.raises(PipelineError) as info:
        load(tmp_path / "pipeline.yml", cwd=tmp_path)
    return [str(problem) for problem in info.value.problems] or [info.value.message]


def test_references_are_found_in_the_tree_in_dotted_and_bracket_forms() -> None:
    expr = parse('steps["my-step"].outputs["a-b"] == 1 || steps.c.status != "failure" && env.X || steps.c.outputs.o.k')
    refs, problems = step_references(expr)
    assert refs == [
        StepReference("c", "outputs", "o"),
        StepReference("c", "status"),
        StepReference("my-step", "outputs", "a-b"),
    ]
    assert problems == [] and str(refs[2]) == "steps.my-step.outputs.a-b"


def test_computed_or_partial_references_are_problems() -> None:
    _, problems = step_references(parse("steps[env.S].status || steps.c.outputs[env.K] || steps.c || steps.c.out"))
    assert sorted(problems) == [
        'a step must be named literally after "steps" (read "steps.<id>.outputs.<key>" or "steps.<id>.status")',
        "an output of c must be named literally (steps.c.outputs.<key>)",
        'steps.c is not an upstream result; read "steps.<id>.outputs.<key>" or "steps.<id>.status"',
        'steps.c.out is not an upstream result; read "steps.<id>.outputs.<key>" or "steps.<id>.status"',
    ]


def test_evaluation_sees_outputs_as_json_values_and_status() -> None:
    steps = {"c": {"status": "success", "outputs": {"n": 3.0, "l": ["a", "b"], "o": {"k": True}}}}
    assert check('steps.c.outputs.n > 2 && steps.c.outputs.l[1] == "b" && steps.c.outputs.o.k', {}, steps)
    assert check('"a" in steps.c.outputs.l && steps.c.status == "success"', {}, steps)
    assert not check("steps.c.outputs.missing", {}, steps)
    assert not check('steps.c.status == "success"', {})  # without upstream results, steps is undefined


PIPELINE = """
id: p
steps:
  - {id: check, image: alpine, cmd: [c], outputs: [route, "1x", route]}
  - id: fast
    image: alpine
    cmd: [f]
    inputs: [{step: check}]
    if: steps.check.outputs.rout == "fast" && steps.chek.status == "success" && steps.lone.status
  - {id: lone, image: alpine, cmd: [l]}
"""


def test_load_time_errors_with_the_fix(tmp_path: Path) -> None:
    assert problems_of(tmp_path, PIPELINE) == [
        'steps[0].outputs[1]: "1x" is not a valid output name (letters, digits, "_" and "-", not starting with a '
        'digit or "-")',
        'steps[0].outputs[2]: output "route" is declared twice',
        'steps[1].if: steps.check.outputs.rout: step "check" declares no output "rout"; did you mean "route"?',
        'steps[1].if: steps.chek.status names an unknown step "chek"; did you mean "check"?',
        'steps[1].if: steps.lone.status reads step "lone", which is not an input of this step (add {step: lone} '
        'to "inputs", with optional: true if it may be skipped)',
    ]


def test_a_step_without_declared_outputs_may_be_read_for_any_key(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yml").write_text(
        "id: p\nsteps:\n  - {id: a, image: alpine, cmd: [a]}\n"
        "  - {id: b, image: alpine, cmd: [b], inputs: [{step: a}], if: 'steps.a.outputs.anything'}\n"
    )
    assert load(tmp_path / "pipeline.yml", cwd=tmp_path).step("b").if_ == "steps.a.outputs.anything"
