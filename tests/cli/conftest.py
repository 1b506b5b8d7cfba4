"""CLI test helpers: a runner that keeps stdout and stderr apart, and a clean current directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipex.cli.app import app_for

Invoke = Callable[..., Result]


def make_runner() -> CliRunner:
    try:
        # typer on click < 8.2 mixes stderr into stdout unless told not to.
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        # click >= 8.2 and typer's own runner (typer >= 0.22) always capture stderr separately.
        return CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory (no .env, no .pipex.yml, no pipeline file)."""
    here = tmp_path / "project"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


@pytest.fixture
def invoke(workdir: Path) -> Invoke:
    """Run ``pipex ARGS`` in-process; exceptions are not swallowed (the CLI must handle them itself).

    The application is the one ``pipex ARGS`` gets: only the named command, or all of them (``app_for``).
    """
    runner = make_runner()

    def run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
        target = app_for(list(args), {**os.environ, **(env or {})})
        return runner.invoke(target, list(args), env=env, catch_exceptions=False)

    return run
