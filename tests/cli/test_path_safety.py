"""Path safety of the workspace commands: each kind of entry a step can plant × every command that lists, reads,
exports or deletes artifacts. Nothing outside the workspace is read or written (the sentinel), no command ends in
an internal error, and what is not a regular file or directory is listed, refused or skipped, never followed."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.cli.wsfixtures import Demo, make_demo
from tests.pathsafety import DEPTH, SECRET, Plant, Sentinel, linked, plant_params, sentinel

__all__ = ["sentinel"]

COMMANDS = ["cat-list", "cat-entry", "export", "show", "inspect", "list", "rm-step", "prune", "rm", "clean"]


@pytest.fixture
def hostile(tmp_path: Path, sentinel: Sentinel, request: pytest.FixtureRequest) -> Demo:
    demo = make_demo(tmp_path)
    plant: Plant = request.param
    plant.make(demo.artifacts("a"), sentinel.root)
    cache = demo.ws / "caches" / "shared"  # caches are written by containers too (list sizes them, rm deletes them)
    cache.mkdir(parents=True)
    plant.make(cache, sentinel.root)
    return demo


def _entry_path(plant: Plant) -> str:
    return "deep/" + "d/" * DEPTH + "f" if plant.id == "deep-nesting" else plant.name


def _check_export(res: object, dest: Path, plant: Plant) -> None:
    assert res.exit_code == 0, res.stderr  # type: ignore[attr-defined]
    kinds = {}
    for dirpath, dirs, files in os.walk(dest):
        for name in [*dirs, *files]:
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            assert stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode), path
            kinds[str(path.relative_to(dest))] = mode
            if stat.S_ISLNK(mode):  # only the inner links the demo has none of: nothing planted is recreated
                raise AssertionError(f"a planted link was exported: {path}")
    assert (dest / "top.txt").read_bytes() == b"top\n"
    stderr: str = res.stderr  # type: ignore[attr-defined]
    if plant.fate == "skipped":
        assert stderr.startswith("warning: skipped "), stderr
        assert len(stderr.splitlines()) == 1  # one line, even for a name holding a newline
        assert plant.name not in [e.name for e in dest.iterdir()]
    elif plant.id == "hard-link-outside":
        copy = dest / "hard"  # the run's bytes, copied into a new file: not a link to the host file
        assert copy.read_bytes() == SECRET and copy.stat().st_nlink == 1


@pytest.mark.parametrize("hostile", plant_params(), indirect=True)
@pytest.mark.parametrize("command", COMMANDS)
def test_commands_never_leave_the_workspace(
    invoke: Invoke, hostile: Demo, sentinel: Sentinel, tmp_path: Path, command: str, request: pytest.FixtureRequest
) -> None:
    plant: Plant = request.node.callspec.params["hostile"]
    wd = ["--workdir", str(hostile.workdir)]
    if command == "cat-list":
        res = invoke(["cat", "demo", "a", *wd])
        assert res.exit_code == 0, res.stderr
        lines = res.stdout.splitlines()
        assert "top.txt" in lines and "x/y.txt" in lines
        assert len(lines) == 3 + (128 if plant.id == "deep-nesting" else 1)  # one line per entry, none forged
        assert SECRET.decode().strip() not in res.stdout
        shown = plant.name if plant.name.isprintable() else repr(plant.name)[1:-1]
        assert any(line == shown or line.startswith((shown + " -> ", shown + "/")) for line in lines), lines
    elif command == "cat-entry":
        res = invoke(["cat", "demo", "a", _entry_path(plant), *wd])
        if plant.fate == "copied" or plant.id == "name-with-newline":
            assert res.exit_code == 0, res.stderr  # regular files: the run's own bytes
        elif plant.id in ("fifo", "socket"):
            assert (res.exit_code, res.stdout) == (0, plant.name + "\n")  # listed, never opened
        else:
            assert res.exit_code == 2, res.stderr
            assert res.stdout == ""
            assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
            assert len(res.stderr.splitlines()) == 2  # the error and its hint: a planted name forges no line
    elif command == "export":
        dest = tmp_path / "exported"
        res = invoke(["export", "demo", "a", str(dest), *wd])
        _check_export(res, dest, plant)
    elif command == "show":
        res = invoke(["show", "demo", *wd])
        assert res.exit_code == 0, res.stderr
    elif command == "inspect":
        res = invoke(["inspect", "demo", "a", "--json", *wd])
        assert res.exit_code == 0, res.stderr
        assert json.loads(res.stdout)
    elif command == "list":
        res = invoke(["list", "--json", *wd])
        assert res.exit_code == 0, res.stderr
        assert json.loads(res.stdout)[0]["size"] > 0
    elif command == "rm-step":
        res = invoke(["rm-step", "demo", "a", *wd])
        assert res.exit_code == 0, res.stderr
        assert not any((hostile.ws / "runs").glob("*/artifacts/top.txt"))
    elif command == "prune":
        planted = hostile.run_id("a")
        hostile.rerun(a={"files": {"top.txt": b"2"}})  # the planted run is no longer referenced
        res = invoke(["prune", "demo", "--json", *wd])
        assert res.exit_code == 0, res.stderr
        assert planted in json.loads(res.stdout)["removed"] and not (hostile.ws / "runs" / planted).exists()
    elif command == "rm":
        res = invoke(["rm", "demo", *wd])
        assert res.exit_code == 0, res.stderr
        assert not hostile.ws.exists()
    elif command == "clean":
        res = invoke(["clean", "--yes", *wd])
        assert res.exit_code == 0, res.stderr
        assert not hostile.ws.exists()
    sentinel.check(linked=linked(plant))
    assert sorted(e.name for e in sentinel.root.iterdir()) == ["secret.txt", "sub", "trip.fifo"]


@pytest.mark.parametrize(
    ("name", "target", "kept"),
    [
        ("inner", "x/y.txt", True),
        ("sibling", "../top.txt", True),  # from x/: stays inside
        ("through", "up/../top.txt", False),  # climbs from wherever the link x/up points: not followed
        ("out", "../../top.txt", False),
    ],
)
def test_export_keeps_only_links_that_stay_inside(
    invoke: Invoke, tmp_path: Path, name: str, target: str, kept: bool
) -> None:
    demo = make_demo(tmp_path)
    out = demo.artifacts("a")
    os.symlink("..", out / "x" / "up")
    os.symlink(target, out / "x" / name)
    dest = tmp_path / "exported"
    res = invoke(["export", "demo", "a", str(dest), "--workdir", str(demo.workdir)])
    assert res.exit_code == 0
    assert (dest / "x" / name).is_symlink() == kept
    if not kept:
        assert f'warning: skipped link "x/{name} -> {target}": it points outside the artifacts\n' in res.stderr


def test_reporters_print_a_skipped_entry_as_one_warning_line() -> None:
    from pipex.engine.events import PipelineStart, StepRef, StepWarning
    from tests.cli.test_reporters import Feed, plain_output

    ev = Feed()
    two = StepRef("two", "two")
    message = "skipped 'new\\nline' of input a: its name holds control characters (a newline?)"
    lines = plain_output([ev(PipelineStart, pipeline="p", steps=(two,)), ev(StepWarning, step=two, message=message)])
    assert lines[1:] == [f"! two  warning: {message}"]
    assert (
        StepWarning(
            run_id="r", seq=1, ts=ev(PipelineStart, pipeline="p", steps=()).ts, workspace="w", step=two, message=message
        ).to_json()["message"]
        == message
    )


def test_export_reports_a_skipped_directory_once(invoke: Invoke, tmp_path: Path) -> None:
    demo = make_demo(tmp_path)
    bad = demo.artifacts("a") / "new\nline"
    (bad / "sub").mkdir(parents=True)
    for i in range(3):
        (bad / "sub" / f"f{i}").write_bytes(b"x")
    dest = tmp_path / "exported"
    res = invoke(["export", "demo", "a", str(dest), "--workdir", str(demo.workdir)])
    assert res.exit_code == 0
    assert res.stderr == 'warning: skipped "new\\nline/": its name holds control characters (a newline?)\n'
    assert sorted(e.name for e in dest.iterdir()) == ["top.txt", "x"]
