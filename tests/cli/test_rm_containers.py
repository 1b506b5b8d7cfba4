"""`rm`/`clean` and the containers of what they delete: with no engine reachable, a warning and the files go."""

from __future__ import annotations

from pathlib import Path

from pipex.workspace.layout import Workspace
from tests.cli.conftest import Invoke


def crashed(workdir: Path, name: str) -> None:
    """A workspace as a killed pipex leaves it: a run still in staging (its container may still exist)."""
    ws = Workspace(workdir, name)
    ws.create()
    (ws.staging_dir / "20260101T000000000Z-deadbeef" / "artifacts").mkdir(parents=True)


def test_rm_without_an_engine_warns_and_deletes(invoke: Invoke, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    crashed(wd, "gone")
    Workspace(wd, "tidy").create()
    host = f"unix://{tmp_path}/none.sock"
    res = invoke(["--runtime", "podman", "--host", host, "rm", "--yes", "gone", "tidy", "--workdir", str(wd)])
    assert res.exit_code == 0, res.output
    assert not (wd / "gone").exists() and not (wd / "tidy").exists()
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1  # only the crashed one needs the engine
    assert warnings[0].startswith('warning: cannot remove the containers of workspace "gone" (')
    assert warnings[0].endswith(
        "); remove them with `podman rm -f $(podman ps -aq --filter label=pipex.workspace=gone)` once the engine runs"
    )


def test_clean_of_tidy_workspaces_needs_no_engine(invoke: Invoke, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    Workspace(wd, "a").create()
    Workspace(wd, "b").create()
    res = invoke(
        ["--runtime", "podman", "--host", f"unix://{tmp_path}/none.sock", "clean", "--yes", "--workdir", str(wd)]
    )
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
    assert res.stdout.startswith("removed 2 workspaces (")
