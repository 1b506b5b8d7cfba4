"""Path safety on the fake runtime: whatever a step plants in /output, copyToOutput (one input, two inputs), the
artifacts digest and later runs never read or write outside the workspace, and the step still succeeds."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pipex.engine.events import StepWarning
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import TestResult, run
from tests.pathsafety import LONG, SECRET, Plant, Sentinel, linked, plant_params, sentinel
from tests.unit.engine.test_engine_support import of, write

__all__ = ["sentinel"]

PIPELINE = """
id: hostile
steps:
  - {id: a, image: alpine:3.20, cmd: [a]}
  - {id: b, image: alpine:3.20, cmd: [b]}
  - id: one
    image: alpine:3.20
    cmd: [one]
    inputs: [{step: a, copyToOutput: true}]
  - id: two
    image: alpine:3.20
    cmd: [two]
    inputs: [{step: a, copyToOutput: true}, {step: b, copyToOutput: true}]
"""


def _run(tmp_path: Path, plant: Plant, outside: Path, **kwargs: object) -> TestResult:
    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(step="a", behaviour=Behaviour(files={"a.txt": b"from a"}, plant=lambda out: plant.make(out, outside)))
    # b writes a real directory where a planted its entry: through a planted directory link, a naive merge
    # would write b's file into the sentinel (the user's ~/.ssh).
    rt.script(step="b", behaviour=Behaviour(files={f"{plant.name}/pwned.txt": b"pwned", "b.txt": b"from b"}))
    path = write(tmp_path / "p", PIPELINE)
    return run(path, runtime=rt, workdir=tmp_path / "wd", **kwargs)


def _tree(root: Path) -> dict[str, str]:
    """Each entry under ``root`` and what it is (links never followed)."""
    found: dict[str, str] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            kind = "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else "file"
            found[str(path.relative_to(root))] = kind if stat.S_ISREG(mode) or kind != "file" else "special"
    return found


@pytest.mark.parametrize("plant", plant_params())
def test_planted_entries_are_data_never_paths(tmp_path: Path, sentinel: Sentinel, plant: Plant) -> None:
    r = _run(tmp_path, plant, sentinel.root)
    assert [o.state for o in r.result.steps] == ["success"] * 4, [o.error for o in r.result.steps]
    assert r.result.ok
    sentinel.check(linked=linked(plant))
    assert not (sentinel.root / "pwned.txt").exists()

    for step in ("one", "two"):
        out = r.run_dir(step) / "artifacts"
        kinds = _tree(out)
        assert "link" not in kinds.values() and "special" not in kinds.values(), kinds
        assert (out / "a.txt").read_bytes() == b"from a"
        warnings = [w.message for w in of(r, StepWarning, step)]
        if plant.fate == "skipped":
            shown = repr(plant.name) if not plant.name.isprintable() else f'"{plant.name}"'
            assert any(m.startswith(f"skipped {shown} of input a: ") for m in warnings), warnings
            assert all(plant.why in m for m in warnings if m.startswith(f"skipped {shown} of input a"))
        elif plant.id != "deep-nesting":
            assert [m for m in warnings if " of input a: " in m] == []  # copied as data (b's may conflict)
    # two inputs: b's real directory lands in the output, never through a's link
    assert (r.run_dir("two") / "artifacts" / "b.txt").read_bytes() == b"from b"
    if plant.fate == "skipped" and plant.name.isprintable():  # (b's own copy of a newline name is skipped too)
        assert (r.run_dir("two") / "artifacts" / plant.name / "pwned.txt").read_bytes() == b"pwned"


@pytest.mark.parametrize("plant", plant_params())
def test_later_runs_and_digests_work(tmp_path: Path, sentinel: Sentinel, plant: Plant) -> None:
    first = _run(tmp_path, plant, sentinel.root)
    assert first.result.ok
    again = _run(tmp_path, plant, sentinel.root)
    assert again.result.ok and all(again.cached(s) for s in ("a", "b", "one", "two"))
    forced = _run(tmp_path, plant, sentinel.root, force=True)
    assert forced.result.ok and all(forced.ran(s) for s in ("a", "b", "one", "two"))
    # the digest of a's artifacts is the same each time: the walk is deterministic, and nothing outside entered it
    digests = {json.loads((r.run_dir("a") / "meta.json").read_text())["artifactsDigest"] for r in (first, forced)}
    assert len(digests) == 1 and next(iter(digests)).startswith("sha256:")
    sentinel.check(linked=linked(plant))


def test_hard_link_is_copied_as_new_data(tmp_path: Path, sentinel: Sentinel) -> None:
    plant = next(p for p in plant_params() if getattr(p, "id", "") == "hard-link-outside")
    r = _run(tmp_path, plant.values[0], sentinel.root)  # type: ignore[attr-defined]
    copy = r.run_dir("one") / "artifacts" / "hard"
    assert copy.read_bytes() == SECRET and copy.stat().st_nlink == 1
    assert copy.stat().st_ino != (sentinel.root / "secret.txt").stat().st_ino
    copy.write_bytes(b"changed")  # the copy is a new inode: the host file is untouched
    sentinel.check(linked=True)


def test_long_name_and_deep_nesting_copy_what_they_can(tmp_path: Path, sentinel: Sentinel) -> None:
    by_id = {getattr(p, "id", ""): p.values[0] for p in plant_params()}  # type: ignore[attr-defined]
    r = _run(tmp_path, by_id["name-255-bytes"], sentinel.root)
    assert (r.run_dir("one") / "artifacts" / LONG).read_bytes() == b"long"
    r = _run(tmp_path / "deep", by_id["deep-nesting"], sentinel.root)
    warnings = [w.message for w in of(r, StepWarning, "one")]
    assert len(warnings) == 1 and warnings[0].endswith(": it is nested deeper than 128 directories")
    assert (r.run_dir("one") / "artifacts" / "deep" / "d").is_dir()


MOUNTED = """
id: mounted
steps:
  - {id: m, image: alpine:3.20, cmd: [m], mounts: [{host: data, container: /data}]}
