"""The root filesystem of the engine tests' images: a busybox-static tarball, built on the host.

Nothing can be pulled from a registry in CI, so every test image is this tarball imported FROM scratch
(``podman import`` / ``docker import`` through the engine's API). The tarball is deterministic (fixed
mtimes, sorted entries): each engine gets the same layer digest, and a rebuild is a no-op.

Contents: ``/bin/busybox`` and a symlink for each of its applets at its usual path (``/bin/sh``,
``/usr/bin/env``…), ``/etc/passwd`` + ``/etc/group`` with ``root`` (0), ``app`` (1000) and ``nobody``
(65534), ``/tmp`` (1777), ``/output`` (0777), ``/home/app`` (owned by 1000), ``/root`` (0700).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
# Bump when the layout below changes: it is part of the cache key.
LAYOUT_VERSION = "1"
APP_UID = 1000
NOBODY_UID = 65534
MTIME = 1_700_000_000

PASSWD = f"""\
root:x:0:0:root:/root:/bin/sh
app:x:{APP_UID}:{APP_UID}:app:/home/app:/bin/sh
nobody:x:{NOBODY_UID}:{NOBODY_UID}:nobody:/nonexistent:/bin/false
"""
GROUP = f"""\
root:x:0:
app:x:{APP_UID}:
nogroup:x:{NOBODY_UID}:
"""
OS_RELEASE = 'NAME="pipex test image"\nID=pipex-test\nPRETTY_NAME="busybox-static, imported from scratch"\n'

# (path, mode, uid) of the directories, parents first.
DIRS = [
    ("bin", 0o755, 0),
    ("sbin", 0o755, 0),
    ("usr", 0o755, 0),
    ("usr/bin", 0o755, 0),
    ("usr/sbin", 0o755, 0),
    ("etc", 0o755, 0),
    ("dev", 0o755, 0),
    ("proc", 0o755, 0),
    ("sys", 0o755, 0),
    ("root", 0o700, 0),
    ("home", 0o755, 0),
    ("home/app", 0o755, APP_UID),
    ("tmp", 0o1777, 0),
    ("output", 0o777, 0),
]


def _info(name: str, kind: bytes, mode: int, uid: int = 0, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid = info.gid = uid
    info.mtime = MTIME
    info.size = size
    return info


def _applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list-full"], check=True, capture_output=True, text=True).stdout
    return sorted({line.strip() for line in out.splitlines() if line.strip() and line.strip() != "bin/busybox"})


def _write(path: Path, busybox: Path) -> None:
    payload = busybox.read_bytes()
    files = {"etc/passwd": PASSWD, "etc/group": GROUP, "etc/os-release": OS_RELEASE}
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode, uid in DIRS:
            tar.addfile(_info(name, tarfile.DIRTYPE, mode, uid))
        tar.addfile(_info("bin/busybox", tarfile.REGTYPE, 0o755, size=len(payload)), io.BytesIO(payload))
        for applet in _applets(busybox):
            link = _info(applet, tarfile.SYMTYPE, 0o777)
            link.linkname = "/bin/busybox"
            tar.addfile(link)
        for name, text in sorted(files.items()):
            data = text.encode()
            tar.addfile(_info(name, tarfile.REGTYPE, 0o644, size=len(data)), io.BytesIO(data))


def rootfs_tarball(cache_dir: Path, busybox: Path = BUSYBOX) -> Path:
    """Build (once per busybox binary and layout version) and return the tarball, cached in ``cache_dir``."""
    key = hashlib.sha256(busybox.read_bytes() + LAYOUT_VERSION.encode()).hexdigest()[:16]
    path = cache_dir / f"rootfs-{key}.tar"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    _write(partial, busybox)
    partial.replace(path)  # atomic: a concurrent session never reads a half-written tarball
    return path
