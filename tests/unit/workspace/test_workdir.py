"""The one workdir rule: ``--workdir`` > ``$PIPEX_WORKDIR`` > ``.pipex.yml`` ``workdir:`` > the user data dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipex.config import default_workdir
from pipex.errors import UsageError
from pipex.workspace.ids import check_step_id, check_workspace_name
from pipex.workspace.workdir import resolve_workdir


def test_precedence(tmp_path: Path) -> None:
    configured = tmp_path / "from-config"
    env = {"PIPEX_WORKDIR": str(tmp_path / "from-env")}
    assert resolve_workdir(tmp_path / "opt", configured=configured, environ=env) == tmp_path / "opt"
    assert resolve_workdir(None, configured=configured, environ=env) == tmp_path / "from-env"
    assert resolve_workdir(None, configured=configured, environ={"PIPEX_WORKDIR": ""}) == configured
    assert resolve_workdir(None, configured=None, environ={}) == default_workdir()


def test_the_configured_workdir_is_read_only_when_needed(tmp_path: Path) -> None:
    asked: list[bool] = []

    def configured() -> Path:
        asked.append(True)
        return tmp_path / "from-config"

    assert resolve_workdir(tmp_path, configured=configured, environ={}) == tmp_path
    assert asked == []
    assert resolve_workdir(None, configured=configured, environ={}) == tmp_path / "from-config"
    assert asked == [True]


@pytest.mark.parametrize(("check", "what"), [(check_workspace_name, "workspace name"), (check_step_id, "step id")])
def test_names_too_long_for_a_folder_are_usage_errors(check: Callable[[str], str], what: str) -> None:
    assert check("w" * 128) == "w" * 128
    with pytest.raises(UsageError) as info:
        check("w" * 300)
    assert info.value.message == f"{what} is too long: 300 characters, at most 128"
