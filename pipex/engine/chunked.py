"""Big files' digests in tree format 2: SHA-256 over the SHA-256s of fixed-size chunks, hashed on a thread pool.

Why: one SHA-256 stream runs on one core, and committing a 1 GiB artifact read it again on that one core while
the other cores idled. A file of at least ``THRESHOLD`` bytes is cut into ``CHUNK``-byte chunks (the last one
shorter); each chunk's SHA-256 is computed on a small shared pool (``os.preadv`` and hashlib release the GIL), and
the file's digest is the SHA-256 of ``pipex-chunks-1 <CHUNK>\\0`` followed by the chunks' 32-byte digests in file
order. A smaller file keeps the SHA-256 of its bytes. The value is a function of the bytes alone: never of the
pool's size, the order chunks finish in, or what stat said (a file that changed size while read is read again
from its start, in one stream, and hashed as that read saw it).

Memory: one ``PIECE`` (1 MiB) buffer per pool thread, reused, and at most ``2 × workers`` chunks in flight per file.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import hashlib
import os
import threading
from collections import deque
from typing import Final

CHUNK: Final = 4 << 20  # 4 MiB: large enough that a chunk's hand-off costs nothing next to its hashing
THRESHOLD: Final = 2 * CHUNK  # files of at least 8 MiB are chunked: below it one core finishes in a few ms
HEADER: Final = f"pipex-chunks-1 {CHUNK}\0".encode()
MAX_WORKERS: Final = 8
PIECE: Final = 1 << 20  # a chunk is read and hashed 1 MiB at a time: less CPU than 4 MiB reads (stays in cache)

_local = threading.local()
_lock = threading.Lock()
_pools: list[concurrent.futures.ThreadPoolExecutor] = []  # at most one, made under _lock
# A forked child (a detached run) has none of the parent's threads: it makes its own pool on first use.
os.register_at_fork(after_in_child=_pools.clear)


def workers() -> int:
    """Threads of the pool: the CPUs this process may use, at most ``MAX_WORKERS``."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_WORKERS))


def _shared_pool() -> concurrent.futures.ThreadPoolExecutor:
    """One pool for the process, made on first use: steps committing at once share the cores, not add threads."""
    with _lock:
        if not _pools:
            _pools.append(concurrent.futures.ThreadPoolExecutor(workers(), thread_name_prefix="pipex-digest"))
            atexit.register(_pools[0].shutdown, wait=False)
        return _pools[0]


def _read_full(fd: int, buf: bytearray, offset: int) -> int:
    """Fill ``buf`` from ``offset``; fewer bytes only at the end of the file."""
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = os.preadv(fd, (view[got:],), offset + got)
        if not n:
            break
        got += n
    return got


def _hash_chunk(fd: int, offset: int) -> tuple[bytes, int]:
    """(SHA-256, length) of the chunk at ``offset``, read a ``PIECE`` at a time into this thread's own buffer."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(PIECE)
    view = memoryview(buf)
    h = hashlib.sha256()
    got = 0
    while got < CHUNK:
        n = os.preadv(fd, (view[: min(PIECE, CHUNK - got)],), offset + got)  # never past the chunk's end
        if not n:
            break
        h.update(view[:n])
        got += n
    return h.digest(), got


def stream_digest(fd: int) -> tuple[str, int]:
    """(hex digest, size) of the file from its start to its end, in one thread: the format-2 value whatever the
    size turns out to be (the whole-file SHA-256 is kept only while the file could still be small)."""
    whole = hashlib.sha256()
    outer = hashlib.sha256(HEADER)
    buf = bytearray(CHUNK)
    size = 0
    while n := _read_full(fd, buf, size):
        view = memoryview(buf)[:n]
        if size < THRESHOLD:
            whole.update(view)
        outer.update(hashlib.sha256(view).digest())
        size += n
        if n < CHUNK:
            break
    return (outer if size >= THRESHOLD else whole).hexdigest(), size


def chunked_digest(fd: int, expected: int) -> tuple[str, int]:
    """(hex digest, size) of a file stat said holds ``expected`` (≥ ``THRESHOLD``) bytes, its chunks hashed on the
    pool. A file that is not that size when read (it grew or shrank meanwhile) falls back to ``stream_digest``."""
    count = -(-expected // CHUNK)
    window = 2 * workers()
    pool = _shared_pool()
    outer = hashlib.sha256(HEADER)
    pending: deque[concurrent.futures.Future[tuple[bytes, int]]] = deque()
    size = 0
    intact = True  # every chunk full but the last, which ends where stat said

    def take() -> None:
        nonlocal size, intact
        digest, n = pending.popleft().result()
        outer.update(digest)
        size += n
        intact = intact and (n == CHUNK or size == expected)

    try:
        for index in range(count):
            pending.append(pool.submit(_hash_chunk, fd, index * CHUNK))
            if len(pending) >= window:
                take()
        while pending:
            take()
    finally:
        # Never leave a chunk reading this descriptor once it is closed (its number may be reused by then).
        concurrent.futures.wait(pending)
    if intact and size == expected and not os.pread(fd, 1, size):
        return outer.hexdigest(), size
    return stream_digest(fd)
