"""Contract: output streams (binary-safe, bounded memory), exec, copy_in."""

from __future__ import annotations

import stat
import tracemalloc
from pathlib import Path

import pytest

from pipex.errors import ContainerFailed
from pipex.runtime.base import Bind, ContainerSpec, LogChunk, Stream
from pipex.runtime.fake import Behaviour
from tests.contract.conftest import Target

ALL_BYTES = bytes(range(256)) * 4


def test_binary_output_on_both_streams(target: Target, user_tmp_path: Path) -> None:
    tmp_path = user_tmp_path  # reachable by the rootless engine's user
    (tmp_path / "bytes").write_bytes(ALL_BYTES)
    (tmp_path / "bytes").chmod(0o644)
    cmd = ("sh", "-c", "cat /in/bytes; cat /in/bytes >&2")
    target.expect(cmd, Behaviour(stdout=ALL_BYTES, stderr=ALL_BYTES))
    cid = target.runtime.create(
        ContainerSpec(image=target.alpine, cmd=cmd, labels=target.labels, binds=(Bind(tmp_path, "/in"),))
    )
    target.runtime.start(cid)
    chunks = list(target.runtime.logs(cid))
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDOUT) == ALL_BYTES
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDERR) == ALL_BYTES
    assert target.runtime.wait(cid, timeout=60) == 0


def test_50mb_stream_with_bounded_memory(real_target: Target) -> None:
    size = 50 * 1024 * 1024
    # Long lines: Podman stores logs line by line and serves 1.4M short lines at only ~2.5 MB/s.
    cmd = ("sh", "-c", f"yes $(head -c 4095 /dev/zero | tr '\\0' x) | head -c {size}")
    rt = real_target.runtime
    cid = rt.create(ContainerSpec(image=real_target.alpine, cmd=cmd, labels=real_target.labels))
    rt.start(cid)
    total, tail = 0, b""
    tracemalloc.start()
    try:
        for chunk in rt.logs(cid):
            total += len(chunk.data)
            tail = (tail + chunk.data)[-37:]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert tail == b"x" * 36 + b"\n"  # 12800 whole lines: the content arrives intact to the end
    assert peak < 30 * 1024 * 1024, f"peak Python allocations {peak / 2**20:.1f} MiB while streaming 50 MiB"
    assert rt.wait(cid, timeout=60) == 0


def test_exec_streams_and_exit_codes(target: Target) -> None:
    target.expect(("x",), Behaviour())
    cid = target.runtime.create(ContainerSpec(image=target.alpine, hold=True, labels=target.labels))
    target.runtime.start(cid)
    cmd = ["sh", "-c", 'echo "out $GREETING"; echo err >&2; pwd; exit 7']
    target.expect_exec(cmd, Behaviour(exit_code=7, output=[("stdout", "out hi\n"), ("stderr", "err\n"),
                                                            ("stdout", "/tmp\n")]))  # fmt: skip
    seen: list[LogChunk] = []
    code = target.runtime.exec(cid, cmd, env={"GREETING": "hi"}, workdir="/tmp", on_output=seen.append)
    assert code == 7
    assert b"".join(c.data for c in seen if c.stream is Stream.STDOUT) == b"out hi\n/tmp\n"
    assert b"".join(c.data for c in seen if c.stream is Stream.STDERR) == b"err\n"
    assert target.runtime.exec(cid, ["true"]) == 0


