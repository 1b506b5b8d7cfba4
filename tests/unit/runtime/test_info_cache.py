"""Podman's info answer kept per local socket between runs: hits, misses when the key changes, bad files ignored."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipex.runtime.factory import connect
from pipex.runtime.info_cache import InfoCache

from .unixserver import Request, UnixServer

INFO: dict[str, Any] = {
    "host": {
        "cgroupVersion": "v2",
        "cgroupControllers": ["cpu", "memory", "pids"],
        "security": {"rootless": False, "selinuxEnabled": False},
        "ociRuntime": {"name": "crun", "version": "crun 1.8"},
        "networkBackend": "netavark",
        "memFree": 123456,
        "uptime": "1h 2m",
        "conmon": {"version": "conmon 2.1.6"},
    },
    "version": {"Version": "4.3.1", "APIVersion": "4.3.1"},
    "store": {"graphDriverName": "overlay", "containerStore": {"number": 7}},
    "registries": {},
}
KEPT = {
    "host": {
        "cgroupVersion": "v2",
        "cgroupControllers": ["cpu", "memory", "pids"],
        "security": {"rootless": False, "selinuxEnabled": False},
        "ociRuntime": {"name": "crun"},
        "networkBackend": "netavark",
    },
    "version": {"Version": "4.3.1", "APIVersion": "4.3.1"},
    "store": {"graphDriverName": "overlay"},
}


@pytest.fixture
def sock(short_tmp: Path) -> Iterator[Path]:
    path = short_tmp / "podman.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    yield path
    listener.close()


def _open(sock: Path, cache: Path, version: str = "4.3.1") -> InfoCache:
    found = InfoCache.open(str(sock), version, directory=cache, environ={})
    assert found is not None
    return found


def test_a_stored_answer_is_found_again_without_its_volatile_facts(sock: Path, short_tmp: Path) -> None:
    _open(sock, short_tmp / "cache").store(INFO)
    entry = _open(sock, short_tmp / "cache")
    assert entry.load() == KEPT
    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.directory.stat().st_mode) == 0o700
    assert [p.name for p in entry.directory.iterdir()] == [entry.path.name]  # no temp file left


def test_a_new_socket_at_the_same_path_misses(sock: Path, short_tmp: Path) -> None:
    _open(sock, short_tmp / "cache").store(INFO)
    sock.unlink()  # what a restarted service does
    again = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    again.bind(str(sock))
    try:
        assert _open(sock, short_tmp / "cache").load() is None
    finally:
        again.close()


def test_a_service_identity_keys_the_entry_instead_of_the_socket_file(sock: Path, short_tmp: Path) -> None:
    cache = short_tmp / "cache"

    def entry(identity: str) -> InfoCache:
        found = InfoCache.open(str(sock), "4.3.1", directory=cache, environ={}, service=identity)
        assert found is not None
        return found

    entry("service-a").store(INFO)
    sock.unlink()  # the shared service ended after its idle timeout; a new one listens on the same path
    again = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    again.bind(str(sock))
    try:
        assert entry("service-a").load() == KEPT
        assert entry("service-b").load() is None  # e.g. started in another cgroup, or after a podman rebuild
        assert _open(sock, cache).load() is None  # keyed by the socket file: not the same entry
    finally:
        again.close()


def test_another_engine_version_on_the_same_socket_misses(sock: Path, short_tmp: Path) -> None:
    _open(sock, short_tmp / "cache").store(INFO)
    assert _open(sock, short_tmp / "cache", version="5.2.0").load() is None


def test_a_changed_engine_configuration_misses(sock: Path, short_tmp: Path) -> None:
    home = short_tmp / "home"
    conf = home / ".config" / "containers" / "containers.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('[engine]\nruntime = "crun"\n')
    env = {"HOME": str(home)}
    first = InfoCache.open(str(sock), "4.3.1", directory=short_tmp / "cache", environ=env)
    assert first is not None
    first.store(INFO)
    conf.write_text('[engine]\nruntime = "runc"\n')
    again = InfoCache.open(str(sock), "4.3.1", directory=short_tmp / "cache", environ=env)
    assert again is not None
    assert again.path == first.path
    assert again.load() is None


def test_a_corrupt_file_is_ignored_then_replaced(sock: Path, short_tmp: Path) -> None:
    entry = _open(sock, short_tmp / "cache")
    entry.directory.mkdir(mode=0o700)
    entry.path.write_text('{"key": "')
    assert entry.load() is None
    entry.path.write_text(json.dumps({"key": entry.key, "info": ["not", "a", "dict"]}))
    assert entry.load() is None
    entry.store(INFO)
    assert entry.load() == KEPT


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file to another user")
def test_a_file_of_another_user_is_ignored(sock: Path, short_tmp: Path) -> None:
    entry = _open(sock, short_tmp / "cache")
    entry.store(INFO)
    os.chown(entry.path, 4242, 4242)
    assert entry.load() is None


def test_no_cache_is_written_into_a_tree_another_user_owns(sock: Path, short_tmp: Path) -> None:
    theirs = short_tmp / "theirs"
    theirs.mkdir()
    entry = InfoCache.open(str(sock), "4.3.1", directory=theirs / "pipex" / "engine-info", uid=4242, environ={})
    assert entry is not None
    entry.store(INFO)
    assert list(theirs.iterdir()) == []


def test_a_path_that_is_not_a_socket_has_no_cache(short_tmp: Path) -> None:
    (short_tmp / "file").write_text("")
    assert InfoCache.open(str(short_tmp / "file"), "4.3.1", directory=short_tmp / "c", environ={}) is None
    assert InfoCache.open(str(short_tmp / "absent"), "4.3.1", directory=short_tmp / "c", environ={}) is None


class _Podman:
    """Answers the ping with a ``Libpod-Api-Version`` header and counts info calls."""

    def __init__(self) -> None:
        self.version = "4.3.1"
        self.info_calls = 0

    def __call__(self, req: Request) -> None:
        path = req.target.split("?", 1)[0]
        if path == "/_ping":
            req.send(200, b"OK", {"Libpod-Api-Version": self.version})
        elif path == "/v5.8.0/libpod/info":
            self.info_calls += 1
            req.send_json(200, {**INFO, "version": {"Version": self.version, "APIVersion": self.version}})
        else:
            req.send(404, b"not found")


def test_the_podman_backend_asks_for_info_once_per_socket_and_version(short_tmp: Path) -> None:
    podman = _Podman()
    server = UnixServer(short_tmp / "p.sock", podman)
    env = {"XDG_CACHE_HOME": str(short_tmp / "cache")}
    url = f"unix://{short_tmp}/p.sock"

    def version_seen() -> str:
        runtime = connect("podman", url, environ=env).runtime
        try:
            return runtime.info().version
        finally:
            runtime.close()

    try:
        assert [version_seen(), version_seen()] == ["4.3.1", "4.3.1"]
        assert podman.info_calls == 1
        podman.version = "5.2.0"  # upgraded behind the same (socket-activated) socket
        assert [version_seen(), version_seen()] == ["5.2.0", "5.2.0"]
        assert podman.info_calls == 2
    finally:
        server.close()
    assert len(list((short_tmp / "cache" / "pipex" / "engine-info").iterdir())) == 1
