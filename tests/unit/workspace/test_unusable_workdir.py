"""A workdir that cannot hold a workspace says what is wrong and how to fix it, with exit 2."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest

from pipex.cli.errors import handle
from pipex.errors import UnusableWorkdir
from pipex.testing import run
from pipex.workspace.layout import Workspace, _why_unusable


def test_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "wd").write_text("not a directory")
    with pytest.raises(UnusableWorkdir) as caught:
        Workspace(tmp_path / "wd", "demo").create()
    assert caught.value.exit_code == 2
    out = io.StringIO()
    assert handle(caught.value, stream=out) == 2
    assert out.getvalue() == (
        f"error: cannot create workspace {tmp_path}/wd/demo: a file is in the way (a path component is not a "
        "directory)\n"
        "hint: remove the file that is in the way, or choose another workdir with --workdir\n"
    )


def test_a_run_into_an_unusable_workdir_fails_before_it_starts(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pipeline.yml").write_text("id: d\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [a]}\n")
    (tmp_path / "wd").write_text("")
    with pytest.raises(UnusableWorkdir, match="a file is in the way"):
        run(tmp_path / "p", workdir=tmp_path / "wd" / "sub")


@pytest.mark.parametrize(
    ("code", "why"),
    [
        (errno.EACCES, "permission denied (you may not write in the workdir)"),
        (errno.EROFS, "the workdir is on a read-only file system"),
        (errno.ENOSPC, "no space left on the device"),
    ],
)
def test_reasons_are_in_words(code: int, why: str) -> None:
    assert _why_unusable(OSError(code, "x")) == why
