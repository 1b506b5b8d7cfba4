"""Host facts read through a fake root: cgroup layout, SELinux mode, subordinate ids, runc."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipex.runtime.host import HostFacts, cgroup_layout, host_facts, subid_count

HYBRID = """\
sysfs /sys sysfs rw 0 0
tmpfs /sys/fs/cgroup tmpfs rw,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0
"""
V1 = "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
V2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n"


def test_cgroup_layouts() -> None:
    assert cgroup_layout(HYBRID) == "hybrid"
    assert cgroup_layout(V1) == "v1"
    assert cgroup_layout(V2) == "v2"
    assert cgroup_layout("") == "unknown"


def test_subid_count_by_name_or_uid() -> None:
    text = "ana:100000:65536\n1001:300000:1000\nbob:200000:65536\n# comment\nana:bad:x\n"
    assert subid_count(text, "ana", 1000) == 65536
    assert subid_count(text, "carl", 1001) == 1000
    assert subid_count(text, "dan", 1002) == 0


def test_host_facts_from_a_fake_root(tmp_path: Path) -> None:
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mounts").write_text(HYBRID)
    (tmp_path / "sys/fs/selinux").mkdir(parents=True)
    (tmp_path / "sys/fs/selinux/enforce").write_text("1\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/subuid").write_text("ana:100000:65536\n")
    (tmp_path / "etc/subgid").write_text("ana:100000:70000\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "runc").write_text("#!/bin/sh\n")
    (bin_dir / "runc").chmod(stat.S_IRWXU)
    facts = host_facts(root=tmp_path, environ={"PATH": str(bin_dir)}, uid=1000, user="ana")
    assert facts == HostFacts(
        uid=1000, user="ana", cgroup_layout="hybrid", selinux="enforcing", subuids=65536, subgids=70000,
        runc=True, xdg_runtime_dir=None, net_helpers=(), tun=False,
    )  # fmt: skip


def test_empty_root_means_nothing_known(tmp_path: Path) -> None:
    facts = host_facts(root=tmp_path, environ={"XDG_RUNTIME_DIR": "/run/user/7", "PATH": ""}, uid=7, user="x")
    assert (facts.cgroup_layout, facts.selinux, facts.subuids, facts.runc, facts.xdg_runtime_dir) == (
        "unknown", "disabled", 0, False, "/run/user/7",
    )  # fmt: skip
    (tmp_path / "sys/fs/selinux").mkdir(parents=True)
    (tmp_path / "sys/fs/selinux/enforce").write_text("0")
    assert host_facts(root=tmp_path, environ={}, uid=7, user="x").selinux == "permissive"


def test_network_helpers_and_dev_net_tun(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "slirp4netns").write_text("#!/bin/sh\n")
    (bin_dir / "slirp4netns").chmod(stat.S_IRWXU)
    (tmp_path / "dev/net").mkdir(parents=True)
    (tmp_path / "dev/net/tun").write_text("")
    facts = host_facts(root=tmp_path, environ={"PATH": str(bin_dir)}, uid=1000, user="ana")
    assert (facts.net_helpers, facts.tun) == (("slirp4netns",), True)
    (tmp_path / "dev/net/tun").chmod(0)
    if os.getuid() != 0:  # root opens anything
        assert host_facts(root=tmp_path, environ={"PATH": ""}, uid=1000, user="ana").tun is False
