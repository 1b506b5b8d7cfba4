"""The safe tree walker: what it yields, what it reports, that it never follows a link (not even one swapped in
while it walks), that its copies never write through one, and that digests of plain trees did not change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipex.engine.digest import tree_digest
from pipex.workspace import safetree
from pipex.workspace.safetree import Skipped, walk
from pipex.workspace.treecopy import copy_into
from tests.pathsafety import DEPTH, SECRET, Plant, Sentinel, linked, plant_params, sentinel

__all__ = ["sentinel"]


def _tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "B.txt").write_bytes(b"")
    (root / "run.sh").write_bytes(b"#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / "sub" / "é.csv").write_bytes(b"x" * 3000)
    (root / "sub" / "deeper" / "big.bin").write_bytes(bytes(range(256)) * 5000)
    os.symlink("../a.txt", root / "sub" / "link")
    os.mkfifo(root / "sub" / "pipe")


def test_digest_values_are_unchanged(tmp_path: Path) -> None:
    # Computed by the digest before it walked with descriptors: existing caches and fingerprints stay valid.
    _tree(tmp_path / "t")
    found = tree_digest(tmp_path / "t")
    assert found.digest == "sha256:8b88f0bc3ec7654273a6ff310a5de2f5e272978f2e05bb1e3c716bae1d943998"
    assert (found.size, found.files) == (1283016, 7)
    assert found.manifest["sub/link"].startswith("l:") and found.manifest["sub/pipe"] == "p"


def test_walk_is_sorted_by_bytes_and_depth_first(tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    seen = [(n.rel, n.kind) for n in walk(tmp_path / "t")]
    assert seen == [
        ("B.txt", "file"),
        ("a.txt", "file"),
        ("empty", "dir"),
        ("run.sh", "file"),
        ("sub", "dir"),
        ("sub/deeper", "dir"),
        ("sub/deeper/big.bin", "file"),
        ("sub/link", "link"),
        ("sub/pipe", "fifo"),
        ("sub/é.csv", "file"),
    ]
    post = [(n.rel, n.leaving) for n in walk(tmp_path / "t", post_order=True) if n.kind == "dir"]
    assert post == [
        ("empty", False),
        ("empty", True),
        ("sub", False),
        ("sub/deeper", False),
        ("sub/deeper", True),
        ("sub", True),
    ]


def test_regular_only_reports_each_entry_verbatim(tmp_path: Path, sentinel: Sentinel) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "ok.txt").write_bytes(b"ok")
    os.symlink(sentinel.root, root / "home")
    os.mkfifo(root / "p")
    (root / "a\nb").write_bytes(b"")
    skipped: list[Skipped] = []
    seen = [n.rel for n in walk(root, regular_only=True, on_skip=skipped.append)]
    assert seen == ["ok.txt"]
    assert [s.message(" of input up") for s in skipped] == [
        "skipped 'a\\nb' of input up: its name holds control characters (a newline?)",
        f'skipped "home" of input up: a symlink (-> {sentinel.root}); pipex never follows links a step wrote',
        'skipped "p" of input up: a FIFO',
    ]
    sentinel.check()


def test_depth_is_bounded_and_reported(tmp_path: Path) -> None:
    plant = next(p.values[0] for p in plant_params() if p.id == "deep-nesting")  # type: ignore[attr-defined]
    plant.make(tmp_path, tmp_path)
    skipped: list[Skipped] = []
    nodes = list(walk(tmp_path, on_skip=skipped.append))
    assert len(nodes) == safetree.MAX_DEPTH and nodes[-1].rel.count("/") == safetree.MAX_DEPTH - 1
    assert [s.why for s in skipped] == [f"it is nested deeper than {safetree.MAX_DEPTH} directories"]
    assert DEPTH > safetree.MAX_DEPTH


def test_no_descriptor_leaks_when_a_walk_is_abandoned(tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    before = len(list(Path("/proc/self/fd").iterdir()))
    for _ in range(50):
        it = walk(tmp_path / "t")
        next(n for n in it if n.rel == "sub/deeper")
        it.close()
    assert len(list(Path("/proc/self/fd").iterdir())) == before


def test_a_directory_swapped_for_a_link_is_not_followed(tmp_path: Path, sentinel: Sentinel) -> None:
    root = tmp_path / "t"
    (root / "b").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a")
    seen = []
    for node in walk(root):
        seen.append((node.rel, node.kind))
        if node.rel == "a.txt":  # "b" is listed already: swap it for a link to the sentinel before it is opened
            (root / "b").rmdir()
            os.symlink(sentinel.root, root / "b")
    assert seen == [("a.txt", "file"), ("b", "link")]  # nothing of the sentinel
    sentinel.check()


def test_a_file_swapped_for_a_fifo_or_link_is_refused_not_waited_on(tmp_path: Path, sentinel: Sentinel) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "f").write_bytes(b"f")
    (root / "g").write_bytes(b"g")
    for node in walk(root):
        os.unlink(node.name, dir_fd=node.dir_fd)
        if node.name == "f":
            os.mkfifo(node.name, dir_fd=node.dir_fd)
        else:
            os.symlink(sentinel.root / "secret.txt", node.name, dir_fd=node.dir_fd)
        with pytest.raises(OSError):
            safetree.open_file(node)
    sentinel.check()


@pytest.mark.parametrize("plant", plant_params())
def test_copy_into_copies_data_only(tmp_path: Path, sentinel: Sentinel, plant: Plant) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "keep.txt").write_bytes(b"keep")
    plant.make(src, sentinel.root)
    skipped: list[Skipped] = []
    done = copy_into(src, dst, on_skip=skipped.append)
    assert (dst / "keep.txt").read_bytes() == b"keep"
    for dirpath, dirs, files in os.walk(dst):
        for name in [*dirs, *files]:
            mode = (Path(dirpath) / name).lstat().st_mode
            assert (mode & 0o170000) in (0o100000, 0o040000), name  # regular files and directories only
    if plant.fate == "skipped":
        assert plant.name not in [e.name for e in dst.iterdir()] and len(skipped) == 1 and plant.why in skipped[0].why
    elif plant.id == "deep-nesting":
        assert done.files == 1 and [s.why for s in skipped] == ["it is nested deeper than 128 directories"]
    else:
        assert done.files == 2 and skipped == []
    if plant.id == "hard-link-outside":
        assert (dst / "hard").read_bytes() == SECRET and (dst / "hard").stat().st_nlink == 1
    sentinel.check(linked=linked(plant))


@pytest.mark.parametrize(
    "planted",
    [
        pytest.param(lambda d, s: os.symlink(s, d / "cfg"), id="dir-link"),
        pytest.param(lambda d, s: os.symlink(s / "secret.txt", d / "cfg"), id="file-link"),
        pytest.param(lambda d, s: os.link(s / "secret.txt", d / "cfg"), id="hard-link"),
    ],
)
def test_copy_never_writes_through_what_the_output_holds(tmp_path: Path, sentinel: Sentinel, planted: object) -> None:
    """A second input's ``cfg/`` or ``cfg`` lands next to (never through) what an earlier input left."""
    dst = tmp_path / "dst"
    dst.mkdir()
    planted(dst, sentinel.root)  # type: ignore[operator]
    for i, content in enumerate(({"cfg/authorized_keys": b"evil"}, {"cfg": b"evil"})):
        src = tmp_path / f"src-{i}"
        for rel, data in content.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
        copy_into(src, dst, on_skip=lambda _s: None)
    sentinel.check(linked=True)
    assert not (sentinel.root / "authorized_keys").exists()
    assert (sentinel.root / "secret.txt").read_bytes() == SECRET
