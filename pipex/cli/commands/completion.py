"""``pipex completion bash|zsh|fish``: print a static shell completion script."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from pipex.cli import options

EPILOG = options.epilog(
    [
        ("pipex completion bash > ~/.local/share/bash-completion/completions/pipex", ""),
        ("pipex completion zsh > ~/.zfunc/_pipex", ""),
        ("pipex completion fish > ~/.config/fish/completions/pipex.fish", ""),
    ],
    "Create the directory first on a fresh account (mkdir -p). The script asks pipex for candidates at "
    "completion time, so it never goes stale: commands, options, workspace names and step ids.",
)


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(
    shell: Annotated[
        Shell, typer.Argument(metavar="SHELL", help="The shell to print the script for: bash, zsh or fish.")
    ],
) -> None:
    """Print the completion script for SHELL on stdout."""
    from typer.completion import get_completion_script  # type: ignore[attr-defined]  # public module

    from pipex.cli.options import COMPLETE_VAR, PROG_NAME

    typer.echo(get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value))


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(completion)
