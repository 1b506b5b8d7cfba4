"""``pipex completion SHELL``: static scripts that call back into pipex with typer's protocol."""

from __future__ import annotations

import pytest

from .conftest import Invoke


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("bash", "complete -o default -F _pipex_completion pipex"),
        ("zsh", "compdef _pipex_completion pipex"),
        ("fish", "complete --command pipex --no-files"),
    ],
)
def test_completion_script(invoke: Invoke, shell: str, expected: str) -> None:
    result = invoke(["completion", shell])
    assert (result.exit_code, result.stderr) == (0, "")
    assert expected in result.stdout
    assert f"_PIPEX_COMPLETE=complete_{shell}" in result.stdout


def test_completion_unknown_shell(invoke: Invoke) -> None:
    result = invoke(["completion", "tcsh"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Invalid value for ")
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr
    assert result.stderr.endswith("hint: see `pipex completion --help`\n")


def test_bash_completion_round_trip(invoke: Invoke) -> None:
    # What the bash script does when the user presses TAB after `pipex va`.
    result = invoke([], env={"_PIPEX_COMPLETE": "complete_bash", "COMP_WORDS": "pipex va", "COMP_CWORD": "1"})
    assert (result.exit_code, result.stdout) == (0, "validate\n")


def test_bash_completion_of_options(invoke: Invoke) -> None:
    result = invoke([], env={"_PIPEX_COMPLETE": "complete_bash", "COMP_WORDS": "pipex graph --fo", "COMP_CWORD": "2"})
    assert (result.exit_code, result.stdout) == (0, "--format\n")
