"""One ``RuntimeKind``: the CLI, ``.pipex.yml``, discovery and ``Engine`` accept exactly the same engine names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from pipex.cli.app import build
from pipex.config import RUNTIME_KINDS
from pipex.errors import ConfigError
from pipex.model.project import ProjectConfig
from pipex.runtime.discovery import discover


def test_the_kinds() -> None:
    assert RUNTIME_KINDS == ("auto", "podman", "docker")


def test_the_cli_offers_exactly_the_kinds() -> None:
    result = CliRunner().invoke(build(), ["--runtime", "lxc", "validate"])
    assert result.exit_code == 2
    assert "'lxc' is not one of " + ", ".join(repr(kind) for kind in RUNTIME_KINDS) + "." in result.output


@pytest.mark.parametrize("kind", RUNTIME_KINDS)
def test_pipex_yml_accepts_each_kind(kind: str) -> None:
    assert ProjectConfig.model_validate({"runtime": kind}).runtime == kind


def test_pipex_yml_refuses_another() -> None:
    with pytest.raises(ValidationError):
        ProjectConfig.model_validate({"runtime": "lxc"})


def test_discovery_refuses_another() -> None:
    with pytest.raises(ConfigError, match=r"^unknown runtime 'lxc'$"):
        discover("lxc", environ={})  # type: ignore[arg-type]  # what an untyped caller could pass


def test_the_cli_choices_are_the_runtime_kinds() -> None:
    # --runtime is an Enum for typer (older versions cannot read a Literal); its values are RuntimeKind's
    from pipex.cli.options import RuntimeChoice
    from pipex.config import RUNTIME_KINDS

    assert tuple(choice.value for choice in RuntimeChoice) == RUNTIME_KINDS
