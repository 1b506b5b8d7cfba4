"""A workspace committed by pipex before tree format 2 (``data/v1-workspace.tar.xz``), and how it was made.

The archive holds ``project/`` (the pipeline and its mounted script) and ``wd/`` (the workdir after one run on the
fake runtime): step ``a`` wrote a 9 MiB file (chunked in format 2, so its v2 digest differs) and a small one; ``b``
reads ``a``. Its runs carry no ``artifactsDigestFormat``. Made by commit ddbc415 (the last one hashing artifacts in
format 1) with::

    git archive ddbc415 pipex | tar -x -C /tmp/v1
    PYTHONPATH=/tmp/v1:. .venv/bin/python tests/unit/engine/v1_workspace.py tests/unit/engine/data/v1-workspace.tar.xz
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
import tempfile
from pathlib import Path

from pipex.testing import Mock, mock, run

ARCHIVE = Path(__file__).parent / "data" / "v1-workspace.tar.xz"
PIPELINE = """\
id: old
steps:
  - id: a
    image: alpine:3.20
    cmd: [sh, /app/run.sh]
    mounts: [{host: scripts, container: /app}]
  - id: b
    image: alpine:3.20
    cmd: [b]
    inputs: [{step: a}]
"""
BLOCK = hashlib.sha256(b"pipex").digest() * 128  # 4 KiB, repeated: the archive stays a few KB
BIG = BLOCK * (9 * 256) + b"tail"  # 9 MiB + 4 bytes: above the chunking threshold, not a multiple of a chunk


def mocks() -> list[Mock]:
    return [mock("a", files={"big.bin": BIG, "small.txt": b"small\n"}), mock("b", files={"seen.txt": b"ok\n"})]


def make_project(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    (root / "scripts" / "run.sh").write_text("echo a\n")
    (root / "pipeline.yml").write_text(PIPELINE)
    return root / "pipeline.yml"


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        result = run(make_project(base / "project"), mocks=mocks(), workdir=base / "wd")
        assert result.status == "success", result.events
        with tarfile.open(out, "w:xz") as tar:
            tar.add(base / "project", "project")
            tar.add(base / "wd", "wd")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
