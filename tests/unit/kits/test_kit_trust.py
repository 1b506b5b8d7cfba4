"""Kit code is run only from files the user owns and nobody else can write (file and folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipex.errors import Problem
from pipex.kits.resolve import kit_problems
from tests.unit.kits.test_kit_custom import echo, resolved, write

OTHER_UID = 4242  # no such user: named "uid 4242" in messages
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


def problems(pipeline) -> list[Problem]:
    return list(kit_problems(pipeline))


def test_a_kit_file_others_can_write_is_refused(make, project: Path) -> None:
    kit = write(project / "kits" / "geo.py", echo("x") + "\nraise SystemExit('must not run')\n")
    kit.chmod(0o666)
    assert problems(make({"uses": "geo"})) == [
        Problem(
            "steps[0].uses",
            f'refused to load kit "geo" from {kit}: other users can write to it',
            f"chmod go-w {kit}",
        )
    ]


def test_a_kit_folder_others_can_write_is_refused(make, project: Path) -> None:
    kit = write(project / "tools" / "geo.py", echo("x"))
    kit.parent.chmod(0o777)
    found = problems(make({"uses": "geo"}, kits={"geo": "./tools/geo.py"}))
    assert found == [
        Problem(
            "steps[0].uses",
            f'refused to load kit "geo" from {kit.parent}: other users can write to it',
            f"chmod go-w {kit.parent}",
        )
    ]


@needs_root
def test_a_kit_file_of_another_user_is_refused_unless_its_folder_is_listed_safe(
    make, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = write(project / "kits" / "geo.py", echo("theirs"))
    os.chown(kit, OTHER_UID, -1)
    assert problems(make({"uses": "geo"})) == [
        Problem(
            "steps[0].uses",
            f'refused to load kit "geo" from {kit}: it belongs to uid {OTHER_UID}, not to you (root)',
            f"if you trust it, export PIPEX_SAFE_DIRECTORIES={kit.parent} or run: sudo chown root {kit}",
        )
    ]
    monkeypatch.setenv("PIPEX_SAFE_DIRECTORIES", f"/nowhere:{kit.parent}")
    assert resolved(make({"uses": "geo"})).env["TAG"] == "theirs"


@needs_root
def test_a_module_kit_is_checked_before_its_package_runs(
    make, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lib" / "acme_kits_trust"
    write(package / "__init__.py", "raise SystemExit('must not run')\n")
    write(package / "geo.py", echo("module"))
    os.chown(package / "__init__.py", OTHER_UID, -1)
    monkeypatch.syspath_prepend(tmp_path / "lib")
    [problem] = problems(make({"uses": "geo"}, kits={"geo": "acme_kits_trust.geo"}))
    assert problem.message == (
        f'refused to load kit "geo" from {package / "__init__.py"}: it belongs to uid {OTHER_UID}, not to you (root)'
    )


def test_own_files_load(make, project: Path) -> None:
    write(project / "kits" / "geo.py", echo("mine"))
    assert resolved(make({"uses": "geo"})).env["TAG"] == "mine"
