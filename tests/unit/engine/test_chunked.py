"""Tree format 2: big files hashed in chunks on a thread pool; the value follows the bytes only."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from pathlib import Path

import pytest

from pipex.engine.chunked import CHUNK, HEADER, THRESHOLD, stream_digest
from pipex.engine.digest import ARTIFACTS_FORMAT, MOUNT_FORMAT, file_digest, tree_digest
from pipex.engine.statcache import StatCache


def reference(data: bytes) -> str:
    """Format 2's file digest written out plainly, with no reading or threading of the real one."""
    if len(data) < THRESHOLD:
        return hashlib.sha256(data).hexdigest()
    chunks = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
    return hashlib.sha256(HEADER + b"".join(hashlib.sha256(c).digest() for c in chunks)).hexdigest()


def pattern(size: int) -> bytes:
    """Bytes where every chunk differs (a swapped or misplaced chunk changes the digest)."""
    block = hashlib.sha256(b"x").digest() * (CHUNK // 32 // 4)
    out = bytearray()
    i = 0
    while len(out) < size:
        out += i.to_bytes(4, "big") + block
        i += 1
    return bytes(out[:size])


def test_the_documented_constants() -> None:
    assert (CHUNK, THRESHOLD, HEADER) == (4 << 20, 8 << 20, b"pipex-chunks-1 4194304\0")
    assert (MOUNT_FORMAT, ARTIFACTS_FORMAT) == (1, 2)


@pytest.mark.parametrize(
    "size",
    [
        0,
        THRESHOLD - 1,  # the last size hashed whole
        THRESHOLD,  # the first chunked one: exactly two chunks
        THRESHOLD + 1,  # a one-byte last chunk
        3 * CHUNK,  # an exact multiple of the chunk
        3 * CHUNK - 1,
        5 * CHUNK + 12345,
    ],
)
def test_chunk_boundaries_match_the_written_out_rule(tmp_path: Path, size: int) -> None:
    data = pattern(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    expected = reference(data)
    assert file_digest(str(path), size, 2) == (expected, size)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert stream_digest(fd) == (expected, size)  # the one-thread fallback agrees
    finally:
        os.close(fd)
    # Format 1 is untouched: the file's SHA-256, as sha256sum prints it.
    assert file_digest(str(path), size, 1) == (hashlib.sha256(data).hexdigest(), size)
    assert (expected == hashlib.sha256(data).hexdigest()) == (size < THRESHOLD)


def test_a_chunk_out_of_place_changes_the_digest(tmp_path: Path) -> None:
    data = pattern(3 * CHUNK)
    swapped = data[CHUNK : 2 * CHUNK] + data[:CHUNK] + data[2 * CHUNK :]
    (tmp_path / "a").write_bytes(data)
    (tmp_path / "b").write_bytes(swapped)
    assert file_digest(str(tmp_path / "a"), len(data), 2) != file_digest(str(tmp_path / "b"), len(data), 2)


@pytest.mark.parametrize(
    ("stat_said", "actual"),
    [
        (3 * CHUNK, THRESHOLD - 5),  # shrank below the threshold: hashed whole, as read
        (3 * CHUNK, 3 * CHUNK + 7),  # grew by less than a chunk
        (THRESHOLD + 1, 4 * CHUNK),  # grew by whole chunks
        (10, THRESHOLD + 3),  # stat said small, the file is big: still chunked
    ],
)
def test_a_file_whose_size_changed_since_stat_is_hashed_as_read(tmp_path: Path, stat_said: int, actual: int) -> None:
    data = pattern(actual)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert file_digest(str(path), stat_said, 2) == (reference(data), actual)


def test_the_thread_pool_is_deterministic_under_concurrent_use(tmp_path: Path) -> None:
    sizes = [THRESHOLD, 3 * CHUNK + 1, 6 * CHUNK]
    paths = []
    for n, size in enumerate(sizes):
        paths.append(tmp_path / f"f{n}")
        paths[-1].write_bytes(pattern(size)[::-1])  # reversed: chunks differ from the other test files'
    expected = [reference(p.read_bytes()) for p in paths]
    found: list[list[str]] = []
    lock = threading.Lock()

    def digest_all() -> None:
        got = [file_digest(str(p), p.stat().st_size, 2)[0] for p in paths]
        with lock:
            found.append(got)

    threads = [threading.Thread(target=digest_all) for _ in range(4)]  # they share one pool
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == [expected] * 4


def test_tree_formats_differ_and_each_is_stable(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "small.txt").write_bytes(b"small\n")
    v1, v2 = tree_digest(tmp_path / "t", version=1), tree_digest(tmp_path / "t", version=2)
    # Same file digests (no big file), but the format is in the tree's digest: never equal across formats.
    assert v1.manifest == v2.manifest and v1.digest != v2.digest
    assert (v1.version, v2.version) == (1, 2)
    top = hashlib.sha256(f"pipex-tree-2\0d 6 {_dir_of('small.txt', b'small' + bytes([10]))} \0".encode())
    assert v2.digest == "sha256:" + top.hexdigest()
    (tmp_path / "t" / "big.bin").write_bytes(pattern(THRESHOLD + 1))
    big = tree_digest(tmp_path / "t", version=2)
    assert big.manifest["big.bin"] == "f:" + reference(pattern(THRESHOLD + 1)) and big.size == THRESHOLD + 7


def _dir_of(name: str, data: bytes) -> str:
    return hashlib.sha256(f"f {len(data)} {hashlib.sha256(data).hexdigest()} {name}\0".encode()).hexdigest()


def test_unknown_formats_and_a_stat_cache_with_format_2_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown tree digest format 3"):
        tree_digest(tmp_path, version=3)
    cache = StatCache.open(tmp_path / "cache", writable=False)
    try:
        with pytest.raises(ValueError, match="format-1 file digests"):
            tree_digest(tmp_path, cache=cache, version=2)
    finally:
        cache.close()


def test_a_forked_child_hashes_with_a_pool_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(pattern(THRESHOLD))
    expected = file_digest(str(path), THRESHOLD, 2)  # the parent's pool exists from here on
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool has no threads here, a stale one would wait forever
        signal.alarm(30)  # ...so it is killed instead, and the parent reads nothing
        try:
            os.write(write, file_digest(str(path), THRESHOLD, 2)[0].encode())
        finally:
            os._exit(0)
    os.close(write)
    try:
        got = os.read(read, 100).decode()
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert got == expected[0]
