"""Merging an upstream run's artifacts into a new run's output (``copyToOutput``), through the safe walk only.

The source is read with ``safetree.walk(regular_only=True)``: links, FIFOs, sockets, devices and unreproducible
names are skipped and reported, never followed nor opened. The destination is written relative to directory
descriptors: directories are opened ``O_NOFOLLOW`` and files created ``O_EXCL | O_NOFOLLOW``, so nothing an
earlier input (or anybody) left in the output can redirect a write out of it. Inputs are merged in order; a
later input's regular file replaces an earlier one's (a new inode: a hard link's other names are untouched).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipex.workspace.safetree import Skipped, copy_fd, create_file, make_dir, open_at, open_root, walk


@dataclass(slots=True)
class Copied:
    files: int = 0
    bytes: int = 0


def copy_into(source: Path, dest: Path, *, on_skip: Callable[[Skipped], None]) -> Copied:
    """Copy the regular files and directories of ``source`` into the existing directory ``dest``.

    Raises ``OSError`` for what the host refuses (a full disk, an unreadable source directory).
    """
    done = Copied()
    dst_root = open_root(dest)
    targets = [dst_root]  # the destination directory of each level of the walk; -1 under a refused directory
    try:
        for node in walk(source, regular_only=True, on_skip=on_skip, post_order=True):
            if node.leaving:
                fd = targets.pop()
                if fd >= 0:
                    os.close(fd)
                continue
            parent = targets[-1]
            if node.kind == "dir":
                fd = -1
                if parent >= 0:
                    try:
                        fd = make_dir(node.name, parent, (node.st.st_mode & 0o777) | 0o700)
                    except (FileExistsError, NotADirectoryError, IsADirectoryError):
                        on_skip(Skipped(node.rel, "the output already holds a file of that name"))
                    except OSError as exc:
                        if exc.errno != errno.ELOOP:  # a link of that name is there (never followed)
                            raise
                        on_skip(Skipped(node.rel, "the output already holds a link of that name"))
                targets.append(fd)
                continue
            if parent < 0:
                continue  # its directory was refused (and reported) above
            _copy_file(node.name, node.dir_fd, node.st, parent, node.rel, done, on_skip)
    finally:
        for fd in targets:
            if fd >= 0:
                os.close(fd)
    return done


def _copy_file(
    name: str,
    src_dir: int,
    st: os.stat_result,
    dst_dir: int,
    rel: str,
    done: Copied,
    on_skip: Callable[[Skipped], None],
) -> None:
    try:
        src = open_at(name, src_dir)
    except OSError:
        on_skip(Skipped(rel, "it changed while pipex read it"))
        return
    try:
        try:
            dst = create_file(name, dst_dir, (st.st_mode & 0o777) | 0o600, replace=True)
        except (FileExistsError, IsADirectoryError):
            on_skip(Skipped(rel, "the output already holds a directory or link of that name"))
            return
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            on_skip(Skipped(rel, "the output already holds a link of that name"))
            return
        try:
            done.bytes += copy_fd(src, dst)
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(dst)
        done.files += 1
    finally:
        os.close(src)
