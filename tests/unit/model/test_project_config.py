from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipex.errors import ConfigError, ConfigIgnored
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


def test_a_file_others_can_write_is_ignored_with_a_warning(tmp_path: Path) -> None:
    config = tmp_path / ".pipex.yml"
    config.write_text("workdir: /tmp/evil\n", "utf-8")
    config.chmod(0o646)
    with pytest.warns(ConfigIgnored) as caught:
        assert find_project_config(tmp_path) == (ProjectConfig(), None)
    assert [str(w.message) for w in caught] == [
        f"ignored {config}: other users can write to it; fix: chmod go-w {config}"
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_of_another_user_is_ignored_unless_its_directory_is_listed_safe(tmp_path: Path) -> None:
    config = tmp_path / ".pipex.yml"
    config.write_text("detach: true\n", "utf-8")
    os.chown(config, 4242, -1)
    with pytest.warns(ConfigIgnored) as caught:
        assert find_project_config(tmp_path / ".") == (ProjectConfig(), None)
    assert [str(w.message) for w in caught] == [
        f"ignored {config}: it belongs to uid 4242, not to you (root); "
        f"fix: if you trust it, export PIPEX_SAFE_DIRECTORIES={tmp_path} or run: sudo chown root {config}"
    ]
    for listed in (str(tmp_path), f"{tmp_path.parent}/*", "*"):
        found = find_project_config(tmp_path, environ={"PIPEX_SAFE_DIRECTORIES": f"/elsewhere:{listed}"})
        assert found == (ProjectConfig(detach=True), config)
    with pytest.warns(ConfigIgnored):  # "DIR" alone does not cover the folders under it
        find_project_config(tmp_path, environ={"PIPEX_SAFE_DIRECTORIES": str(tmp_path.parent)})
