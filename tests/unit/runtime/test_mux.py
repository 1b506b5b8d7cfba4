"""The multiplexed stream parser: frames cut anywhere by the reads, merged per read, hostile headers bounded."""

from __future__ import annotations

import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Iterable, Iterator

import pytest

from pipex.runtime.base import LogChunk, Stream
from pipex.runtime.mux import MAX_CHUNK, iter_frames

from .unixserver import frame

OUT, ERR = Stream.STDOUT, Stream.STDERR


class Reads:
    """A reader that returns the given pieces, one per read (each at most ``amt`` bytes), then EOF."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces: Iterator[bytes] = iter(pieces)
        self._rest = b""
        self.calls = 0

    def read1(self, amt: int, /) -> bytes:
        self.calls += 1
        if not self._rest:
            self._rest = next(self._pieces, b"")
        data, self._rest = self._rest[:amt], self._rest[amt:]
        return data


def runs(chunks: Iterable[LogChunk]) -> list[tuple[Stream, bytes]]:
    """The chunks with consecutive ones of the same stream joined: what any cut of the reads must give."""
    out: list[tuple[Stream, bytes]] = []
    for chunk in chunks:
        assert chunk.data, "an empty chunk is never handed over"
        if out and out[-1][0] is chunk.stream:
            out[-1] = (chunk.stream, out[-1][1] + chunk.data)
        else:
            out.append((chunk.stream, chunk.data))
    return out


# stdout and stderr interleaved, a zero-length frame of each, a stdin echo (0) and an unknown id (3) dropped,
# and bytes that are not UTF-8 nor whole lines (the parser is binary-safe; lines are the log sink's job).
STREAM = b"".join(
    [
        frame(1, b"first line\nsecond "),
        frame(2, b"err \xe2\x82"),
        frame(1, b""),
        frame(2, b"\xac\n"),
        frame(0, b"stdin echo"),
        frame(1, b"line\n"),
        frame(3, b"unknown"),
        frame(2, b""),
        frame(1, bytes(range(256))),
        frame(2, b"last"),
    ]
)
EXPECTED = [
    (OUT, b"first line\nsecond "),
    (ERR, b"err \xe2\x82\xac\n"),
    (OUT, b"line\n" + bytes(range(256))),
    (ERR, b"last"),
]


def test_one_read_of_many_frames_gives_one_chunk_per_run_of_a_stream() -> None:
    chunks = list(iter_frames(Reads([STREAM])))
    assert [(c.stream, c.data) for c in chunks] == EXPECTED


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_frames_cut_at_any_byte_across_two_reads(cut: int) -> None:
    assert runs(iter_frames(Reads([STREAM[:cut], STREAM[cut:]]))) == EXPECTED


def test_one_byte_per_read() -> None:
    reader = Reads(STREAM[i : i + 1] for i in range(len(STREAM)))
    assert runs(iter_frames(reader)) == EXPECTED
    assert reader.calls == len(STREAM) + 1  # one read per byte, then the EOF


def test_five_hundred_frames_in_one_read_are_one_chunk() -> None:
    lines = [b"%08d %096d\n" % (i, i) for i in range(500)]  # 57,000 bytes of frames: one read of 64 KiB
    chunks = list(iter_frames(Reads([b"".join(frame(1, line) for line in lines)])))
    assert chunks == [LogChunk(OUT, b"".join(lines))]


def test_eof_inside_a_header_is_an_error_after_what_came_before() -> None:
    got: list[LogChunk] = []
    with pytest.raises(EOFError) as info:
        got.extend(iter_frames(Reads([frame(1, b"whole") + frame(2, b"x")[:5]])))
    assert got == [LogChunk(OUT, b"whole")]
    assert str(info.value) == "stream ended inside a frame header (5 of 8 bytes)"


def test_eof_inside_a_payload_is_an_error_after_the_part_that_came() -> None:
    got: list[LogChunk] = []
    with pytest.raises(EOFError) as info:
        got.extend(iter_frames(Reads([frame(1, b"whole"), frame(2, b"cut short")[:12]])))
    assert runs(got) == [(OUT, b"whole"), (ERR, b"cut ")]
    assert str(info.value) == "stream ended inside a frame (5 bytes of its payload missing)"


def test_eof_right_after_a_zero_length_frame_is_a_clean_end() -> None:
    assert list(iter_frames(Reads([frame(1, b"a"), frame(2, b"")]))) == [LogChunk(OUT, b"a")]


def test_a_header_claiming_4_gib_streams_in_bounded_chunks_and_memory() -> None:
    """A container controls the bytes but not the framing; a frame header claiming 4 GiB (as from a hostile or
    broken peer) must not make the reader allocate or hold it: its payload is handed over read by read."""
    block = b"\x00" * (1 << 16)
    total = 32 << 20
    pieces = [struct.pack(">BxxxL", 1, 0xFFFFFFFF)] + [block] * (total // len(block))
    tracemalloc.start()
    try:
        seen = 0
        largest = 0
        with pytest.raises(EOFError):
            for chunk in iter_frames(Reads(pieces)):
                seen += len(chunk.data)
                largest = max(largest, len(chunk.data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == total
    assert largest <= MAX_CHUNK
    assert peak < 4 * len(block) + MAX_CHUNK  # a few reads' worth, never the claimed size nor the total


def test_a_busy_stream_is_gathered_while_the_first_bytes_go_out_at_once() -> None:
    """Over a socket, with the writer sending one small frame every millisecond (as a chatty step does): with
    ``gather`` the reads take several frames each, and a frame after a quiet spell is not held back."""

    def chunks_of(gather: float) -> tuple[int, bytes]:
        ours, theirs = socket.socketpair()
        first_seen = threading.Event()
        prompt: list[bool] = []

        def write() -> None:
            with theirs:
                theirs.sendall(frame(1, b"hello\n"))
                # Nothing more is sent until the first frame is delivered: a reader holding it back waits here.
                prompt.append(first_seen.wait(5))
                for i in range(60):
                    theirs.sendall(frame(1, b"%03d\n" % i))
                    time.sleep(0.001)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            with ours, ours.makefile("rb") as reader:
                got: list[LogChunk] = []
                for chunk in iter_frames(reader, gather=gather):
                    got.append(chunk)
                    first_seen.set()
        finally:
            first_seen.set()
            writer.join()
        assert prompt == [True]
        assert got[0] == LogChunk(OUT, b"hello\n")
        return len(got), b"".join(c.data for c in got)

    eager, eager_data = chunks_of(0.0)
    gathered, gathered_data = chunks_of(0.02)
    expected = b"hello\n" + b"".join(b"%03d\n" % i for i in range(60))
    assert eager_data == gathered_data == expected
    assert gathered * 3 <= eager
