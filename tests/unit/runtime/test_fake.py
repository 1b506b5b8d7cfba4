"""FakeRuntime's own API: scripting, failures, recorded calls, delays (the contract suite covers the rest)."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path

import pytest

from pipex.errors import ContainerFailed, ImageNotFound, ImagePullFailed
from pipex.runtime import FakeRuntime
from pipex.runtime.base import Bind, ContainerSpec, LogChunk, Runtime, Stream
from pipex.runtime.fake import Behaviour
from pipex.runtime.mux import iter_frames


def test_is_a_runtime() -> None:
    assert isinstance(FakeRuntime(), Runtime)


def test_script_by_image_writes_files_into_the_output_bind(tmp_path: Path) -> None:
    rt = FakeRuntime(images=["img:1"])
    rt.script(image="img:1", behaviour=Behaviour(exit_code=0, stdout="hi\n", files={"a/b.txt": "x", "d": None}))
    cid = rt.create(ContainerSpec(image="img:1", binds=(Bind(tmp_path, "/output", read_only=False),)))
    rt.start(cid)
    assert rt.wait(cid) == 0
    assert list(rt.logs(cid)) == [LogChunk(Stream.STDOUT, b"hi\n")]
    assert (tmp_path / "a/b.txt").read_text() == "x" and (tmp_path / "d").is_dir()
    assert [name for name, _ in rt.calls] == ["create", "start", "wait", "logs"]


def test_command_script_wins_over_image_script() -> None:
    rt = FakeRuntime(images=["img:1"])
    rt.script(image="img:1", behaviour=Behaviour(exit_code=1))
    rt.script(cmd=["make"], behaviour=Behaviour(exit_code=2))
    cid = rt.create(ContainerSpec(image="img:1", cmd=("make",)))
    rt.start(cid)
    assert rt.wait(cid) == 2


def test_failures_once_and_always() -> None:
    rt = FakeRuntime(images=["img:1"])
    rt.fail("create", ContainerFailed("boom"))
    with pytest.raises(ContainerFailed, match="boom"):
        rt.create(ContainerSpec(image="img:1"))
    rt.create(ContainerSpec(image="img:1"))  # only once
    rt.fail("ping", ContainerFailed("down"), times=None)
    for _ in range(3):
        with pytest.raises(ContainerFailed):
            rt.ping()


def test_missing_image_and_pull() -> None:
    rt = FakeRuntime(images=[])
    with pytest.raises(ImageNotFound) as info:
        rt.create(ContainerSpec(image="nope:1"))
    assert info.value.message == "image 'nope:1' not found: no such image"
    with pytest.raises(ImagePullFailed) as failed:
        rt.pull("nope:1")
    assert failed.value.message == "cannot pull image 'nope:1': not in the fake registry"
    rt.pullable.add("nope:1")
    assert rt.pull("nope:1").reference == "nope:1"
    assert rt.image("nope:1") is not None


def test_delay_wait_timeout_and_stop_do_not_sleep_longer_than_needed() -> None:
    rt = FakeRuntime(images=["img:1"])
    rt.script(image="img:1", behaviour=Behaviour(delay=60))
    cid = rt.create(ContainerSpec(image="img:1"))
    rt.start(cid)
    began = time.monotonic()
    assert rt.wait(cid, timeout=0.05) is None
    rt.stop(cid)
    assert rt.wait(cid, timeout=5) == 143
    assert time.monotonic() - began < 2


def test_hold_exec_disconnect_and_remove() -> None:
    rt = FakeRuntime(images=["img:1"])
    cid = rt.create(ContainerSpec(image="img:1", hold=True, network=True, labels={"k": "v"}))
    with pytest.raises(ContainerFailed, match="is not running"):
        rt.exec(cid, ["true"])
    rt.start(cid)
    rt.script_exec(["setup"], Behaviour(exit_code=4, stderr=b"no\n"))
    seen: list[LogChunk] = []
    assert rt.exec(cid, ["setup"], on_output=seen.append) == 4
    assert seen == [LogChunk(Stream.STDERR, b"no\n")]
    assert rt.containers[cid].network
    rt.disconnect_network(cid)
    assert not rt.containers[cid].network
    assert [r.id for r in rt.list({"k": "v"})] == [cid]
    rt.remove(cid)
    rt.remove(cid)
    assert rt.list({"k": "v"}) == []


def _frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


class Trickle(io.RawIOBase):
    """Hands out at most 3 bytes per read: frames split anywhere must still parse."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, amt: int = -1) -> bytes:
        out, self.data = self.data[:3], self.data[3:]
        return out


def test_iter_frames_demultiplexes_split_reads() -> None:
    payload = _frame(1, b"out1") + _frame(2, b"err") + _frame(1, bytes(range(256))) + _frame(0, b"stdin")
    chunks = list(iter_frames(Trickle(payload)))
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDOUT) == b"out1" + bytes(range(256))
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDERR) == b"err"


def test_iter_frames_rejects_a_truncated_frame() -> None:
    with pytest.raises(EOFError):
        list(iter_frames(io.BytesIO(_frame(1, b"abcdef")[:-2])))


def test_close_releases_what_the_runtime_owns_last_first_once() -> None:
    runtime = FakeRuntime()
    released: list[str] = []
    runtime.own(lambda: released.append("service"))
    runtime.own(lambda: released.append("tunnel"))
    assert released == []
    runtime.close()
    assert runtime.closed
    assert released == ["tunnel", "service"]
    runtime.close()
    assert released == ["tunnel", "service"]
