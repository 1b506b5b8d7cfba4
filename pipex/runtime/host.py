"""Facts about this machine that decide whether containers work well: cgroup layout, SELinux mode,
subordinate id ranges, available OCI runtimes.

Every read goes through ``root`` (a directory standing for ``/``), so tests give a fake tree; nothing here
talks to an engine.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipex import config

CgroupLayout = Literal["v1", "v2", "hybrid", "unknown"]
SelinuxMode = Literal["enforcing", "permissive", "disabled"]
FULL_SUBID_RANGE = 65536  # what images with system users (uids up to 65534) need


@dataclass(frozen=True, slots=True)
class HostFacts:
    uid: int
    user: str
    cgroup_layout: CgroupLayout
    selinux: SelinuxMode
    subuids: int  # subordinate uids of the user in /etc/subuid (0: none)
    subgids: int
    runc: bool  # a runc binary on PATH
    xdg_runtime_dir: str | None
    # Rootless networking: the helpers on PATH (pasta, slirp4netns) and whether this user can open /dev/net/tun
    # (None: not known, e.g. facts built by hand).
    net_helpers: tuple[str, ...] = ()
    tun: bool | None = None


def cgroup_layout(mounts: str) -> CgroupLayout:
    """The cgroup layout from a ``/proc/self/mounts`` text: v2 (unified), v1, or hybrid (v1 controllers on
    a tmpfs plus a cgroup2 at ``/sys/fs/cgroup/unified``)."""
    top: str | None = None
    v1 = v2_below = False
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point, fstype = fields[1], fields[2]
        if point == "/sys/fs/cgroup":
            top = fstype
        elif point.startswith("/sys/fs/cgroup/"):
            v1 = v1 or fstype == "cgroup"
            v2_below = v2_below or fstype == "cgroup2"
    if top == "cgroup2":
        return "v2"
    if v1 and v2_below:
        return "hybrid"
    if v1:
        return "v1"
    return "unknown"


def selinux_mode(root: Path) -> SelinuxMode:
    try:
        value = (root / "sys/fs/selinux/enforce").read_text().strip()
    except OSError:
        return "disabled"
    return "enforcing" if value == "1" else "permissive"


def subid_count(text: str, user: str, uid: int) -> int:
    """Total subordinate ids granted to ``user`` (by name or uid) in an /etc/subuid-style text."""
    total = 0
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) != 3 or parts[0] not in (user, str(uid)):
            continue
        try:
            total += max(int(parts[2]), 0)
        except ValueError:
            continue
    return total


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def user_name(uid: int, environ: Mapping[str, str]) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return environ.get("USER", str(uid))


def host_facts(
    *,
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
    uid: int | None = None,
    user: str | None = None,
) -> HostFacts:
    env = config.env(environ)
    uid = os.getuid() if uid is None else uid
    user = user_name(uid, env) if user is None else user
    return HostFacts(
        uid=uid,
        user=user,
        cgroup_layout=cgroup_layout(_read(root / "proc/self/mounts")),
        selinux=selinux_mode(root),
        subuids=subid_count(_read(root / "etc/subuid"), user, uid),
        subgids=subid_count(_read(root / "etc/subgid"), user, uid),
        runc=shutil.which("runc", path=env.get("PATH")) is not None,
        xdg_runtime_dir=env.get(config.XDG_RUNTIME_DIR) or None,
        net_helpers=tuple(h for h in NET_HELPERS if shutil.which(h, path=env.get("PATH")) is not None),
        tun=tun_usable(root / "dev/net/tun"),
    )


NET_HELPERS = ("pasta", "slirp4netns")


def tun_usable(path: Path) -> bool:
    """Whether this user can open ``/dev/net/tun`` for reading and writing (what slirp4netns and pasta do)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True
