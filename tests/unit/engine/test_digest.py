from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipex.engine.digest import (
    TRUNCATED,
    ManifestDiff,
    TreeDigest,
    diff_manifests,
    file_digest,
    load_manifest,
    save_manifest,
    tree_digest,
)
from pipex.errors import PipexError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_tree(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    (root / "scripts" / "analyze.py").write_text("print('hi')\n")
    (root / "data.csv").write_text("a,b\n1,2\n")
    (root / "empty").mkdir()
    os.symlink("data.csv", root / "link")
    return root


def test_encoding_is_the_documented_one(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    names = ["a", "B", "é", "z.sh"]
    for name in names:
        (root / name).write_bytes(name.encode() * 2)
    (root / "z.sh").chmod(0o755)
    (root / "sub").mkdir()
    (root / "sub" / "f").write_bytes(b"x")
    os.symlink("../a", root / "sub" / "l")
    sub = sha(f"f 1 {sha(b'x')} f\0l 4 {sha(b'../a')} l\0".encode())
    lines = {
        b"a": f"f 2 {sha(b'aa')} a\0",
        b"B": f"f 2 {sha(b'BB')} B\0",
        "é".encode(): f"f 4 {sha('éé'.encode())} é\0",
        b"z.sh": f"x 8 {sha(b'z.shz.sh')} z.sh\0",
        b"sub": f"d 5 {sub} sub\0",
    }
    top = sha("".join(lines[k] for k in sorted(lines)).encode())  # bytewise: "B" < "a" < "sub" < "z.sh" < "é"
    expected = "sha256:" + sha(f"pipex-tree-1\0d 21 {top} \0".encode())

    result = tree_digest(root)

    assert result.digest == expected
    assert (result.size, result.files) == (17, 6)
    assert result.manifest["z.sh"] == f"x:{sha(b'z.shz.sh')}"
    assert result.manifest["sub"] == "d"
    assert result.manifest["sub/l"] == f"l:{sha(b'../a')}"


def test_single_file_agrees_with_sha256sum(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_bytes(b"k: v\n")
    content = sha(b"k: v\n")  # what sha256sum prints
    result = tree_digest(path)
    assert result.manifest == {"": f"f:{content}"}
    assert result.digest == "sha256:" + sha(f"pipex-tree-1\0f 5 {content} \0".encode())
    assert (result.size, result.files) == (5, 1)


def test_big_file_is_read_in_chunks_correctly(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 5)
    path = tmp_path / "big"
    path.write_bytes(data)
    assert file_digest(str(path), len(data)) == (sha(data), len(data))
    assert file_digest(str(path), 10) == (sha(data), len(data))  # a file bigger than stat said is read to its end


@pytest.mark.parametrize("size", [(1 << 20) - 1, 1 << 20, (1 << 20) + 1, 2 << 20])
@pytest.mark.parametrize("stat_said", ["right", "less", "more"])
def test_sizes_around_the_read_block_whatever_stat_said(tmp_path: Path, size: int, stat_said: str) -> None:
    data = os.urandom(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    expected = {"right": size, "less": size // 2, "more": size + 4096}[stat_said]
    assert file_digest(str(path), expected) == (sha(data), size)


def test_moving_the_tree_keeps_the_digest(tmp_path: Path) -> None:
    first = tree_digest(make_tree(tmp_path / "one"))
    moved = tmp_path / "elsewhere" / "two"
    moved.parent.mkdir()
    (tmp_path / "one").rename(moved)
    assert tree_digest(moved) == first
    assert tree_digest(make_tree(tmp_path / "three")).digest == first.digest


def test_mtime_and_group_permissions_do_not_count(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    before = tree_digest(root).digest
    os.utime(root / "data.csv", ns=(1, 1))
    (root / "data.csv").chmod(0o664)
    (root / "empty").chmod(0o700)
    assert tree_digest(root).digest == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: (r / "scripts" / "analyze.py").chmod(0o755), id="exec-bit"),
        pytest.param(lambda r: (r / "data.csv").write_text("a,b\n1,3\n"), id="content-same-size"),
        pytest.param(lambda r: (r / "data.csv").write_text("a,b\n"), id="content"),
        pytest.param(lambda r: (r / "data.csv").rename(r / "data2.csv"), id="rename"),
        pytest.param(lambda r: (r / "empty" / "sub").mkdir(), id="empty-dir"),
        pytest.param(lambda r: ((r / "link").unlink(), os.symlink("scripts", r / "link")), id="symlink-target"),
        pytest.param(lambda r: ((r / "empty").rmdir(), (r / "empty").write_bytes(b"")), id="dir-to-file"),
    ],
)
def test_each_change_changes_the_digest(tmp_path: Path, change: object) -> None:
    root = make_tree(tmp_path / "t")
    before = tree_digest(root).digest
    change(root)  # type: ignore[operator]
    assert tree_digest(root).digest != before


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("secret")
    root = tmp_path / "t"
    root.mkdir()
    os.symlink(outside, root / "escape")
    os.symlink(tmp_path, root / "loop")
    before = tree_digest(root)
    outside.write_text("changed")
    assert tree_digest(root) == before
    assert before.size == 0 and before.files == 2


def test_root_symlink_is_followed_like_a_bind_mount(tmp_path: Path) -> None:
    real = make_tree(tmp_path / "real")
    os.symlink(real, tmp_path / "alias")
    assert tree_digest(tmp_path / "alias").digest == tree_digest(real).digest


def test_fifo_is_recorded_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    result = tree_digest(tmp_path)
    assert result.manifest == {"pipe": "p"}


def test_non_utf8_names(tmp_path: Path) -> None:
    (tmp_path / os.fsdecode(b"caf\xe9")).write_bytes(b"x")  # not valid UTF-8
    result = tree_digest(tmp_path)
    assert list(result.manifest) == ["caf\udce9"]
    top = sha(f"f 1 {sha(b'x')} ".encode() + b"caf\xe9\0")
    assert result.digest == "sha256:" + sha(f"pipex-tree-1\0d 1 {top} \0".encode())


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PipexError) as info:
        tree_digest(tmp_path / "nope")
    assert info.value.message == f"cannot read {tmp_path / 'nope'} to compute its digest: No such file or directory"
    assert info.value.hint == "make it readable by the user running pipex, or leave it out of the mount"


def test_diff_manifests_names_files_not_their_new_directories() -> None:
    old = {"a": "f:1", "b": "f:2", "gone": "d", "gone/x": "f:3", "keep": "d", "empty": "d"}
    new = {"a": "f:9", "b": "f:2", "new": "d", "new/deep": "d", "new/deep/y": "f:4", "keep": "d", "e2": "d"}
    assert diff_manifests(old, new) == ManifestDiff(
        changed=("a",), added=("e2/", "new/deep/y"), removed=("empty/", "gone/x")
    )


def test_manifest_round_trip_and_damage(tmp_path: Path) -> None:
    tree = tree_digest(make_tree(tmp_path / "t"))
    path = tmp_path / "manifest.json"
    save_manifest(path, tree.manifest)
    assert load_manifest(path) == dict(tree.manifest)
    path.write_text('{"a": 1}')
    assert load_manifest(path) is None
    path.write_text("{trunc")
    assert load_manifest(path) is None
    assert load_manifest(tmp_path / "absent.json") is None


def test_tree_digest_is_a_value() -> None:
    assert TreeDigest("sha256:x", 1, 1) == TreeDigest("sha256:x", 1, 1)


def test_a_manifest_past_its_limit_is_truncated_but_the_digest_is_the_same(tmp_path: Path) -> None:
    for d in range(3):
        (tmp_path / f"d{d}").mkdir()
        for f in range(3):
            (tmp_path / f"d{d}" / f"f{f}").write_text(f"{d}{f}")
    full = tree_digest(tmp_path)
    assert len(full.manifest) == 12
    cut = tree_digest(tmp_path, manifest_limit=5)
    assert dict(cut.manifest) == {TRUNCATED: ""}
    assert (cut.digest, cut.size, cut.files) == (full.digest, full.size, full.files)
    assert dict(tree_digest(tmp_path, manifest_limit=12).manifest) == dict(full.manifest)
