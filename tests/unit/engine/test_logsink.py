"""A step's output: exact bytes in the log files, lines (decoded, capped) handed over a chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipex.engine.logsink import MAX_LINE, TAIL_LINES, LogSink
from pipex.runtime.base import LogChunk, Stream

OUT, ERR = Stream.STDOUT, Stream.STDERR


OPEN: list[LogSink] = []


@pytest.fixture(autouse=True)
def _close_sinks() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


Calls = list[tuple[str, list[str]]]


def feed(tmp_path: Path, *chunks: tuple[Stream, bytes], flush: bool = True) -> tuple[Calls, LogSink]:
    calls: Calls = []
    sink = LogSink(tmp_path, lambda stream, lines: calls.append((stream, list(lines))))
    OPEN.append(sink)
    for stream, data in chunks:
        sink(LogChunk(stream, data))
    if flush:
        sink.flush_lines()
    return calls, sink


def lines_of(calls: Calls) -> list[tuple[str, str]]:
    return [(stream, line) for stream, lines in calls for line in lines]


def test_the_lines_of_a_chunk_come_in_one_call_and_the_files_get_the_exact_bytes(tmp_path: Path) -> None:
    calls, sink = feed(tmp_path, (OUT, b"a\nb\r\n\nc"), (OUT, b"d\ne\n"), (ERR, b"\xffx\xc3\n"))
    sink.close()
    assert calls == [("stdout", ["a", "b", ""]), ("stdout", ["cd", "e"]), ("stderr", ["\ufffdx\ufffd"])]
    assert (tmp_path / "stdout.log").read_bytes() == b"a\nb\r\n\ncd\ne\n"
    assert (tmp_path / "stderr.log").read_bytes() == b"\xffx\xc3\n"


def test_a_character_split_across_chunks_is_decoded_whole(tmp_path: Path) -> None:
    calls, _ = feed(tmp_path, (OUT, b"gr\xc3"), (OUT, b"\xb6\xc3\x9fe\n\xe2\x9c"), (OUT, b"\x93\n"))
    assert lines_of(calls) == [("stdout", "größe"), ("stdout", "✓")]


def test_stdout_and_stderr_keep_their_order_and_their_own_pending_lines(tmp_path: Path) -> None:
    calls, _ = feed(tmp_path, (OUT, b"o1\no2-"), (ERR, b"e1\n"), (OUT, b"end\n"), (ERR, b"e2"), flush=True)
    assert lines_of(calls) == [("stdout", "o1"), ("stderr", "e1"), ("stdout", "o2-end"), ("stderr", "e2")]


def test_a_last_line_without_newline_comes_at_the_end_of_the_phase(tmp_path: Path) -> None:
    calls, sink = feed(tmp_path, (OUT, b"first\nlast"), flush=False)
    assert lines_of(calls) == [("stdout", "first")]
    sink.flush_lines()
    sink.flush_lines()  # nothing pending any more: no empty line
    assert lines_of(calls) == [("stdout", "first"), ("stdout", "last")]


@pytest.mark.parametrize("pieces", [1, 3, 1000])
def test_an_over_long_line_is_capped_and_its_rest_dropped_however_it_arrives(tmp_path: Path, pieces: int) -> None:
    data = b"before\n" + b"x" * (3 * MAX_LINE) + b"\xff\nafter\n"
    size = -(-len(data) // pieces)
    calls, sink = feed(tmp_path, *[(OUT, data[i : i + size]) for i in range(0, len(data), size)])
    sink.close()
    assert lines_of(calls) == [("stdout", "before"), ("stdout", "x" * MAX_LINE), ("stdout", "after")]
    assert (tmp_path / "stdout.log").read_bytes() == data
    assert sink.tail() == ["before", "x" * MAX_LINE, "after"]


def test_a_line_of_exactly_max_line_bytes_is_whole(tmp_path: Path) -> None:
    calls, _ = feed(tmp_path, (OUT, b"y" * MAX_LINE), (OUT, b"\nz\n"))
    assert lines_of(calls) == [("stdout", "y" * MAX_LINE), ("stdout", "z")]


def test_the_tail_is_the_last_lines_of_stderr_else_stdout_also_without_a_listener(tmp_path: Path) -> None:
    out = b"".join(b"line %d\r\n" % n for n in range(100))
    sink = LogSink(tmp_path)  # nobody wants the lines (no --verbose): the tail is still kept for failures
    sink(LogChunk(OUT, out))
    assert sink.tail() == [f"line {n}" for n in range(100 - TAIL_LINES, 100)]
    sink(LogChunk(ERR, b"Traceback\nValueError: \xff"))
    sink.close()
    assert sink.tail() == ["Traceback", "ValueError: \ufffd"]
    assert (tmp_path / "stdout.log").read_bytes() == out


def test_last_only_hands_over_each_chunks_last_line_capped(tmp_path: Path) -> None:
    calls: Calls = []
    sink = LogSink(tmp_path, lambda stream, lines: calls.append((stream, list(lines))), last_only=True)
    OPEN.append(sink)
    for stream, data in [(OUT, b"x" * (MAX_LINE + 5) + b"\n"), (OUT, b"p"), (OUT, b"q\nr\n"), (ERR, b"\xff\n")]:
        sink(LogChunk(stream, data))
    sink.close()
    assert calls == [("stdout", ["x" * MAX_LINE]), ("stdout", ["r"]), ("stderr", ["\ufffd"])]
    assert (tmp_path / "stdout.log").read_bytes() == b"x" * (MAX_LINE + 5) + b"\npq\nr\n"
