"""Contract (real engines: kernel facts): network none, read-only binds, hold + exec + disconnect_network."""

from __future__ import annotations

from pathlib import Path

from pipex.runtime.base import Bind, ContainerSpec, LogChunk, Stream
from pipex.runtime.fake import Behaviour
from tests.contract.conftest import Target


def run(target: Target, spec: ContainerSpec) -> tuple[int | None, bytes, bytes]:
    cid = target.runtime.create(spec)
    target.runtime.start(cid)
    code = target.runtime.wait(cid, timeout=60)
    chunks = list(target.runtime.logs(cid))
    out = b"".join(c.data for c in chunks if c.stream is Stream.STDOUT)
    err = b"".join(c.data for c in chunks if c.stream is Stream.STDERR)
    return code, out, err


def test_network_none_has_only_loopback(real_target: Target) -> None:
    spec = ContainerSpec(image=real_target.alpine, cmd=("ls", "/sys/class/net"), labels=real_target.labels)
    assert run(real_target, spec)[:2] == (0, b"lo\n")


def test_read_only_bind_is_read_only(real_target: Target, user_tmp_path: Path) -> None:
    tmp_path = user_tmp_path  # reachable by the rootless engine's user
    tmp_path.chmod(0o777)
    cmd = ("sh", "-c", "touch /ro/x; echo $?; touch /rw/y && echo ok")
    rw = tmp_path / "rw"
    rw.mkdir(mode=0o777)
    rw.chmod(0o777)
    spec = ContainerSpec(
        image=real_target.alpine,
        cmd=cmd,
        labels=real_target.labels,
        binds=(Bind(tmp_path, "/ro"), Bind(rw, "/rw", read_only=False)),
    )
    code, out, err = run(real_target, spec)
    assert (code, out) == (0, b"1\nok\n")
    assert b"Read-only file system" in err
    assert not (tmp_path / "x").exists() and (rw / "y").exists()


def test_hold_exec_then_disconnect_network(target: Target) -> None:
    rt = target.runtime
    cid = rt.create(ContainerSpec(image=target.alpine, hold=True, network=True, labels=target.labels))
    rt.start(cid)
    ls = ["ls", "/sys/class/net"]
    target.expect_exec(["cat", "/proc/1/cmdline"], Behaviour(stdout=b"/.pipex/catatonit\0-P\0"))
    seen: list[LogChunk] = []
    assert rt.exec(cid, ["cat", "/proc/1/cmdline"], on_output=seen.append) == 0
    assert b"".join(c.data for c in seen) == b"/.pipex/catatonit\0-P\0"  # the pause process, not the image's
    target.expect_exec(ls, Behaviour(stdout=b"eth0\nlo\n"))
    seen.clear()
    assert rt.exec(cid, ls, on_output=seen.append) == 0
    assert b"".join(c.data for c in seen) == b"eth0\nlo\n"
    rt.disconnect_network(cid)
    target.expect_exec(ls, Behaviour(stdout=b"lo\n"))
    seen.clear()
    assert rt.exec(cid, ls, on_output=seen.append) == 0
    assert b"".join(c.data for c in seen) == b"lo\n"
    assert rt.wait(cid, timeout=0.2) is None  # still held
    rt.stop(cid, grace=2)
    assert rt.wait(cid, timeout=30) is not None
