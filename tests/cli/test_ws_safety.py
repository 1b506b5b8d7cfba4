"""Nothing is read or copied outside the run: `../`, absolute paths and planted symlinks are refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.cli.wsfixtures import Demo, make_demo

HINT = "hint: `pipex cat demo a` lists the artifacts; links show as `name -> target`\n"


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    d = make_demo(tmp_path)
    out = d.artifacts("a")
    os.symlink("/etc/passwd", out / "passwd")  # what a malicious step could leave in /output
    os.symlink("../../state.json", out / "state")
    os.symlink("..", out / "x" / "up")
    os.symlink("y.txt", out / "x" / "same")  # a link that stays inside
    return d


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../meta.json", 'path "../meta.json" contains ".."; it would leave the step\'s artifacts'),
        ("x/../../meta.json", 'path "x/../../meta.json" contains ".."; it would leave the step\'s artifacts'),
        ("/etc/passwd", 'path "/etc/passwd" is absolute; artifact paths are relative to the step\'s output'),
        ("passwd", '"passwd" is a symlink (-> /etc/passwd); pipex never follows links a step wrote'),
        ("state", '"state" is a symlink (-> ../../state.json); pipex never follows links a step wrote'),
        ("x/up/meta.json", '"x/up" is a symlink (-> ..); pipex never follows links a step wrote'),
        ("x/same", '"x/same" is a symlink (-> y.txt); pipex never follows links a step wrote'),
    ],
)
def test_cat_refuses_escapes(invoke: Invoke, demo: Demo, path: str, message: str) -> None:
    res = invoke(["cat", "demo", "a", path, "--workdir", str(demo.workdir)])
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == f"error: {message}\n{HINT}"


@pytest.mark.parametrize("path", ["../", "/etc", "passwd", "state", "x/up"])
def test_export_refuses_escapes(invoke: Invoke, demo: Demo, tmp_path: Path, path: str) -> None:
    res = invoke(["export", "demo", "a", str(tmp_path / "out"), "--path", path, "--workdir", str(demo.workdir)])
    assert res.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_planted_links_are_listed_not_followed(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["cat", "demo", "a", "--workdir", str(demo.workdir)])
    assert res.stdout == (
        "passwd -> /etc/passwd\nstate -> ../../state.json\ntop.txt\nx/\nx/same -> y.txt\nx/up -> ..\nx/y.txt\n"
    )


def test_export_keeps_inner_links_and_skips_escaping_ones(invoke: Invoke, demo: Demo, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    res = invoke(["export", "demo", "a", str(dest), "--workdir", str(demo.workdir)])
    assert res.exit_code == 0
    assert res.stdout == f"exported 2 files (6 B) and 2 links to {dest}\n"
    assert res.stderr == (
        'warning: skipped link "passwd -> /etc/passwd": it points outside the artifacts\n'
        'warning: skipped link "state -> ../../state.json": it points outside the artifacts\n'
    )
    found = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*"))
    assert found == ["top.txt", "x", "x/same", "x/up", "x/y.txt"]
    assert str((dest / "x" / "same").readlink()) == "y.txt" and str((dest / "x" / "up").readlink()) == ".."


def test_api_read_refuses_and_reads(demo: Demo) -> None:
    import pipex.errors
    from pipex.engine.engine import Engine

    ws = Engine(demo.workdir).workspace("demo")
    assert ws.read("a", "x/y.txt") == b"yy"
    for bad in ("passwd", "state", "../meta.json", "/etc/passwd"):
        with pytest.raises(pipex.errors.UnsafePath):
            ws.read("a", bad)
    assert [e.display() for e in ws.artifacts("a", "x")] == ["x/same -> y.txt", "x/up -> ..", "x/y.txt"]
    assert json.loads(json.dumps([e.to_json() for e in ws.artifacts("a", "x")]))[0]["type"] == "link"
