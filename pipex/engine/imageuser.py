"""Let a step whose image runs as a non-root ``USER`` write its output and caches.

The output dir and the caches are host dirs the invoking user owns (mode 0755). An image whose ``USER`` is not
root cannot write them as they are:

- rootless Podman: map the image's uid to the invoking user (``--userns=keep-id:uid=U,gid=G``), so its files
  land owned by the user;
- rootful engines (and a rootless engine that cannot map a named user): hand the dirs to that uid when we may
  (pipex runs as root and the uid is numeric), else open them (0777) for the step; the output is normalised
  and closed again before the run is committed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from pipex.runtime.base import RuntimeInfo, UserMapping

OPEN_MODE = 0o777
DIR_MODE = 0o755


def image_ids(user: str) -> tuple[int | None, int | None]:
    """Numeric uid and gid of an image ``USER`` (``"1000"``, ``"1000:100"``); names give ``None``."""
    name, _, group = user.partition(":")
    uid = int(name) if name.isdigit() else None
    gid = int(group) if group.isdigit() else (uid if not group else None)
    return uid, gid


def is_root(user: str) -> bool:
    name = user.partition(":")[0]
    return name in ("", "0", "root")


def user_mapping(user: str, info: RuntimeInfo) -> UserMapping:
    """keep-id for a numeric non-root image user under rootless Podman; the engine's default otherwise."""
    uid, gid = image_ids(user)
    if is_root(user) or not info.rootless or not info.supports_keep_id or uid is None:
        return UserMapping()
    return UserMapping(keep_id=(uid, gid if gid is not None else uid))


def open_for(user: str, info: RuntimeInfo, dirs: list[Path]) -> None:
    """Make ``dirs`` writable by the image's user when ``user_mapping`` does not already take care of it."""
    if is_root(user) or user_mapping(user, info).keep_id is not None:
        return
    uid, gid = image_ids(user)
    for path in dirs:
        if os.geteuid() == 0 and uid is not None:
            os.chown(path, uid, gid if gid is not None else uid)
        else:
            path.chmod(OPEN_MODE)


def close_output(path: Path, uid: int, gid: int) -> None:
    """Give the output dir itself back to the invoking user, mode 0755 (its files are normalised elsewhere)."""
    with contextlib.suppress(OSError):
        st = path.lstat()
        if not stat.S_ISDIR(st.st_mode):  # never chown or chmod through a link
            return
        if (st.st_uid, st.st_gid) != (uid, gid) and os.geteuid() == 0:
            os.chown(path, uid, gid, follow_symlinks=False)
        if st.st_mode & 0o777 == OPEN_MODE:
            path.chmod(DIR_MODE)