def test_copy_in_a_tree(target: Target, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "deep.txt").write_text("deep\n")
    (src / "with space.txt").write_text("spaced\n")
    (src / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (src / "run.sh").chmod(0o755)
    (src / "secret").write_text("s\n")
    (src / "secret").chmod(0o600)
    (src / "link").symlink_to("/etc/passwd")  # must stay a link, never the host's file
    listing = "cd /in/tree && find . | sort && stat -c '%a %n' run.sh secret && cat 'with space.txt' a/b/deep.txt"
    cmd = ("sh", "-c", f"{listing} && readlink link && ./run.sh")
    expected = (
        ".\n./a\n./a/b\n./a/b/deep.txt\n./link\n./run.sh\n./secret\n./with space.txt\n"
        "755 run.sh\n600 secret\nspaced\ndeep\n/etc/passwd\nran\n"
    )
    target.expect(cmd, Behaviour(stdout=expected))
    cid = target.runtime.create(ContainerSpec(image=target.alpine, cmd=cmd, labels=target.labels))
    target.runtime.copy_in(cid, src, "/in/tree")
    target.runtime.start(cid)
    assert target.runtime.wait(cid, timeout=60) == 0
    out = b"".join(c.data for c in target.runtime.logs(cid) if c.stream is Stream.STDOUT)
    assert out.decode() == expected
    assert stat.S_IMODE((src / "secret").stat().st_mode) == 0o600  # the host tree is untouched


def test_start_attached_gives_every_byte_of_a_large_short_line_output(real_target: Target) -> None:
    # 200,000 short lines: the case where a log follow through Podman 4.3's log driver was slow and lost pieces.
    cmd = ("sh", "-c", "seq 200000 | awk '{printf \"line %07d\\n\", $1}'; echo done >&2")
    rt = real_target.runtime
    cid = rt.create(ContainerSpec(image=real_target.alpine, cmd=cmd, labels=real_target.labels))
    out, err = bytearray(), bytearray()
    for chunk in rt.start_attached(cid):
        (out if chunk.stream is Stream.STDOUT else err).extend(chunk.data)
    assert bytes(out) == b"".join(b"line %07d\n" % i for i in range(1, 200001))
    assert bytes(err) == b"done\n"
    assert rt.wait(cid, timeout=60) == 0


def test_start_attached_interleaved_streams_keep_their_order(target: Target) -> None:
    cmd = ("sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 4")
    target.expect(cmd, Behaviour(exit_code=4, stdout=b"out1\nout2\nout3\n", stderr=b"err1\nerr2\nerr3\n"))
    cid = target.runtime.create(ContainerSpec(image=target.alpine, cmd=cmd, labels=target.labels))
    chunks = list(target.runtime.start_attached(cid))
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDOUT) == b"out1\nout2\nout3\n"
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDERR) == b"err1\nerr2\nerr3\n"
    assert target.runtime.wait(cid, timeout=60) == 4


def test_without_the_engines_log_copy_attach_and_exec_still_give_every_byte(target: Target) -> None:
    # Step containers are created with engine_log=False (log driver "none"): the attach and exec streams must not
    # depend on the engine's stored log.
    cmd = ("sh", "-c", "seq 20000 | awk '{printf \"line %07d\\n\", $1}'; echo done >&2; exit 3")
    out_lines = b"".join(b"line %07d\n" % i for i in range(1, 20001))
    target.expect(cmd, Behaviour(exit_code=3, stdout=out_lines, stderr=b"done\n"))
    rt = target.runtime
    cid = rt.create(ContainerSpec(image=target.alpine, cmd=cmd, labels=target.labels, engine_log=False))
    chunks = list(rt.start_attached(cid))
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDOUT) == out_lines
    assert b"".join(c.data for c in chunks if c.stream is Stream.STDERR) == b"done\n"
    assert rt.wait(cid, timeout=60) == 3
    with pytest.raises(ContainerFailed):  # the engine kept no copy: nothing written twice
        list(rt.logs(cid))

    target.expect(("x",), Behaviour())
    held = rt.create(ContainerSpec(image=target.alpine, hold=True, labels=target.labels, engine_log=False))
    rt.start(held)
    exec_cmd = ["sh", "-c", "echo out; echo err >&2; exit 5"]
    target.expect_exec(exec_cmd, Behaviour(exit_code=5, output=[("stdout", "out\n"), ("stderr", "err\n")]))
    seen: list[LogChunk] = []
    assert rt.exec(held, exec_cmd, on_output=seen.append) == 5
    assert b"".join(c.data for c in seen if c.stream is Stream.STDOUT) == b"out\n"
    assert b"".join(c.data for c in seen if c.stream is Stream.STDERR) == b"err\n"
