"""``listing_digest`` gives what a walk of the same tree gives (``tree_digest``), without reading the tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from pipex.engine.chunked import THRESHOLD
from pipex.engine.digest import file_digest, listing_digest, tree_digest


def _listing(root: Path) -> list[tuple[str, str, int, str]]:
    """The tree as a listing, directories before their contents (the shape a store record has)."""
    out: list[tuple[str, str, int, str]] = []
    for here, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(here, root)
        prefix = "" if rel == "." else rel + "/"
        out += [(prefix + d, "d", 0, "") for d in dirs]
        for name in sorted(files):
            path = Path(here) / name
            if path.is_symlink():
                target = os.fsencode(str(path.readlink()))
                out.append((prefix + name, "l", len(target), hashlib.sha256(target).hexdigest()))
            else:
                data = path.read_bytes()
                kind = "x" if path.stat().st_mode & 0o100 else "f"
                out.append((prefix + name, kind, len(data), hashlib.sha256(data).hexdigest()))
    return out


def _tree(root: Path) -> Path:
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "b.txt").write_bytes(b"bb")
    (root / "Z").write_bytes(b"")
    (root / "sub" / "a.csv").write_bytes(b"1,2\n" * 100)
    (root / "sub" / "deep" / "run.sh").write_bytes(b"#!/bin/sh\n")
    (root / "sub" / "deep" / "run.sh").chmod(0o755)
    (root / "é☃ name.txt").write_bytes("ü".encode())
    (root / "sub" / "ln").symlink_to("../b.txt")
    (root / "dangling").symlink_to("/nowhere/at/all")
    return root


@pytest.mark.parametrize("shape", ["full", "empty"])
def test_listing_digest_is_the_walks(tmp_path: Path, shape: str) -> None:
    root = _tree(tmp_path / "t") if shape == "full" else tmp_path
    walked = tree_digest(root, manifest=False)
    assert listing_digest(_listing(root)) == (walked.digest, walked.size)


def test_a_changed_bit_changes_it(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    listing = _listing(root)
    flipped = [(rel, "f" if kind == "x" else kind, size, digest) for rel, kind, size, digest in listing]
    assert listing_digest(flipped) != listing_digest(listing)


def test_format_2_reads_again_only_the_big_files_and_gives_the_walks(tmp_path: Path) -> None:
    root = _tree(tmp_path / "t")
    (root / "sub" / "big.bin").write_bytes(os.urandom(THRESHOLD))  # chunked in format 2
    (root / "small.bin").write_bytes(os.urandom(THRESHOLD - 1))  # its SHA-256 in both formats
    asked: list[tuple[str, int]] = []

    def big(rel: str, size: int) -> str:
        asked.append((rel, size))
        return file_digest(str(root / rel), size, 2)[0]

    walked = tree_digest(root, manifest=False, version=2)
    assert listing_digest(_listing(root), 2, big) == (walked.digest, walked.size)
    assert asked == [("sub/big.bin", THRESHOLD)]
    assert listing_digest(_listing(root))[0] == tree_digest(root, manifest=False, version=1).digest != walked.digest
    with pytest.raises(ValueError, match="needs a digest for big files"):
        listing_digest(_listing(root), 2)
