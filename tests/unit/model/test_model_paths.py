from __future__ import annotations

from pathlib import Path

import pytest

from pipex.model.paths import check_container_path, resolve_host_path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "secret").mkdir()
    (root / "escape").symlink_to(tmp_path / "secret")
    (root / "inside").symlink_to(root / "data")
    return root.resolve()


def test_relative_paths_resolve_against_the_root(project: Path) -> None:
    assert resolve_host_path("data", root=project, boundary=project) == project / "data"
    assert resolve_host_path("./data/sub/..", root=project, boundary=project) == project / "data"
    assert resolve_host_path("file.txt", root=project, boundary=project) == project / "file.txt"
    assert resolve_host_path("inside", root=project, boundary=project) == project / "data"


def test_the_root_may_be_below_the_boundary(project: Path) -> None:
    assert resolve_host_path("../file.txt", root=project / "data", boundary=project) == project / "file.txt"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "a host path must not be empty"),
        ("/etc", "host path '/etc' must be relative to the pipeline root {root}"),
        ("~/x", "host path '~/x' must be relative to the pipeline root {root}"),
        ("../secret", "host path '../secret' resolves to {secret}, outside the project directory {root}"),
        ("escape", "host path 'escape' resolves to {secret}, outside the project directory {root}"),
        ("missing/x", "host path 'missing/x' does not exist ({root}/missing/x)"),
    ],
)
def test_host_path_violations(project: Path, value: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        resolve_host_path(value, root=project, boundary=project)
    secret = project.parent / "secret"
    assert str(info.value) == message.format(root=project, secret=secret)


@pytest.mark.parametrize("value", ["/data", "/output", "/app/src/", "//data", "/inputs", "/opt/./x", "/in/put"])
def test_good_container_paths(value: str) -> None:
    assert check_container_path(value) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "a container path must not be empty"),
        ("data", "container path 'data' must be absolute (start with /)"),
        ("/data/../etc", "container path '/data/../etc' must not contain \"..\""),
        ("/", 'a container path must not be "/"'),
        ("//./", 'a container path must not be "/"'),
        ("/input", "container path '/input' is under /input, which pipex reserves for step inputs"),
        ("/input/a/b", "container path '/input/a/b' is under /input, which pipex reserves for step inputs"),
        ("//input/", "container path '//input/' is under /input, which pipex reserves for step inputs"),
    ],
)
def test_bad_container_paths(value: str, message: str) -> None:
    assert check_container_path(value) == message
