"""``clean`` and ``rm`` of several workspaces ask first on a terminal, refuse without one, and ``--dry-run``
lists what would go."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipex
from pipex.cli.confirm import Declined, confirm
from tests import ptys

from .conftest import Invoke


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _workdir(tmp_path: Path) -> Path:
    wd = tmp_path / "wd"
    for name, size in (("a", 10), ("b", 2000)):
        (wd / name / "runs").mkdir(parents=True)
        (wd / name / "runs" / "data").write_bytes(b"x" * size)
    return wd


def test_confirm_on_a_terminal_asks() -> None:
    asked: list[str] = []
    confirm("delete?", yes=False, command="pipex clean", stdin=_Tty(), ask=lambda q: asked.append(q) or True)
    assert asked == ["delete?"]
    with pytest.raises(Declined, match=r"^nothing was deleted$"):
        confirm("delete?", yes=False, command="pipex clean", stdin=_Tty(), ask=lambda q: False)


def test_confirm_with_yes_does_not_ask() -> None:
    confirm("delete?", yes=True, command="pipex clean", stdin=io.StringIO(), ask=lambda q: pytest.fail("asked"))


@pytest.mark.parametrize("args", [["clean"], ["rm", "a", "b"], ["clean", "--json"]])
def test_without_a_terminal_it_refuses_unless_yes(invoke: Invoke, tmp_path: Path, args: list[str]) -> None:
    wd = _workdir(tmp_path)
    result = invoke([*args, "--workdir", str(wd)])
    command = " ".join(["pipex", args[0]])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {command} deletes without undo and asks first, but stdin is not a terminal",
        f"hint: pass -y/--yes to delete without asking; `{command} --dry-run` lists what would go",
    ]
    assert sorted(p.name for p in wd.iterdir()) == ["a", "b"]
    result = invoke([*args, "--workdir", str(wd), "--yes"])
    assert result.exit_code == 0
    assert list(wd.iterdir()) == []


def test_rm_of_one_workspace_does_not_ask(invoke: Invoke, tmp_path: Path) -> None:
    wd = _workdir(tmp_path)
    result = invoke(["rm", "a", "--workdir", str(wd)])
    assert result.exit_code == 0
    assert result.stdout.startswith('removed workspace "a" (')


def test_clean_dry_run_lists_what_would_go(invoke: Invoke, tmp_path: Path) -> None:
    wd = _workdir(tmp_path)
    result = invoke(["clean", "--dry-run", "--workdir", str(wd)])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        'would remove workspace "a" (10 B)',
        'would remove workspace "b" (2.0 KB)',
        f"would remove 2 workspaces (2.0 KB) in {wd}",
    ]
    result = invoke(["clean", "--dry-run", "--json", "--workdir", str(wd)])
    assert json.loads(result.stdout) == {
        "wouldRemove": [{"name": "a", "bytes": 10}, {"name": "b", "bytes": 2000}],
        "bytes": 2010,
        "inUse": [],
    }
    assert sorted(p.name for p in wd.iterdir()) == ["a", "b"]


def test_rm_dry_run_lists_what_would_go(invoke: Invoke, tmp_path: Path) -> None:
    wd = _workdir(tmp_path)
    result = invoke(["rm", "--dry-run", "b", "--workdir", str(wd)])
    assert result.stdout.splitlines() == [
        'would remove workspace "b" (2.0 KB)',
        f"would remove 1 workspace (2.0 KB) in {wd}",
    ]
    result = invoke(["rm", "--dry-run", "b", "ghost", "--workdir", str(wd)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f'error: workspace "ghost" does not exist in {wd}'
    assert sorted(p.name for p in wd.iterdir()) == ["a", "b"]


@pytest.mark.parametrize(("answer", "left"), [(b"n\n", ["a", "b"]), (b"y\n", [])])
def test_clean_on_a_terminal_asks(tmp_path: Path, answer: bytes, left: list[str]) -> None:
    wd = _workdir(tmp_path)
    repo = Path(pipex.__file__).resolve().parent.parent
    master, slave = ptys.openpty()
    try:
        os.write(master, answer)
        done = subprocess.run(
            [sys.executable, "-m", "pipex", "clean", "--workdir", str(wd)],
            check=False,
            stdin=slave,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(repo)},
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert done.stderr.decode().startswith(f"delete 2 workspaces (a, b; 2.0 KB) in {wd}? [y/N]:")
    assert done.stderr.decode().endswith("error: nothing was deleted\n" if left else "[y/N]:")
    assert sorted(p.name for p in wd.iterdir()) == left
    assert done.returncode == (1 if left else 0)
