from __future__ import annotations

from pathlib import Path

import pytest

from pipex.errors import ConfigError
from pipex.model import ProjectConfig, find_project_config


def test_defaults_when_there_is_no_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    assert find_project_config(start) == (ProjectConfig(), None)


def test_found_in_a_parent(tmp_path: Path) -> None:
    config = tmp_path / ".pipex.yml"
    config.write_text("kits: {geo: ./kits/geo.py}\ndetach: true\nruntime: podman\nworkdir: /srv/w\n", "utf-8")
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    found, path = find_project_config(start)
    assert path == config
    assert found == ProjectConfig(kits={"geo": "./kits/geo.py"}, detach=True, runtime="podman", workdir="/srv/w")


def test_the_search_stops_at_a_git_directory(tmp_path: Path) -> None:
    (tmp_path / ".pipex.yml").write_text("detach: true\n", "utf-8")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    assert find_project_config(repo / "sub") == (ProjectConfig(), None)


def test_the_git_directory_itself_is_searched(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".pipex.yml").write_text("host: unix:///tmp/x.sock\n", "utf-8")
    assert find_project_config(tmp_path)[0].host == "unix:///tmp/x.sock"


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    (tmp_path / ".pipex.yml").write_text("# nothing yet\n", "utf-8")
    assert find_project_config(tmp_path) == (ProjectConfig(), tmp_path / ".pipex.yml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kit: {}\n", '"kit" is not a .pipex.yml setting; did you mean "kits"?'),
        ("runtime: podmn\n", 'runtime: expected one of "auto", "podman", "docker", got the string "podmn"'),
        (
            "detach: yes\n",
            'detach: expected true or false, got the string "yes" '
            "(write true or false; YAML 1.2 reads yes, no, on and off as strings)",
        ),
        ("kits: [a]\n", "kits: expected a mapping of kit names to files or modules, got a list"),
        ("- a\n", "expected a mapping of settings, got a list"),
        ("a: 1\na: 2\n", 'line 2, column 1: duplicate key "a" (first defined at line 1)'),
    ],
)
def test_invalid_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / ".pipex.yml"
    config.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as info:
        find_project_config(tmp_path)
    assert info.value.message == f"invalid {config}: {message}"
