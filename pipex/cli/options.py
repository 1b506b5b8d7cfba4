"""Global options: their declarations, their merged values, and the start-up environment.

``--workdir`` and ``--json`` are accepted both before and after the subcommand (``pipex --json validate x``
== ``pipex validate x --json``), because scripts written for the original pipex use both forms. The group
callback stores the values given before the subcommand in ``ctx.obj``; every command declares ``Json`` and
``Workdir`` parameters too and calls :func:`resolve` to merge them (a value after the subcommand wins).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from pipex.config import NO_COLOR, PIPEX_WORKDIR, RuntimeKind

if TYPE_CHECKING:
    from pipex.runtime.base import Runtime

DOTENV_FILE = ".env"
PROG_NAME = "pipex"
COMPLETE_VAR = "_PIPEX_COMPLETE"  # set by the shell completion script (``pipex completion``)


class RuntimeChoice(StrEnum):
    """``--runtime``'s choices (``RuntimeKind``'s values) as typer reads them on every version it supports."""

    auto = "auto"
    podman = "podman"
    docker = "docker"


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """The global options of one invocation. ``None`` means "not given": later layers (.pipex.yml) decide."""

    workdir: Path | None = None
    json: bool = False
    runtime: RuntimeKind | None = None
    host: str | None = None
    quiet: bool = False
    no_color: bool = False
    # A runtime object a program running the CLI in-process hands it (``main(argv, runtime=...)``; tests: the
    # FakeRuntime); it wins over --runtime and --host.
    runtime_object: Runtime | None = None

    def engine_runtime(self) -> RuntimeKind | Runtime:
        """What ``Engine(runtime=...)`` gets: the injected runtime, else the engine's name (``auto`` by default)."""
        if self.runtime_object is not None:
            return self.runtime_object
        return self.runtime or "auto"

    def color(self, stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> bool:
        """Whether to colour ``stream`` (default stdout): a TTY, no ``--no-color``, no ``NO_COLOR``."""
        return use_color(stream or sys.stdout, no_color=self.no_color, environ=environ)


def use_color(stream: TextIO, *, no_color: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    # https://no-color.org: any non-empty NO_COLOR disables colour.
    if no_color or (os.environ if environ is None else environ).get(NO_COLOR, ""):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# Shared declarations, so every command spells the repeated global options the same way.
Json = Annotated[
    bool,
    typer.Option("--json", help="Print machine-readable JSON on stdout (also accepted before the command)."),
]
Executor = Annotated[
    str | None,
    typer.Option(
        "--executor", metavar="NAME", help="Where steps run: local or slurm (default: .pipex.yml's, else local)."
    ),
]
Workdir = Annotated[
    Path | None,
    typer.Option(
        "--workdir",
        metavar="PATH",
        help=(
            f"Directory holding the workspaces (default: ${PIPEX_WORKDIR}, then .pipex.yml workdir:, "
            "then the user data dir)."
        ),
        file_okay=False,
    ),
]
SecretFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--secret-file",
        metavar="FILE",
        help="dotenv file of secret values, by the names steps declare under secrets: (repeatable).",
        dir_okay=False,
    ),
]
SecretNames = Annotated[
    list[str] | None,
    typer.Option(
        "--secret", metavar="NAME", help="Give the secret NAME the value of the host variable NAME (repeatable)."
    ),
]


def given_secrets(
    files: list[Path] | None, names: list[str] | None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``--secret-file``s then ``--secret``s as ``{name: Secret}`` (a later one wins); never prints a value."""
    from pipex.engine.secrets import read_secret_file  # start-up: only a run with secrets
    from pipex.errors import SecretMissing
    from pipex.model.secret import Secret

    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for file in files or ():
        found.update(read_secret_file(file))
    for name in names or ():
        if name not in environ:
            raise SecretMissing(f"--secret {name}: the host variable {name} is not set", hint=f"export {name}=…")
        found[name] = Secret(environ[name])
    return found


def resolve(ctx: typer.Context, *, json: bool = False, workdir: Path | None = None) -> GlobalOptions:
    """The global options for a command: those given before it, overridden by its own ``--json``/``--workdir``."""
    root = ctx.find_root().obj
    base = root if isinstance(root, GlobalOptions) else GlobalOptions()
    return replace(base, json=json or base.json, workdir=workdir if workdir is not None else base.workdir)


def load_dotenv_into(environ: MutableMapping[str, str], directory: Path | None = None) -> dict[str, str]:
    """Load ``directory/.env`` (default: the current directory) into ``environ``; existing variables win.

    Returns the variables that were added. Nothing is printed; a malformed file is a ``ConfigError``, since
    silently ignoring it would change ``if`` conditions and defaults behind the user's back.
    """
    path = (directory or Path.cwd()) / DOTENV_FILE
    if not path.is_file():
        return {}
    # start-up: the dotenv parser only when there is a .env
    from pipex.errors import ConfigError
    from pipex.model.handwritten.dotenv import load_dotenv

    try:
        values = load_dotenv(path)
    except ValueError as exc:
        raise ConfigError(str(exc), hint=f"fix {path} or remove it; pipex reads it at start-up") from exc
    added = {key: value for key, value in values.items() if key not in environ}
    environ.update(added)
    return added


def epilog(examples: Sequence[tuple[str, str]], *notes: str) -> str:
    """A help epilog: aligned ``command  # what it does`` examples, then notes (one paragraph each).

    Every line is its own paragraph so click's plain formatter does not re-wrap the examples and typer's
    rich formatter keeps them one per line; notes are single lines that both formatters wrap.
    Keep examples short (≤ 74 characters) and free of square brackets (rich markup).
    """
    width = max((len(command) for command, what in examples if what), default=0)
    lines = [f"  {command:<{width}}  # {what}" if what else f"  {command}" for command, what in examples]
    return "\n\n".join(["Examples:", *lines, *notes]) + "\n"
