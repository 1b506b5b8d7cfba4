"""``pipex completion SHELL``: static scripts that call back into pipex with typer's protocol."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pipex

from .conftest import Invoke, make_runner


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


def _complete(invoke: Invoke, words: str, env: dict[str, str] | None = None) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = invoke(
        [], env={"_PIPEX_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword), **(env or {})}
    )
    assert (result.exit_code, result.stderr) == (0, "")
    return result.stdout.split()


@pytest.fixture
def wd(workdir: Path) -> Path:
    wd = workdir / "wd"
    (wd / "alpha").mkdir(parents=True)
    (wd / "beta").mkdir()
    (wd / "alpha" / "state.json").write_text('{"version": 1, "steps": {"extract": {}, "report": {}}}')
    return wd


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("pipex show ", ["alpha", "beta"]),
        ("pipex rm a", ["alpha"]),
        ("pipex exec ", ["alpha", "beta"]),
        ("pipex attach b", ["beta"]),
        ("pipex cancel ", ["alpha", "beta"]),
        ("pipex prune ", ["alpha", "beta"]),
        ("pipex run -w ", ["alpha", "beta"]),
        ("pipex graph --workspace ", ["alpha", "beta"]),
        ("pipex logs alpha ", ["extract", "report"]),
        ("pipex inspect alpha r", ["report"]),
        ("pipex cat alpha ", ["extract", "report"]),
        ("pipex export alpha e", ["extract"]),
        ("pipex rm-step alpha ", ["extract", "report"]),
        ("pipex exec alpha -f s.yml --input ", ["extract", "report"]),
        ("pipex logs beta ", []),  # no state yet
        ("pipex logs ghost ", []),  # no such workspace: no candidates, no error
    ],
)
def test_completion_of_workspaces_and_steps(invoke: Invoke, wd: Path, words: str, expected: list[str]) -> None:
    assert _complete(invoke, words, {"PIPEX_WORKDIR": str(wd)}) == expected


@pytest.mark.parametrize("words", ["pipex --workdir wd show ", "pipex show --workdir wd "])
def test_completion_reads_the_given_workdir(invoke: Invoke, wd: Path, words: str) -> None:
    assert _complete(invoke, words, {"PIPEX_WORKDIR": str(wd.parent / "elsewhere")}) == ["alpha", "beta"]


def test_completion_while_a_run_holds_the_lock(invoke: Invoke, wd: Path) -> None:
    from pipex.workspace.layout import Workspace

    with Workspace(wd, "alpha").lock("pipex run"):
        assert _complete(invoke, "pipex logs alpha ", {"PIPEX_WORKDIR": str(wd)}) == ["extract", "report"]


def test_readme_bash_install_lines_work_on_a_fresh_account(tmp_path: Path) -> None:
    # The README's lines, run with an empty HOME, then the installed script asked as bash asks on TAB.
    repo = Path(pipex.__file__).resolve().parent.parent
    readme = (repo / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("mkdir -p ~/.local/share/bash-completion"))
    home = tmp_path / "home"
    home.mkdir()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pipex").write_text(f'#!/bin/sh\nexec {sys.executable} -m pipex "$@"\n')
    (bindir / "pipex").chmod(0o755)
    env = {"HOME": str(home), "PATH": f"{bindir}:/usr/bin:/bin", "PYTHONPATH": str(repo)}
    subprocess.run(["bash", "-c", line], check=True, env=env, cwd=tmp_path, timeout=60)
    script = home / ".local/share/bash-completion/completions/pipex"
    asked = 'source "$1"; COMP_WORDS=(pipex va); COMP_CWORD=1; _pipex_completion pipex; echo "${COMPREPLY[@]}"'
    done = subprocess.run(
        ["bash", "-c", asked, "bash", str(script)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.stdout == "validate\n"
    # zsh and fish are not installed here: their install lines at least write the scripts where they look.
    for prefix, path, head in (
        ("mkdir -p ~/.zfunc", ".zfunc/_pipex", "#compdef pipex"),
        ("mkdir -p ~/.config/fish/completions", ".config/fish/completions/pipex.fish", "complete --command pipex"),
    ):
        line = next(x for x in readme.splitlines() if x.startswith(prefix))
        subprocess.run(["bash", "-c", line], check=True, env=env, cwd=tmp_path, timeout=60)
        assert head in (home / path).read_text()


def test_help_has_no_type_labels_or_braces() -> None:
    from pipex.cli.app import COMMANDS, build

    for name in ["", *COMMANDS]:
        args = [name.replace("_", "-"), "--help"] if name else ["--help"]
        for plain in ("", "1"):
            result = make_runner().invoke(
                build(), args, env={"PIPEX_PLAIN_HELP": plain, "COLUMNS": "200"}, catch_exceptions=False
            )
            usage = next(line for line in result.stdout.splitlines() if "Usage:" in line)
            assert "{" not in usage and "}" not in usage, usage
            assert "<bool>" not in result.stdout and "<str>" not in result.stdout, (name, plain)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("pipex run -t ", ["hello", "help", "other"]),
        ("pipex run --target he", ["hello", "help"]),
        ("pipex run -f hello,", ["hello,help", "hello,other"]),
        ("pipex run sub -t o", ["other2"]),
    ],
)
def test_completion_of_a_pipelines_step_ids(invoke: Invoke, workdir: Path, words: str, expected: list[str]) -> None:
    steps = "".join(f"  - {{id: {s}, image: a, cmd: [x]}}\n" for s in ("hello", "help", "other"))
    (workdir / "pipeline.yml").write_text("id: demo\nsteps:\n" + steps)
    (workdir / "sub").mkdir()
    (workdir / "sub" / "pipeline.yml").write_text("id: sub\nsteps:\n  - {id: other2, image: a, cmd: [x]}\n")
    assert _complete(invoke, words) == expected
