"""Secret values are masked in the log sink before the files, the lines, the tail and a copied stdout."""

from __future__ import annotations

import io
from pathlib import Path

from pipex.engine.logsink import LogSink
from pipex.engine.mask import Masker
from pipex.runtime.base import LogChunk, Stream

VALUE = b"pa55-w0rd-\xc3\xa9t\xc3\xa9"  # multi-byte UTF-8: "pa55-w0rd-été"


def test_each_stream_is_masked_on_its_own_across_chunks(tmp_path: Path) -> None:
    lines: list[tuple[str, str]] = []
    copy = io.BytesIO()
    sink = LogSink(
        tmp_path,
        lambda stream, got: lines.extend((stream, line) for line in got),
        stdout=copy,
        masker=Masker([VALUE]),
    )
    # Interleaved streams, each holding half a value: neither stream's half may complete the other's.
    sink(LogChunk(Stream.STDOUT, b"out " + VALUE[:7]))
    sink(LogChunk(Stream.STDERR, b"err " + VALUE[:12]))  # cut inside the two bytes of "é"
    sink(LogChunk(Stream.STDOUT, VALUE[7:] + b" done\nnext " + VALUE))
    sink(LogChunk(Stream.STDERR, VALUE[12:] + b"\n"))
    assert [stream for stream, _ in lines] == ["stdout", "stderr"]  # the held-back ends were not lines yet
    sink.close()
    assert (tmp_path / "stdout.log").read_bytes() == b"out *** done\nnext ***"
    assert (tmp_path / "stderr.log").read_bytes() == b"err ***\n"
    assert copy.getvalue() == b"out *** done\nnext ***"
    assert lines == [("stdout", "out *** done"), ("stderr", "err ***"), ("stdout", "next ***")]
    assert sink.tail() == ["err ***"]


def test_a_held_back_start_that_is_no_value_comes_out_at_the_end_of_a_phase(tmp_path: Path) -> None:
    sink = LogSink(tmp_path, masker=Masker([VALUE]))
    sink(LogChunk(Stream.STDOUT, b"almost pa55-w0r"))
    sink.flush_lines()  # the setup phase ended
    sink(LogChunk(Stream.STDOUT, b"d-" + VALUE[10:] + b"\n"))
    sink.close()
    assert (tmp_path / "stdout.log").read_bytes() == b"almost pa55-w0r" + b"d-" + VALUE[10:] + b"\n"


def test_binary_output_stays_byte_exact_around_a_masked_value(tmp_path: Path) -> None:
    noise = bytes(range(256))
    sink = LogSink(tmp_path, masker=Masker([VALUE]))
    data = noise + VALUE + noise + VALUE[:5]
    for start in range(0, len(data), 7):
        sink(LogChunk(Stream.STDOUT, data[start : start + 7]))
    sink.close()
    assert (tmp_path / "stdout.log").read_bytes() == noise + b"***" + noise + VALUE[:5]
