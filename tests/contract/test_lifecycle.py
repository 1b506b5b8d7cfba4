"""Contract: engine identity, images, the container lifecycle, labels, wait timeouts, stop and remove."""

from __future__ import annotations

import time

import pytest

from pipex.errors import ContainerFailed, ImageNotFound, ImagePullFailed
from pipex.runtime.base import ContainerSpec, Stream
from pipex.runtime.fake import Behaviour
from tests.contract.conftest import Target

MISSING = "localhost:1/pipex-contract/missing:0"  # port 1: nothing listens, the pull fails at once


def spec(target: Target, cmd: tuple[str, ...], **kw: object) -> ContainerSpec:
    return ContainerSpec(image=kw.pop("image", target.alpine), cmd=cmd, labels=target.labels, **kw)  # type: ignore[arg-type]


def test_ping_and_info(target: Target) -> None:
    target.runtime.ping()
    info = target.runtime.info()
    assert info.engine in {"podman", "docker", "fake"}
    assert info.version and info.api_version
    if target.engine is not None:
        assert info.rootless is target.engine.rootless
        assert info.libpod_api is (target.name in {"rootless_podman", "rootful_podman"})
        assert info.supports_keep_id is (target.name == "rootless_podman")
        assert info.cgroup_version in {"v1", "v2"}
        assert info.oci_runtime == "runc"
        assert info.storage_driver
    if target.name == "rootless_podman":
        assert info.host_uid == target.engine.uid  # type: ignore[union-attr]
        assert not info.enforces("memory")  # rootless on cgroup v1 delegates nothing
    if target.name == "rootful_podman":
        assert info.enforces("memory") and info.enforces("pids")


def test_image_present_and_missing(target: Target) -> None:
    ref = target.runtime.image(target.alpine)
    assert ref is not None
    assert ref.id.removeprefix("sha256:")
    assert ref.cmd == ("/bin/sh",)
    nonroot = target.runtime.image(target.nonroot)
    assert nonroot is not None and nonroot.user == str(target.nonroot_uid)
    assert target.runtime.image(MISSING) is None


def test_failed_pull_keeps_the_engine_message(target: Target) -> None:
    with pytest.raises(ImagePullFailed) as info:
        target.runtime.pull(MISSING)
    assert info.value.image == MISSING
    assert info.value.message.startswith(f"cannot pull image {MISSING!r}: ")
    assert len(info.value.message) > len(f"cannot pull image {MISSING!r}: ") + 5  # the engine said why


def test_create_with_missing_image(target: Target) -> None:
    with pytest.raises(ImageNotFound) as info:
        target.runtime.create(ContainerSpec(image=MISSING, cmd=("true",), labels=target.labels))
    assert info.value.image == MISSING


@pytest.mark.parametrize("code", [0, 3])
def test_exit_code_and_demultiplexed_logs(target: Target, code: int) -> None:
    cmd = ("sh", "-c", f"echo o1; echo e1 >&2; echo o2; echo e2 >&2; echo o3; exit {code}")
    target.expect(cmd, Behaviour(exit_code=code, output=[("stdout", "o1\n"), ("stderr", "e1\n"),
                                                         ("stdout", "o2\n"), ("stderr", "e2\n"),
                                                         ("stdout", "o3\n")]))  # fmt: skip
    cid = target.runtime.create(spec(target, cmd))
    target.runtime.start(cid)
    assert target.runtime.wait(cid, timeout=60) == code
    chunks = list(target.runtime.logs(cid))
    out = b"".join(c.data for c in chunks if c.stream is Stream.STDOUT)
    err = b"".join(c.data for c in chunks if c.stream is Stream.STDERR)
    assert (out, err) == (b"o1\no2\no3\n", b"e1\ne2\n")


def test_labels_list_and_idempotent_remove(target: Target) -> None:
    labels = {**target.labels, "pipex.run": "r1"}
    cid = target.runtime.create(ContainerSpec(image=target.alpine, cmd=("true",), labels=labels))
    other = target.runtime.create(spec(target, ("true",)))
    found = target.runtime.list({"pipex.run": "r1"})
    assert [r.id for r in found] == [cid]
    assert found[0].labels["pipex.run"] == "r1"
    assert found[0].state in {"created", "configured"}
    target.runtime.remove(cid)
    target.runtime.remove(cid)  # already gone: no error
    assert target.runtime.list({"pipex.run": "r1"}) == []
    assert [r.id for r in target.runtime.list(target.labels)] == [other]


def test_wait_timeout_then_stop(target: Target) -> None:
    cmd = ("sleep", "30")
    target.expect(cmd, Behaviour(delay=30))
    cid = target.runtime.create(spec(target, cmd))
    target.runtime.start(cid)
    began = time.monotonic()
    assert target.runtime.wait(cid, timeout=0.5) is None
    assert time.monotonic() - began < 5
    target.runtime.stop(cid, grace=1)
    code = target.runtime.wait(cid, timeout=30)
    assert code is not None and code != 0
    target.runtime.stop(cid, grace=1)  # already stopped: no error
    target.runtime.kill(cid)


def test_unknown_container_is_a_container_error(target: Target) -> None:
    with pytest.raises(ContainerFailed):
        target.runtime.start("0" * 64)
