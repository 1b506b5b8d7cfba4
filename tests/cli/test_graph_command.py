"""``pipex graph``: format selection, --json, errors."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Invoke

PIPELINE = """\
id: two
name: Two steps
steps:
  - id: a
    image: alpine:3.20
    cmd: [echo, a]
  - id: b
    uses: shell
    with: {run: "true"}
    inputs: [{step: a, optional: true}]
"""


def test_default_is_mermaid(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(PIPELINE)
    result = invoke(["graph"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == 'flowchart LR\n    step_a["a"]\n    step_b(["b"])\n    step_a -.-> step_b\n'


def test_json_flag_means_json_format(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(PIPELINE)
    before = invoke(["--json", "graph"])
    after = invoke(["graph", "--json"])
    explicit = invoke(["graph", "--format", "json", "--json"])
    assert before.stdout == after.stdout == explicit.stdout
    assert json.loads(before.stdout)["edges"] == [{"from": "a", "to": "b", "optional": True, "copyToOutput": False}]


def test_json_flag_conflicts_with_another_format(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(PIPELINE)
    result = invoke(["--json", "graph", "--format", "dot"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: --json conflicts with --format dot\nhint: give only one of them\n"


def test_unknown_format(invoke: Invoke, workdir: Path) -> None:
    result = invoke(["graph", "--format", "svg"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("error: Invalid value for '--format': ")
    assert result.stderr.endswith("hint: see `pipex graph --help`\n")


def test_invalid_pipeline(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(PIPELINE.replace("{step: a, optional: true}", "{step: c}"))
    result = invoke(["graph", "--format", "dot"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        'error: pipeline.yml: steps[1].inputs[0].step: unknown step "c"; steps: a, b\n'
        "hint: fix the problems above; run `pipex validate`\n"
    )
