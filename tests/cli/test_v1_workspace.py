"""The readers on a workspace committed by a pipex that hashed artifacts in tree format 1 (no
``artifactsDigestFormat`` in its runs): nothing of it depends on the format."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Invoke
from tests.unit.engine.test_digest_upgrade import OLD_A, extract
from tests.unit.engine.v1_workspace import BIG


def test_show_cat_inspect_and_export_read_a_format_1_workspace(invoke: Invoke, tmp_path: Path) -> None:
    _, wd = extract(tmp_path / "old")
    at = ["--workdir", str(wd)]
    shown = invoke(["show", "old", *at])
    assert shown.exit_code == 0, shown.stderr
    assert [line.split()[:2] for line in shown.stdout.splitlines()[1:]] == [["a", "success"], ["b", "success"]]
    assert invoke(["cat", "old", "a", *at]).stdout == "big.bin\nsmall.txt\n"
    assert invoke(["cat", "old", "a", "small.txt", *at]).stdout == "small\n"
    inspected = json.loads(invoke(["inspect", "old", "a", "--json", *at]).stdout)
    assert inspected["artifactsDigest"] == OLD_A and "artifactsDigestFormat" not in inspected
    dest = tmp_path / "out"
    exported = invoke(["export", "old", "a", str(dest), *at])
    assert exported.exit_code == 0, exported.stderr
    assert (dest / "big.bin").read_bytes() == BIG and (dest / "small.txt").read_bytes() == b"small\n"
