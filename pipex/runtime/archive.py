"""Tar a host directory tree for ``copy_in`` (the engines' ``PUT …/archive``).

The tar is extracted at ``/`` with member names carrying the full target path, so the target directory need not
exist in the image. Modes are kept; owners are set to root (0:0) so the result does not depend on the host uid
(root-owned, world-readable inputs are readable by any container user). Symlinks are stored as symlinks, never
followed, so a link inside the tree cannot pull in files from outside it. The tar is spooled to disk past 8 MiB.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import IO

from pipex.errors import ContainerFailed

_SPOOL = 8 << 20


def _reset_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def tar_tree(source: Path, target: str) -> IO[bytes]:
    """A rewound file object holding a tar of ``source`` placed at ``target`` (absolute, in the container)."""
    if not source.is_dir():
        raise ContainerFailed(f"copy_in: {source} is not a directory")
    dest = PurePosixPath(target)
    if not dest.is_absolute() or ".." in dest.parts or len(dest.parts) < 2:
        raise ContainerFailed(f"copy_in: target {target!r} must be an absolute path below / without '..'")
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - returned to the caller
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        # No entries for the parents: the engines create missing ones (0755) and we must not reset the mode
        # of existing ones such as /tmp.
        root_name = "/".join(dest.parts[1:])
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames.sort()
            rel = Path(dirpath).relative_to(source)
            base = root_name if rel == Path() else f"{root_name}/{rel.as_posix()}"
            tar.add(dirpath, arcname=base, recursive=False, filter=_reset_owner)
            for name in sorted(filenames):
                tar.add(Path(dirpath) / name, arcname=f"{base}/{name}", recursive=False, filter=_reset_owner)
            # os.walk lists symlinks to directories in dirnames but does not descend into them (followlinks
            # is False); store them as links here.
            for name in dirnames:
                path = Path(dirpath) / name
                if path.is_symlink():
                    tar.add(path, arcname=f"{base}/{name}", recursive=False, filter=_reset_owner)
    spool.seek(0)
    return spool
