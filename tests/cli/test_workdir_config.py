"""Every workspace command finds the workdir as ``run`` does: ``--workdir`` > ``$PIPEX_WORKDIR`` > ``.pipex.yml``
``workdir:`` > the default; and a ``.pipex.yml`` another user could have written is ignored with a warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.cli.wsfixtures import Demo, make_demo

NO_ENV = {"PIPEX_WORKDIR": None}  # the hermetic env sets it; these tests need .pipex.yml to decide


@pytest.fixture
def demo(tmp_path: Path, workdir: Path) -> Demo:
    """The demo workspace in ``tmp/wd``, and a ``.pipex.yml`` in the current directory pointing there."""
    made = make_demo(tmp_path)
    (workdir / ".pipex.yml").write_text("workdir: ../wd\n")
    return made


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["show", "demo"], "a     success"),
        (["logs", "demo", "a"], "hello\nworld\n"),
        (["inspect", "demo", "a", "--json"], '"stepId": "a"'),
        (["cat", "demo", "a"], "top.txt\nx/\n"),
        (["cat", "demo", "a", "top.txt"], "top\n"),
        (["list"], "demo"),
    ],
)
def test_readers_use_the_workdir_of_pipex_yml(invoke: Invoke, demo: Demo, args: list[str], expected: str) -> None:
    result = invoke(args, env=NO_ENV)
    assert (result.exit_code, result.stderr) == (0, "")
    assert expected in result.stdout


def test_export_uses_the_workdir_of_pipex_yml(invoke: Invoke, demo: Demo, tmp_path: Path) -> None:
    result = invoke(["export", "demo", "a", str(tmp_path / "out")], env=NO_ENV)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "top.txt").read_text() == "top\n"


def test_writers_use_the_workdir_of_pipex_yml(invoke: Invoke, demo: Demo) -> None:
    assert invoke(["rm-step", "demo", "b"], env=NO_ENV).exit_code == 0
    assert "b" not in demo.state()["steps"]
    assert invoke(["prune", "demo"], env=NO_ENV).exit_code == 0
    assert invoke(["rm", "demo"], env=NO_ENV).exit_code == 0
    assert not demo.ws.exists()


def test_clean_uses_the_workdir_of_pipex_yml(invoke: Invoke, demo: Demo) -> None:
    assert invoke(["clean", "--yes"], env=NO_ENV).exit_code == 0
    assert not demo.ws.exists()


@pytest.mark.parametrize("command", ["cancel", "attach"])
def test_cancel_and_attach_look_in_the_workdir_of_pipex_yml(invoke: Invoke, demo: Demo, command: str) -> None:
    result = invoke([command, "demo"], env=NO_ENV)
    assert result.exit_code == 1  # elsewhere: 'workspace "demo" does not exist in …'
    assert result.stderr.splitlines()[0] == 'error: workspace "demo" has no detached run'


def test_the_environment_and_the_option_win_over_pipex_yml(invoke: Invoke, demo: Demo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    result = invoke(["--json", "list"], env={"PIPEX_WORKDIR": str(elsewhere)})
    assert json.loads(result.stdout) == []
    result = invoke(["--json", "list", "--workdir", str(elsewhere)], env=NO_ENV)
    assert json.loads(result.stdout) == []


def test_a_pipex_yml_others_can_write_is_ignored_with_a_warning(invoke: Invoke, demo: Demo, workdir: Path) -> None:
    config = workdir / ".pipex.yml"
    config.chmod(0o666)
    result = invoke(["--json", "list"], env=NO_ENV)
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])  # the default workdir: nothing there
    assert result.stderr == f"warning: ignored {config}: other users can write to it; fix: chmod go-w {config}\n"


def test_exec_finds_its_inputs_in_the_workdir_of_pipex_yml(invoke: Invoke, demo: Demo, workdir: Path) -> None:
    (workdir / "step.yml").write_text("id: peek\nimage: alpine:3.20\ncmd: [ls]\n")
    nowhere = f"unix://{workdir}/no-engine.sock"  # never the machine's engine
    result = invoke(["--host", nowhere, "exec", "demo", "-f", "step.yml", "--input", "a"], env=NO_ENV)
    # Elsewhere: 'input "a" has no successful run in workspace "demo"' (exit 1). Here the input is found and
    # exec goes on to the engine, which does not answer (exit 3).
    assert result.exit_code == 3, result.stderr
    assert "no-engine.sock" in result.stderr
