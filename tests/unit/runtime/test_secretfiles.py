"""What backends make to deliver secrets is owned like containers are: named after the owner, reaped when it died."""

from __future__ import annotations

import os
from pathlib import Path

from pipex.runtime import labels, secretfiles
from pipex.runtime.fake import FakeRuntime
from pipex.runtime.reaper import reap


def test_names_carry_the_owner_and_only_dead_owners_of_this_workdir_are_reaped(tmp_path: Path) -> None:
    mine = labels.container_labels(tmp_path, "ws", "run", "step", pid=999_999)
    name = secretfiles.owner_name(mine)
    wd = labels.workdir_hash(tmp_path)
    assert name.startswith(f"pipex-{wd}-") and "-999999-" in name
    assert secretfiles.dead_owner(name, wd, alive=lambda pid: False)
    assert not secretfiles.dead_owner(name, wd, alive=lambda pid: True)
    assert not secretfiles.dead_owner(name, "0" * 16, alive=lambda pid: False)  # another workdir's
    other_host = secretfiles.owner_name({**mine, labels.HOST: "elsewhere"})
    assert not secretfiles.dead_owner(other_host, wd, alive=lambda pid: False)
    ours = secretfiles.owner_name(labels.container_labels(tmp_path, "ws", "run", "step"))
    assert not secretfiles.dead_owner(ours, wd, alive=lambda pid: False)  # this very process


def test_secret_files_are_private_and_reaped_after_their_owner_died(tmp_path: Path) -> None:
    dead = secretfiles.owner_name(labels.container_labels(tmp_path, "ws", "r", "s", pid=999_998))
    folder = secretfiles.write_files(dead, {"KUBE": b"value-1234"})
    try:
        assert folder.parent.stat().st_mode & 0o777 == 0o700
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "KUBE").read_bytes() == b"value-1234"
        assert secretfiles.reap_files(labels.workdir_hash(tmp_path), alive=lambda pid: pid == os.getpid()) == [dead]
        assert not folder.exists()
    finally:
        secretfiles.remove_files(dead)


def test_the_reaper_asks_the_runtime_for_dead_owners_secrets(tmp_path: Path) -> None:
    rt = FakeRuntime()
    reap(rt, tmp_path, "ws")
    assert ("reap_secrets", (labels.workdir_hash(tmp_path),)) in rt.calls