"""


def _reasons(r: TestResult, step: str) -> tuple[str, ...]:
    from pipex.engine.events import StepStart

    (start,) = of(r, StepStart, step)
    return start.reasons


@pytest.mark.parametrize("plant", plant_params())
def test_fingerprint_and_explain_of_a_mount_holding_planted_entries(
    tmp_path: Path, sentinel: Sentinel, plant: Plant
) -> None:
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    (root / "data" / "x.txt").write_bytes(b"1")
    plant.make(root / "data", sentinel.root)
    path = write(root, MOUNTED)
    rt = FakeRuntime(images=["alpine:3.20"])
    first = run(path, runtime=rt, workdir=tmp_path / "wd", explain=True)
    assert first.result.ok and _reasons(first, "m") == ("no previous successful run",)
    again = run(path, runtime=rt, workdir=tmp_path / "wd", explain=True)
    assert again.cached("m")  # the same digest twice: nothing outside the mount entered it
    (root / "data" / "x.txt").write_bytes(b"2")
    changed = run(path, runtime=rt, workdir=tmp_path / "wd", explain=True)
    assert _reasons(changed, "m") == ("mount /data: x.txt changed",)
    sentinel.check(linked=linked(plant))


@pytest.mark.parametrize("plant", plant_params())
def test_explain_names_an_input_whose_planted_entries_changed(tmp_path: Path, sentinel: Sentinel, plant: Plant) -> None:
    _run(tmp_path, plant, sentinel.root)
    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(
        step="a", behaviour=Behaviour(files={"a.txt": b"changed"}, plant=lambda out: plant.make(out, sentinel.root))
    )
    rt.script(step="b", behaviour=Behaviour(files={"b.txt": b"from b"}))
    r = run(tmp_path / "p" / "pipeline.yml", runtime=rt, workdir=tmp_path / "wd", explain=True, force=["a"])
    assert r.result.ok
    assert _reasons(r, "one") == ("input a: artifacts changed",)
    assert _reasons(r, "two") == ("input a: artifacts changed",)
    sentinel.check(linked=linked(plant))
