"""``pipex validate``: the ok line, every problem, JSON, missing files."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Invoke

VALID = """\
id: demo
steps:
  - id: extract
    image: alpine:3.20
    cmd: [echo, hi]
  - id: load
    uses: shell
    with: {run: "cat /input/extract/x"}
    inputs: [{step: extract}]
"""

INVALID = """\
id: demo
steps:
  - id: extract
    image: alpine:3.20
    cmd: [echo, hi]
  - id: load
    image: alpine:3.20
    cmd: [echo, hi]
    inputs: [{step: extrct}]
    timeoutSec: 0
"""


def test_valid_in_current_directory(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(VALID)
    result = invoke(["validate"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        'ok: pipeline.yml: valid pipeline "demo" (2 steps)\n',
        "",
    )


def test_valid_file_outside_current_directory_is_shown_absolute(invoke: Invoke, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "ci.yaml").write_text(VALID)
    result = invoke(["validate", str(elsewhere / "ci.yaml")])
    assert result.exit_code == 0
    assert result.stdout == f'ok: {elsewhere / "ci.yaml"}: valid pipeline "demo" (2 steps)\n'


def test_quiet_prints_nothing_when_valid(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(VALID)
    result = invoke(["-q", "validate"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_invalid_prints_every_problem(invoke: Invoke, workdir: Path) -> None:
    sub = workdir / "sub"
    sub.mkdir()
    (sub / "pipeline.yml").write_text(INVALID)
    result = invoke(["validate", "sub"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        'error: sub/pipeline.yml: steps[1].inputs[0].step: unknown step "extrct"; did you mean "extract"?\n'
        "error: sub/pipeline.yml: steps[1].timeoutSec: must be a number of seconds greater than 0, got 0\n"
        "hint: fix the problems above; run `pipex validate`\n"
    )


def test_invalid_json(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(INVALID)
    result = invoke(["validate", "--json"])
    assert (result.exit_code, result.stderr) == (2, "")
    assert json.loads(result.stdout) == {
        "valid": False,
        "file": "pipeline.yml",
        "problems": [
            {
                "location": "steps[1].inputs[0].step",
                "message": 'unknown step "extrct"; did you mean "extract"?',
                "hint": None,
            },
            {
                "location": "steps[1].timeoutSec",
                "message": "must be a number of seconds greater than 0, got 0",
                "hint": None,
            },
        ],
        "problemCount": 2,
    }


def test_missing_file(invoke: Invoke, workdir: Path) -> None:
    result = invoke(["validate", "nope.yml"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: no such pipeline file or directory: {workdir / 'nope.yml'}\n"


def test_missing_file_json(invoke: Invoke, workdir: Path) -> None:
    result = invoke(["--json", "validate", "nope.yml"])
    assert (result.exit_code, result.stderr) == (2, "")
    assert json.loads(result.stdout) == {
        "valid": False,
        "file": "nope.yml",
        "problems": [
            {"location": "", "message": f"no such pipeline file or directory: {workdir / 'nope.yml'}", "hint": None}
        ],
        "problemCount": 1,
    }


def test_directory_without_pipeline_file(invoke: Invoke, workdir: Path) -> None:
    result = invoke(["validate"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: no pipeline file in {workdir}: looked for pipeline.yml, pipeline.yaml, pipeline.json\n"
        "hint: pass the pipeline file's path, or run pipex in the directory holding it\n"
    )


def test_yaml_syntax_error(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text("id: a\nid: b\nsteps: []\n")
    result = invoke(["validate"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: pipeline.yml: ")
    assert "duplicate key" in lines[0]
    assert lines[-1] == "hint: fix the problems above; run `pipex validate`"


def _unknown_inputs(count: int) -> str:
    steps = [{"id": f"s{i}", "image": "a", "cmd": ["true"], "inputs": [{"step": f"gone{i}"}]} for i in range(count)]
    return json.dumps({"id": "many", "steps": steps})


def test_only_the_first_50_problems_are_printed_then_a_count(invoke: Invoke, workdir: Path) -> None:
    (workdir / "p.json").write_text(_unknown_inputs(120))
    result = invoke(["validate", "p.json"])
    lines = result.stderr.splitlines()
    assert (result.exit_code, len(lines)) == (2, 52)
    assert lines[0] == 'error: p.json: steps[0].inputs[0].step: unknown step "gone0"'
    assert lines[49] == 'error: p.json: steps[49].inputs[0].step: unknown step "gone49"'
    assert lines[50:] == ["error: … and 70 more problems", "hint: fix the problems above; run `pipex validate`"]


def test_json_lists_the_first_1000_problems_and_counts_them_all(invoke: Invoke, workdir: Path) -> None:
    (workdir / "p.json").write_text(_unknown_inputs(1500))
    result = invoke(["validate", "p.json", "--json"])
    report = json.loads(result.stdout)
    assert (result.exit_code, len(report["problems"]), report["problemCount"]) == (2, 1000, 1500)
