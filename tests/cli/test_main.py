"""The root command: --version, help, usage errors, global options, .env, error mapping."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import Result

import pipex
from pipex.cli import options
from pipex.cli.app import COMMANDS, build
from pipex.cli.errors import handle
from pipex.cli.options import GlobalOptions, load_dotenv_into, resolve, use_color
from pipex.errors import ConfigError, PipelineError, Problem, WorkspaceBusy

from .conftest import Invoke, make_runner

VALID = "id: demo\nsteps:\n  - id: hello\n    image: alpine:3.20\n    cmd: [echo, hi]\n"


def test_version(invoke: Invoke) -> None:
    result = invoke(["--version"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"pipex {pipex.__version__}\n", "")
    assert pipex.__version__ == "0.1.0"


def test_version_fast_path_prints_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    from pipex.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == "pipex 0.1.0\n"


def test_python_m_pipex_version(tmp_path: Path) -> None:
    repo = Path(pipex.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipex", "--version"], check=False, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    elapsed = time.perf_counter() - start
    print(f"python -m pipex --version took {elapsed:.3f} s")
    assert (done.returncode, done.stdout, done.stderr) == (0, "pipex 0.1.0\n", "")


def test_a_closed_stdout_is_not_an_error(tmp_path: Path) -> None:
    # `pipex --json run --dry-run | head -1`: the reader goes away; pipex stops quietly with 141 (128 + SIGPIPE).
    repo = Path(pipex.__file__).resolve().parent.parent
    steps = "".join(f"  - {{id: s{i}, image: alpine:3.20, cmd: [x]}}\n" for i in range(3000))
    (tmp_path / "pipeline.yml").write_text("id: big\nsteps:\n" + steps)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipex", "--json", "--host", f"unix://{tmp_path}/no.sock", "run", "--dry-run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(repo)},
        cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b'{"event":"pipeline_start"')
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert (proc.wait(timeout=60), err) == (141, "")


def test_version_does_not_import_typer(tmp_path: Path) -> None:
    repo = Path(pipex.__file__).resolve().parent.parent
    code = "import sys; from pipex.cli.main import main\ntry: main(['--version'])\nexcept SystemExit: pass\n"
    code += "print(sorted(m for m in ('typer', 'rich', 'pydantic', 'yaml') if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
        cwd=tmp_path,
    )
    assert done.stdout == "pipex 0.1.0\n[]\n", done.stderr


@pytest.mark.parametrize("command", [[], *([name.replace("_", "-")] for name in COMMANDS)])
@pytest.mark.parametrize("plain", [False, True])
def test_help_has_examples(invoke: Invoke, command: list[str], plain: bool) -> None:
    env = {"PIPEX_PLAIN_HELP": "1"} if plain else None
    result = invoke([*command, "--help"], env=env)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "Examples:" in result.stdout
    assert f"  pipex {' '.join(command)}".rstrip() in result.stdout
    boxes = "╭" in result.stdout
    assert boxes is not plain


def test_plain_root_help(invoke: Invoke) -> None:
    out = invoke(["--help"], env={"PIPEX_PLAIN_HELP": "1"}).stdout
    assert out.startswith("Usage: pipex [OPTIONS] COMMAND [ARGS]...\n")
    for option in ("--workdir PATH", "--json", "--runtime", "--host URL", "-q, --quiet", "--no-color", "--version"):
        assert option in out
    assert "  pipex --json validate ci.yml  # the same as: pipex validate ci.yml --json\n" in out
    assert "130 interrupted" in out


def test_no_command_prints_help(invoke: Invoke) -> None:
    result = invoke([], env={"PIPEX_PLAIN_HELP": "1"})
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: pipex [OPTIONS] COMMAND [ARGS]...")


def test_unknown_command_is_a_one_line_usage_error(invoke: Invoke) -> None:
    result = invoke(["valdate"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: No such command 'valdate'. Did you mean 'validate'?\nhint: see `pipex --help`\n"


def test_unknown_option_is_a_one_line_usage_error(invoke: Invoke) -> None:
    result = invoke(["validate", "--bogus"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: No such option: --bogus\nhint: see `pipex validate --help`\n"


def test_bad_choice_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke(["--runtime", "lxc", "validate"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    # The wording after the option name differs between typer versions.
    assert lines[0].startswith("error: Invalid value for '--runtime': ")
    assert "'lxc' is not one of 'auto', 'podman', 'docker'" in lines[0]
    assert lines[1] == "hint: see `pipex --help`"


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "validate"],
        ["validate", "--json"],
        ["--json", "--workdir", "ws", "validate"],
        ["validate", "--workdir", "ws", "--json"],
        ["--workdir", "ws", "validate", "--json"],
    ],
)
def test_json_and_workdir_before_or_after_the_command(invoke: Invoke, workdir: Path, args: list[str]) -> None:
    (workdir / "pipeline.yml").write_text(VALID)
    result = invoke(args)
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {"valid": True, "file": "pipeline.yml", "problems": [], "problemCount": 0}
    assert result.stdout.startswith('{\n  "valid": true,')  # indented


def _options_app() -> typer.Typer:
    """The real app plus a command that shows the options it resolved (registered like any command)."""
    app = build()

    @app.command("show-options")
    def show_options(
        ctx: typer.Context,
        json: options.Json = False,
        workdir: options.Workdir = None,
    ) -> None:
        typer.echo(repr(resolve(ctx, json=json, workdir=workdir)))

    return app


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], GlobalOptions(workdir=Path("/env/ws"))),
        (["--workdir", "/a", "show-options"], GlobalOptions(workdir=Path("/a"))),
        (["--workdir", "/a", "show-options", "--workdir", "/b"], GlobalOptions(workdir=Path("/b"))),
        (["--json", "show-options"], GlobalOptions(workdir=Path("/env/ws"), json=True)),
        (
            ["--runtime", "docker", "--host", "unix:///x.sock", "-q", "--no-color", "show-options", "--json"],
            GlobalOptions(Path("/env/ws"), True, "docker", "unix:///x.sock", True, True),
        ),
    ],
)
def test_global_options_resolve(workdir: Path, args: list[str], expected: GlobalOptions) -> None:
    result = make_runner().invoke(
        _options_app(), args or ["show-options"], env={"PIPEX_WORKDIR": "/env/ws"}, catch_exceptions=False
    )
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == repr(expected) + "\n"


def test_every_command_accepts_json_and_workdir() -> None:
    from typer.main import get_command

    group = get_command(build())
    for name in COMMANDS:
        if name == "completion":
            continue
        command = group.commands[name.replace("_", "-")]
        # a group (`pipex cache`): each of its commands
        for leaf in getattr(command, "commands", {}).values() or [command]:
            options = {opt for param in leaf.params for opt in getattr(param, "opts", [])}
            assert {"--json", "--workdir"} <= options, (name, leaf.name)


# --- errors --------------------------------------------------------------------------------------------


def _failing_app(exc: BaseException) -> typer.Typer:
    app = build()

    @app.command("fail")
    def fail() -> None:
        raise exc

    return app


def _run_failing(exc: BaseException, env: dict[str, str] | None = None) -> Result:
    return make_runner().invoke(_failing_app(exc), ["fail"], env=env, catch_exceptions=False)


@pytest.mark.parametrize(
    ("exc", "code", "stderr"),
    [
        (ConfigError("bad .pipex.yml", hint="fix it"), 2, "error: bad .pipex.yml\nhint: fix it\n"),
        (WorkspaceBusy("workspace demo is in use"), 4, "error: workspace demo is in use\n"),
        (KeyboardInterrupt(), 130, "error: interrupted\n"),
        (
            PipelineError.from_problems(
                [
                    Problem("steps[1].inputs[0].step", 'unknown step "extrct"; did you mean "extract"?'),
                    Problem("steps[2]", '"bogus" is not a step field', "valid fields: id, name"),
                    Problem("", "duplicate key"),
                ],
                source="pipeline.yml",
            ),
            2,
            'error: pipeline.yml: steps[1].inputs[0].step: unknown step "extrct"; did you mean "extract"?\n'
            'error: pipeline.yml: steps[2]: "bogus" is not a step field; valid fields: id, name\n'
            "error: pipeline.yml: duplicate key\n"
            "hint: fix the problems above; run `pipex validate`\n",
        ),
        (
            ValueError("boom"),
            1,
            "error: internal error: ValueError: boom\n"
            "hint: this is a bug in pipex; rerun with PIPEX_DEBUG=1 and report the traceback\n",
        ),
    ],
)
def test_errors_map_to_lines_and_exit_codes(workdir: Path, exc: BaseException, code: int, stderr: str) -> None:
    result = _run_failing(exc)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", stderr)


def test_pipex_debug_prints_the_traceback(workdir: Path) -> None:
    result = _run_failing(ValueError("boom"), env={"PIPEX_DEBUG": "1"})
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "raise exc\nValueError: boom\n" in result.stderr.replace("    ", "")
    assert result.stderr.endswith(
        "error: internal error: ValueError: boom\n"
        "hint: this is a bug in pipex; rerun with PIPEX_DEBUG=1 and report the traceback\n"
    )


def test_no_traceback_without_pipex_debug(workdir: Path) -> None:
    assert "Traceback" not in _run_failing(ValueError("boom")).stderr


# --- .env ----------------------------------------------------------------------------------------------


def test_load_dotenv_into_keeps_existing_values(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("export A=from-file\nB='two words'\n# comment\n")
    environ = {"A": "from-env"}
    assert load_dotenv_into(environ, tmp_path) == {"B": "two words"}
    assert environ == {"A": "from-env", "B": "two words"}


def test_load_dotenv_into_without_a_file(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    assert load_dotenv_into(environ, tmp_path) == {}
    assert environ == {}


def test_malformed_dotenv_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\nB\n")
    with pytest.raises(ConfigError) as raised:
        load_dotenv_into({}, tmp_path)
    assert raised.value.message == f'env file {tmp_path / ".env"}, line 2: expected KEY=VALUE, got "B"'
    assert raised.value.hint == f"fix {tmp_path / '.env'} or remove it; pipex reads it at start-up"


def test_dotenv_is_loaded_at_start(invoke: Invoke, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # setenv then delenv: monkeypatch restores "unset" after the test although the CLI sets them.
    for name in ("PIPEX_TEST_FROM_DOTENV", "PIPEX_TEST_EXISTING"):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIPEX_TEST_EXISTING", "from-environment")
    (workdir / ".env").write_text("PIPEX_TEST_FROM_DOTENV=loaded\nPIPEX_TEST_EXISTING=from-file\n")
    (workdir / "pipeline.yml").write_text(VALID)
    result = invoke(["validate"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        'ok: pipeline.yml: valid pipeline "demo" (1 step)\n',
        "",
    )
    assert os.environ["PIPEX_TEST_FROM_DOTENV"] == "loaded"
    assert os.environ["PIPEX_TEST_EXISTING"] == "from-environment"


def test_malformed_dotenv_fails_every_command(invoke: Invoke, workdir: Path) -> None:
    (workdir / ".env").write_text("NOT A LINE\n")
    result = invoke(["validate"])
    assert result.exit_code == 2
    assert result.stderr == (
        f'error: env file {workdir / ".env"}, line 1: expected KEY=VALUE, got "NOT A LINE"\n'
        f"hint: fix {workdir / '.env'} or remove it; pipex reads it at start-up\n"
    )


def test_dotenv_sets_defaults_before_options_are_parsed(workdir: Path) -> None:
    (workdir / ".env").write_text("PIPEX_WORKDIR=/from/dotenv\n")
    # env None unsets PIPEX_WORKDIR for the call; the runner restores it afterwards.
    result = make_runner().invoke(_options_app(), ["show-options"], env={"PIPEX_WORKDIR": None}, catch_exceptions=False)
    assert result.stdout == repr(GlobalOptions(workdir=Path("/from/dotenv"))) + "\n"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_needs_a_tty_and_no_opt_out() -> None:
    assert use_color(_Tty(), environ={}) is True
    assert use_color(io.StringIO(), environ={}) is False
    assert use_color(_Tty(), environ={"NO_COLOR": "1"}) is False
    assert use_color(_Tty(), no_color=True, environ={}) is False
    assert use_color(_Tty(), environ={"NO_COLOR": ""}) is True


def test_coloured_error_lines() -> None:
    stream = io.StringIO()
    code = handle(ConfigError("bad", hint="fix"), stream=stream, color=True, environ={})
    assert code == 2
    assert stream.getvalue() == "\x1b[1;31merror:\x1b[0m bad\n\x1b[33mhint:\x1b[0m fix\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run"], "run"),
        (["--host", "unix:///x.sock", "--json", "run", "--dry-run"], "run"),
        (["--host=unix:///x.sock", "-q", "show", "ws"], "show"),
        (["--runtime", "podman", "rm-step", "ws", "s"], "rm_step"),
        (["--workdir", "run", "validate"], "validate"),  # `run` is the value of --workdir here
        (["ls"], None),  # an alias: the whole application knows it
        (["rnu"], None),  # a typo: did-you-mean needs every name
        ([], None),
        (["--help"], None),
        (["-h", "run"], None),
        (["--", "run"], None),
        (["--host"], None),
    ],
)
def test_command_of_names_the_command_to_build(argv: list[str], expected: str | None) -> None:
    from pipex.cli.app import command_of

    assert command_of(argv, {}) == expected


def test_completion_and_plain_help_need_every_command() -> None:
    from pipex.cli.app import COMPLETE_VAR, command_of
    from pipex.config import PIPEX_PLAIN_HELP

    assert command_of(["run"], {COMPLETE_VAR: "complete_bash"}) is None
    assert command_of(["run"], {PIPEX_PLAIN_HELP: "1"}) is None
    assert command_of(["run"], {PIPEX_PLAIN_HELP: "0"}) == "run"


def test_a_single_command_application_parses_as_the_whole_one() -> None:
    from pipex.cli.app import app_for

    runner = make_runner()
    alone = app_for(["run"], {})
    assert list(getattr(typer.main.get_command(alone), "commands", {})) == ["run"]
    whole = runner.invoke(build(), ["run", "--help"], env={"COLUMNS": "100"})
    single = runner.invoke(alone, ["run", "--help"], env={"COLUMNS": "100"})
    assert (single.exit_code, single.stdout) == (whole.exit_code, whole.stdout)
    assert "--dry-run" in single.stdout


def test_main_leaves_nothing_for_the_exit_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from pipex.cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "1")  # main sets it; restored after the test
    (tmp_path / "pipeline.yml").write_text(VALID)
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            main(["validate"])
        assert exited.value.code == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
