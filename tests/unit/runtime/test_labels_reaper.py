"""Container labels, and reaping the containers of a dead pipex (FakeRuntime)."""

from __future__ import annotations

import os
from pathlib import Path

from pipex.runtime import labels
from pipex.runtime.base import ContainerSpec
from pipex.runtime.fake import FakeRuntime
from pipex.runtime.reaper import reap


def test_container_labels(tmp_path: Path) -> None:
    got = labels.container_labels(tmp_path, "main", "r1", "extract", pid=123, host="box")
    assert got == {
        "pipex": "1",
        "pipex.workspace": "main",
        "pipex.workdir": labels.workdir_hash(tmp_path),
        "pipex.run": "r1",
        "pipex.step": "extract",
        "pipex.pid": "123",
        "pipex.host": "box",
    }
    assert len(got["pipex.workdir"]) == 16


def test_labels_default_to_this_process_on_this_host(tmp_path: Path) -> None:
    got = labels.container_labels(tmp_path, "main", "r1", "s")
    assert (got["pipex.pid"], got["pipex.host"]) == (str(os.getpid()), labels.this_host())


def test_workdir_hash_is_of_the_resolved_absolute_path(tmp_path: Path, monkeypatch: object) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert labels.workdir_hash(tmp_path / "link") == labels.workdir_hash(tmp_path / "real")
    assert labels.workdir_hash(tmp_path / "real" / ".") == labels.workdir_hash(tmp_path / "real")
    assert labels.workdir_hash(tmp_path / "other") != labels.workdir_hash(tmp_path / "real")


DEAD, ALIVE = 999_001, 999_002


def _container(rt: FakeRuntime, workdir: Path, workspace: str, *, pid: int, host: str = "here") -> str:
    return rt.create(
        ContainerSpec(
            image="alpine:3.20", labels=labels.container_labels(workdir, workspace, "r", "s", pid=pid, host=host)
        )
    )


def test_reap_removes_only_dead_owners_of_this_workdir_workspace_and_host(tmp_path: Path) -> None:
    rt = FakeRuntime()
    mine_dead = _container(rt, tmp_path, "main", pid=DEAD)
    mine_alive = _container(rt, tmp_path, "main", pid=ALIVE)
    other_host = _container(rt, tmp_path, "main", pid=DEAD, host="elsewhere")
    other_workspace = _container(rt, tmp_path, "dev", pid=DEAD)
    other_workdir = _container(rt, tmp_path / "other", "main", pid=DEAD)
    ours_now = _container(rt, tmp_path, "main", pid=os.getpid())
    removed = reap(rt, tmp_path, "main", pid_alive=lambda pid: pid == ALIVE, host="here")
    assert removed == [mine_dead]
    assert set(rt.containers) == {mine_alive, other_host, other_workspace, other_workdir, ours_now}


def test_reap_ignores_a_garbled_pid_label(tmp_path: Path) -> None:
    rt = FakeRuntime()
    bad = {**labels.container_labels(tmp_path, "main", "r", "s", host="here"), "pipex.pid": "x"}
    cid = rt.create(ContainerSpec(image="alpine:3.20", labels=bad))
    assert reap(rt, tmp_path, "main", pid_alive=lambda pid: False, host="here") == []
    assert cid in rt.containers


def test_reap_asks_the_engine_for_this_workspace_only(tmp_path: Path) -> None:
    rt = FakeRuntime()
    reap(rt, tmp_path, "main", host="here")
    assert rt.calls == [
        ("list", (labels.owner_labels(tmp_path, "main"),)),
        ("reap_secrets", (labels.workdir_hash(tmp_path),)),  # what dead owners made for secrets, this workdir's
    ]
