"""The typer application: the root group, its global options, and command registration.

Adding a command: create ``pipex/cli/commands/<name>.py`` exposing ``register(app: typer.Typer) -> None``,
declare the shared ``options.Json``/``options.Workdir`` parameters on it, keep heavy imports inside the
function body, and add the module name to ``COMMANDS`` below (the order is the order in ``--help``).

No ``from __future__ import annotations`` here nor in ``commands/run.py``: typer evaluates every annotation string
of a command's function at each start (~7 ms for these two); real annotations cost nothing.
"""

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pipex.cli import errors
from pipex.cli.argv import VALUED_GLOBALS, prepare
from pipex.cli.helpfmt import tidy
from pipex.cli.options import COMPLETE_VAR, PROG_NAME, GlobalOptions, RuntimeChoice, epilog, load_dotenv_into, use_color
from pipex.cli.version import version
from pipex.config import PIPEX_PLAIN_HELP, PIPEX_WORKDIR

# Modules of pipex/cli/commands/, in the order --help lists them.
COMMANDS: tuple[str, ...] = (
    "run",
    "exec",
    "attach",
    "cancel",
    "approve",
    "reject",
    "resume",
    "show",
    "logs",
    "inspect",
    "cat",
    "export",
    "runs",
    "report",
    "list",
    "prune",
    "cache",
    "rm",
    "rm_step",
    "clean",
    "validate",
    "graph",
    "doctor",
    "completion",
)


ROOT_EPILOG = epilog(
    [
        ("pipex validate", "check ./pipeline.yml"),
        ("pipex graph --format dot | dot -Tsvg > graph.svg", ""),
        ("pipex --json validate ci.yml", "the same as: pipex validate ci.yml --json"),
    ],
    "Exit codes: 0 success, 1 failure, 2 usage or validation error, 3 engine unavailable, "
    "4 workspace in use, 130 interrupted.",
)


class PipexGroup(TyperGroup):
    """The root group: loads ``.env``, chooses plain help, and maps every error through ``cli.errors``."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not os.environ.get(complete_var or COMPLETE_VAR):
            # Global options anywhere, and run's optional --force list (see cli/argv.py).
            argv = prepare(argv)
        color = use_color(sys.stderr, no_color=_no_color(argv))
        with errors.printed_warnings(sys.stderr, color=color):
            return self._main(argv, prog_name, complete_var, standalone_mode, color, **extra)

    def _main(
        self,
        argv: list[str],
        prog_name: str | None,
        complete_var: str | None,
        standalone_mode: bool,
        color: bool,
        **extra: Any,
    ) -> Any:
        try:
            load_dotenv_into(os.environ)
            if os.environ.get(PIPEX_PLAIN_HELP, "") not in ("", "0"):
                _plain_help(self)
            if os.environ.get(complete_var or COMPLETE_VAR):
                # Completion requests use typer's protocol (the script `pipex completion` prints).
                from typer.completion import completion_init  # type: ignore[attr-defined]  # public module

                completion_init()
            tidy(self)
            result = super().main(argv, prog_name or PROG_NAME, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except BaseException as exc:
            if errors.is_exit(exc):
                raise
            code = errors.handle(exc, stream=sys.stderr, color=color)
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: Any) -> Any:  # click's Context: typer>=0.22 vendors click, older typer does not
        # Errors from commands are printed here, inside the context, so `ctx` is still usable for them.
        try:
            return super().invoke(ctx)
        except BaseException as exc:
            if errors.is_exit(exc) or errors.is_click_error(exc):
                raise
            root = ctx.find_root().obj
            no_color = root.no_color if isinstance(root, GlobalOptions) else False
            color = use_color(sys.stderr, no_color=no_color)
            raise typer.Exit(errors.handle(exc, stream=sys.stderr, color=color)) from exc


def _no_color(argv: Sequence[str]) -> bool:
    """``--no-color`` among the options (before ``--``): known before click parses, for its own errors too."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    return "--no-color" in words


def _plain_help(command: Any) -> None:
    """No rich boxes: the help text stays plain for help2man and man-page generation."""
    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"pipex {version()}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            metavar="PATH",
            envvar=PIPEX_WORKDIR,
            file_okay=False,
            help="Directory holding the workspaces (default: .pipex.yml workdir:, then the user data dir).",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    runtime: Annotated[
        RuntimeChoice | None,  # an Enum, not the RuntimeKind Literal: older typer (distributions') cannot read those
        typer.Option("--runtime", help="Container engine to use (default: auto, or .pipex.yml)."),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="URL", help="Engine socket URL, e.g. unix:///run/podman/podman.sock."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and results.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also: NO_COLOR=1).")] = False,
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Run data pipelines as rootless containers (Podman first, Docker socket as the fallback)."""
    injected = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()  # main(argv, runtime=...)
    ctx.obj = GlobalOptions(
        runtime_object=injected.runtime_object,
        workdir=workdir,
        json=json,
        runtime=None if runtime is None else runtime.value,
        host=host,
        quiet=quiet,
        no_color=no_color,
    )
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def build(only: str | None = None) -> typer.Typer:
    """A fresh application with every command of ``COMMANDS`` registered, or just ``only``.

    typer turns every registered command into a click command (inspecting its signature and evaluating its
    annotations) before it parses anything: ~40 ms for all of them, a tenth of a cached ``pipex run``. When the
    command line names its command, that one is all the parse needs; ``--help``, completion and a mistyped
    command (whose did-you-mean needs every name) get the whole application.
    """
    app = typer.Typer(
        name=PROG_NAME,
        cls=PipexGroup,
        add_completion=False,
        invoke_without_command=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )
    app.callback(epilog=ROOT_EPILOG)(root)
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"pipex.cli.commands.{name}").register(app)
    return app


def command_of(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> str | None:
    """The command module ``argv`` invokes, or ``None`` when the whole application is needed to answer it."""
    env = os.environ if environ is None else environ
    if env.get(COMPLETE_VAR) or env.get(PIPEX_PLAIN_HELP, "") not in ("", "0"):
        return None
    words = iter(argv)
    for word in words:
        if word == "--":
            return None
        if word in VALUED_GLOBALS:
            next(words, None)
        elif not word.startswith("-"):
            name = word.replace("-", "_")
            # `ls` is the alias of `list`: ask for the whole application rather than duplicate the alias table.
            return name if name in COMMANDS else None
        elif word in ("-h", "--help"):
            return None
    return None


def app_for(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> typer.Typer:
    """The application to parse ``argv`` with: only its command when it names one (see ``build``)."""
    only = command_of(argv, environ)
    return __getattr__("app") if only is None else build(only)


def __getattr__(name: str) -> Any:
    # Built on first use, so that `pipex run` need not import and inspect the seventeen other commands.
    if name == "app":
        if "app" in globals():
            return globals()["app"]
        built = build()
        globals()["app"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


app: typer.Typer

__all__ = ["COMMANDS", "PipexGroup", "app", "app_for", "build", "command_of"]
