"""The command line as the original pipex and podman write it: global options anywhere, ``--force``'s list,
``exec --step`` for a step file without id, ``--no-color`` on error lines, and ``run --json`` on an invalid
pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipex
from pipex.cli.argv import hoist_globals, normalize_force, prepare, spread_inputs
from tests import ptys

from .conftest import Invoke

VALID = "id: demo\nsteps:\n  - id: hello\n    image: alpine:3.20\n    cmd: [echo, hi]\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--runtime", "docker"], ["--runtime", "docker", "run"]),
        (["show", "ws", "--workdir", "D"], ["--workdir", "D", "show", "ws"]),
        (["show", "ws", "--workdir=D", "-q"], ["--workdir=D", "-q", "show", "ws"]),
        (
            ["--json", "list", "--no-color", "--host", "unix:///s"],
            ["--json", "--no-color", "--host", "unix:///s", "list"],
        ),
        (["--workdir", "run", "validate", "--json"], ["--workdir", "run", "--json", "validate"]),
        (["logs", "ws", "s", "--", "--json"], ["logs", "ws", "s", "--", "--json"]),
        (["--help"], ["--help"]),
        ([], []),
    ],
)
def test_global_options_move_before_the_command(argv: list[str], expected: list[str]) -> None:
    assert hoist_globals(argv) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--force", "step1,step2"], ["run", "--force=step1,step2"]),
        (["run", "-f", "a"], ["run", "--force=a"]),
        (["run", "-f"], ["run", "--force=*"]),
        (["run", "-f", "--verbose"], ["run", "--force=*", "--verbose"]),
        (["run", "examples/x", "--force"], ["run", "examples/x", "--force=*"]),
        (["run", "--force=a,b", "x"], ["run", "--force=a,b", "x"]),
        (["exec", "ws", "-f", "step.yml"], ["exec", "ws", "-f", "step.yml"]),  # exec's -f is its file
        (["--workdir", "-f", "run"], ["--workdir", "-f", "run"]),
    ],
)
def test_force_takes_the_next_word_as_its_list(argv: list[str], expected: list[str]) -> None:
    assert normalize_force(argv) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["exec", "ws", "-f", "s.yml", "--input", "a", "data=b", "--verbose"],
            ["exec", "ws", "-f", "s.yml", "--input", "a", "--input", "data=b", "--verbose"],
        ),
        (["exec", "ws", "--input", "a", "--input", "b"], ["exec", "ws", "--input", "a", "--input", "b"]),
        # before WS, the next word is WS (as click would read it), not another input
        (["exec", "--input", "a", "ws", "-f", "s.yml"], ["exec", "--input", "a", "ws", "-f", "s.yml"]),
        (["run", "--input", "a", "b"], ["run", "--input", "a", "b"]),
    ],
)
def test_exec_input_takes_several_words(argv: list[str], expected: list[str]) -> None:
    assert spread_inputs(argv) == expected


def test_exec_step_overrides_the_step_files_id(workdir: Path) -> None:
    from pipex.engine.execstep import load_step_file

    (workdir / "step.yaml").write_text("id: hello\nimage: alpine:3.20\ncmd: [echo, hi]\n")
    assert load_step_file(workdir / "step.yaml", "greet")[1].id == "greet"
    assert load_step_file(workdir / "step.yaml")[1].id == "hello"


def test_prepare_hoists_then_reads_force() -> None:
    assert prepare(["run", "-f", "a,b", "--runtime", "docker"]) == ["--runtime", "docker", "run", "--force=a,b"]


def test_runtime_after_the_command_reaches_the_engine(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(VALID)
    result = invoke(["run", "--runtime", "docker", "--host", "unix:///nonexistent.sock"])
    assert result.exit_code == 3
    assert result.stderr.splitlines()[:2] == [
        "error: no Docker-API engine answers; tried:",
        "  unix:///nonexistent.sock (--host): no socket there",
    ]


def test_workdir_after_a_command_that_did_not_declare_it(invoke: Invoke, workdir: Path) -> None:
    (workdir / "wd" / "demo").mkdir(parents=True)
    result = invoke(["list", "--json", "--workdir", str(workdir / "wd"), "-q"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert [w["name"] for w in json.loads(result.stdout)] == ["demo"]


def test_force_word_that_is_a_path_says_how_to_write_it(invoke: Invoke, workdir: Path) -> None:
    (workdir / "other").mkdir()
    (workdir / "other" / "pipeline.yml").write_text(VALID)
    result = invoke(["run", "-f", "other", "--host", "unix:///nonexistent"])  # no engine started early
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'error: --force other: "other" is not a step of the pipeline but a path (-f takes the next word as its '
        "list of steps)",
        "hint: to force every step of other, write `pipex run other --force`",
    ]


def test_force_word_that_is_a_path_next_to_a_pipeline(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(VALID)
    (workdir / "data").mkdir()
    result = invoke(["run", "--force", "data", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "hint: to force every step of data, write `pipex run data --force`"


def test_force_unknown_step_that_is_no_path(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(VALID)
    result = invoke(["run", "--force", "helo", "--dry-run", "--runtime", "podman", "--host", "unix:///nonexistent"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'error: --force: unknown step "helo"; did you mean "hello"?',
        "hint: the step ids are: hello",
    ]


def test_exec_step_file_without_id_takes_the_id_from_step(workdir: Path) -> None:
    from pipex.engine.execstep import load_step_file

    (workdir / "step.yaml").write_text("image: alpine:3.20\ncmd: [echo, hi]\n")
    _, step = load_step_file(workdir / "step.yaml", "greet")
    assert (step.id, step.image) == ("greet", "alpine:3.20")


def test_run_json_on_an_invalid_pipeline_ends_with_pipeline_end(invoke: Invoke, workdir: Path) -> None:
    (workdir / "pipeline.yml").write_text(
        "id: demo\nsteps:\n  - id: a\n    image: alpine:3.20\n    cmd: [x]\n    timeoutSec: -1\n"
    )
    result = invoke(["run", "--json", "--host", "unix:///nonexistent"])  # no engine started early
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    end = json.loads(lines[0])
    assert (end["event"], end["status"], end["failureKind"]) == ("pipeline_end", "failed", "validation")
    assert end["problems"] == [
        {
            "location": "steps[0].timeoutSec",
            "message": "must be a number of seconds greater than 0, got -1",
            "hint": None,
        }
    ]
    assert end["counts"] == {"ran": 0, "cached": 0, "skipped": 0, "failed": 0, "wouldRun": 0, "cancelled": 0}
    assert result.stderr.splitlines() == [
        "error: pipeline.yml: steps[0].timeoutSec: must be a number of seconds greater than 0, got -1",
        "hint: fix the problems above; run `pipex validate`",
    ]


def _stderr_on_a_tty(args: list[str], cwd: Path) -> str:
    repo = Path(pipex.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("NO_COLOR", None)
    master, slave = ptys.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "pipex", *args],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            env=env,
            cwd=cwd,
            timeout=60,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.parametrize("where", ["before", "after"])
def test_no_color_applies_to_error_and_hint_lines(tmp_path: Path, where: str) -> None:
    args = ["--workdir", str(tmp_path), "inspect", "nows", "step"]
    coloured = _stderr_on_a_tty(args, tmp_path)
    assert "\x1b[1;31merror:\x1b[0m" in coloured
    plain = _stderr_on_a_tty(["--no-color", *args] if where == "before" else [*args, "--no-color"], tmp_path)
    assert plain.splitlines()[0].startswith("error: ")
    assert "\x1b[" not in plain


def test_inspect_help_says_what_it_shows_of_secrets_and_env(invoke: Invoke) -> None:
    result = invoke(["inspect", "--help"], env={"PIPEX_PLAIN_HELP": "1"})
    text = " ".join(result.stdout.split())
    assert "redacted" not in text
    assert "the names and sources of its secrets (never their values: pipex never stores them)" in text
    assert "any other env value is shown as written: declare secrets under secrets:" in text
