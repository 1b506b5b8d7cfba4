"""``pipex exec`` errors that need no engine: they are found before the engine is asked for anything."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Invoke


def test_exec_names_the_input_without_a_successful_run(invoke: Invoke, workdir: Path) -> None:
    (workdir / "step.yml").write_text("id: peek\nimage: alpine:3.20\ncmd: [ls]\n")
    result = invoke(["exec", "demo", "-f", "step.yml", "--input", "data=download"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'error: input "download" has no successful run in workspace "demo"',
        "hint: run the step download first (pipex run … -w demo), or drop this input",
    ]


def test_attach_without_a_detached_run(invoke: Invoke, workdir: Path) -> None:
    (workdir / "wd" / "demo").mkdir(parents=True)
    result = invoke(["--workdir", str(workdir / "wd"), "attach", "demo"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'error: workspace "demo" has no detached run',
        "hint: start one with `pipex run -d -w demo`",
    ]
