"""Step output as events: one StepLog per line, in order, numbered, bounded in memory, none when unwanted."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pipex
from pipex.engine.emitter import QUEUE_SIZE
from pipex.engine.events import Event, LogLines, StepEnd, StepLog, StepRef, StepStart, step_logs
from pipex.engine.options import RunOptions
from pipex.runtime.base import LogChunk, Stream
from pipex.runtime.fake import Behaviour, FakeRuntime
from tests.unit.engine.test_engine_support import collect, end, index, of, write

ONE = """
    id: talk
    steps:
      - {id: talk, image: alpine:3.20, cmd: [talk]}
"""
TWO = """
    id: talk
    steps:
      - {id: talk, image: alpine:3.20, cmd: [talk]}
      - {id: other, image: alpine:3.20, cmd: [other]}
"""


def engine_for(tmp_path: Path, rt: FakeRuntime, text: str = ONE) -> tuple[pipex.Engine, pipex.Pipeline]:
    return pipex.Engine(workdir=tmp_path / "wd", runtime=rt), pipex.load(write(tmp_path / "p", text))


def test_step_logs_makes_what_the_constructor_makes() -> None:
    # step_logs sets StepLog's slots directly (the fast path): a field it does not know would be left unset.
    assert [f.name for f in dataclasses.fields(StepLog)] == [
        "run_id", "seq", "ts", "workspace", "step", "attempt", "stream", "line"
    ]  # fmt: skip
    ts, ref = datetime(2024, 5, 1, tzinfo=UTC), StepRef("a", "A")
    made = list(step_logs("r1", "ws", ts, ref, 2, "stderr", 7, ["x", "", "z"]))
    assert made == [
        StepLog(run_id="r1", seq=seq, ts=ts, workspace="ws", step=ref, attempt=2, stream="stderr", line=line)
        for seq, line in [(7, "x"), (8, ""), (9, "z")]
    ]
    assert all(type(e) is StepLog for e in made)
    assert hash(made[0]) == hash(StepLog(run_id="r1", seq=7, ts=ts, workspace="ws", step=ref, attempt=2,
                                         stream="stderr", line="x"))  # fmt: skip


def test_every_line_of_big_chunks_is_an_event_in_order_numbered_with_the_rest(tmp_path: Path) -> None:
    out = b"".join(b"out %d\n" % n for n in range(5000))
    cut = 20_001  # inside a line
    output = [(Stream.STDOUT, out[:cut]), (Stream.STDERR, b"err 1\nerr 2"), (Stream.STDOUT, out[cut:])]
    done = out[:cut].count(b"\n")  # lines complete in the first chunk
    rt = FakeRuntime()
    rt.script(step="talk", behaviour=Behaviour(output=output))
    rt.script(step="other", behaviour=Behaviour(stdout="other says\n"))
    engine, pipeline = engine_for(tmp_path, rt, TWO)
    events = collect(engine, pipeline, concurrency=2)
    assert end(events).result.status == "success"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # the stream is in seq order, no gaps
    logs = of(events, StepLog, "talk")
    assert [(e.stream, e.line) for e in logs] == [
        *[("stdout", f"out {n}") for n in range(done)],
        ("stderr", "err 1"),
        *[("stdout", f"out {n}") for n in range(done, 5000)],
        ("stderr", "err 2"),  # no newline: comes when the output ends
    ]
    run_id = events[0].run_id
    assert {(e.run_id, e.workspace, e.step, e.attempt) for e in logs} == {(run_id, "talk", StepRef("talk", "talk"), 1)}
    assert [e.line for e in of(events, StepLog, "other")] == ["other says"]


class Chatty(FakeRuntime):
    """Streams CHUNKS chunks of PER_CHUNK lines each, counting the lines the engine has pulled."""

    CHUNKS, PER_CHUNK = 40, 100
    pulled = 0

    def logs(self, container: str) -> Iterator[LogChunk]:
        self._record("logs", container)
        for c in range(self.CHUNKS):
            self.pulled += self.PER_CHUNK
            yield LogChunk(Stream.STDOUT, b"".join(b"%d\n" % (c * self.PER_CHUNK + n) for n in range(self.PER_CHUNK)))


def test_a_slow_consumer_holds_back_chunks_of_many_lines_too(tmp_path: Path) -> None:
    rt = Chatty()
    engine, pipeline = engine_for(tmp_path, rt)
    pulled_while_asleep: list[int] = []
    total = Chatty.CHUNKS * Chatty.PER_CHUNK

    async def on_event(event: Event) -> None:
        if isinstance(event, StepStart) and not pulled_while_asleep:
            last = -1
            while rt.pulled != last and rt.pulled < total:
                last = rt.pulled
                await asyncio.sleep(0.1)
            pulled_while_asleep.append(rt.pulled)

    events = collect(engine, pipeline, on_event)
    assert end(events).result.status == "success"
    # The buffer's bound is in events: one chunk may overshoot it, one more is being read when the producer waits.
    assert pulled_while_asleep[0] <= QUEUE_SIZE + 2 * Chatty.PER_CHUNK < total
    assert [e.line for e in of(events, StepLog)] == [str(n) for n in range(total)]


def test_without_logs_no_step_log_events_but_the_files_and_the_failure_tail(tmp_path: Path) -> None:
    rt = FakeRuntime()
    out = b"".join(b"line %d\n" % n for n in range(3000))
    rt.script(step="talk", behaviour=Behaviour(exit_code=3, output=[(Stream.STDOUT, out)]))
    engine, pipeline = engine_for(tmp_path, rt)
    events = collect(engine, pipeline, logs=False)
    result = end(events).result
    assert of(events, StepLog) == []
    outcome = result.outcome("talk")
    assert outcome.tail == tuple(f"line {n}" for n in range(2980, 3000))
    run = tmp_path / "wd" / "talk" / "runs" / str(outcome.run_id)
    assert (run / "stdout.log").read_bytes() == out


def test_logs_last_gives_the_last_line_of_each_chunk_and_keeps_the_files_whole(tmp_path: Path) -> None:
    rt = FakeRuntime()
    chunks = [
        (Stream.STDOUT, b"a\nb\nc"),
        (Stream.STDOUT, b"d\ne\n"),
        (Stream.STDERR, b"oops\n"),
        (Stream.STDOUT, b"f"),
    ]
    rt.script(step="talk", behaviour=Behaviour(output=chunks))
    engine, pipeline = engine_for(tmp_path, rt)
    events = collect(engine, pipeline, logs="last")
    result = end(events).result
    # "c" ends with the next chunk ("cd"): the second chunk's last line is "e"; "f" ends with the step.
    assert [(e.stream, e.line) for e in of(events, StepLog)] == [
        ("stdout", "b"),
        ("stdout", "e"),
        ("stderr", "oops"),
        ("stdout", "f"),
    ]
    run = tmp_path / "wd" / "talk" / "runs" / str(result.outcome("talk").run_id)
    assert (run / "stdout.log").read_bytes() == b"a\nb\ncd\ne\nf"


def test_a_consumer_of_whole_chunks_gets_every_line_in_its_place_and_no_step_log(tmp_path: Path) -> None:
    # on_log_lines (what the CLI asks for): each chunk's lines as one LogLines, called between the events before
    # and after them in seq order, and no StepLog in the stream.
    out = b"".join(b"out %d\n" % n for n in range(5000))
    cut = 20_001
    output = [(Stream.STDOUT, out[:cut]), (Stream.STDERR, b"err 1\nerr 2"), (Stream.STDOUT, out[cut:])]
    rt = FakeRuntime()
    rt.script(step="talk", behaviour=Behaviour(output=output))
    rt.script(step="other", behaviour=Behaviour(stdout="other says\n"))
    engine, pipeline = engine_for(tmp_path, rt, TWO)
    seen: list[Event | LogLines] = []
    options = RunOptions(concurrency=2, on_log_lines=seen.append)

    async def go() -> None:
        async for event in engine.run(pipeline, options):
            seen.append(event)

    asyncio.run(go())
    assert not any(isinstance(item, StepLog) for item in seen)
    flat = [e for item in seen for e in (item.events() if isinstance(item, LogLines) else [item])]
    assert [e.seq for e in flat] == list(range(1, len(flat) + 1))  # in their place: the order is seq order
    talk = [(e.stream, e.line) for e in of(flat, StepLog, "talk")]
    done = out[:cut].count(b"\n")
    assert talk == [
        *[("stdout", f"out {n}") for n in range(done)],
        ("stderr", "err 1"),
        *[("stdout", f"out {n}") for n in range(done, 5000)],
        ("stderr", "err 2"),
    ]
    assert index(flat, StepStart, "talk") < flat.index(of(flat, StepLog, "talk")[0])
    assert flat.index(of(flat, StepLog, "talk")[-1]) < index(flat, StepEnd, "talk")
    assert [e.line for e in of(flat, StepLog, "other")] == ["other says"]
    batches = [item for item in seen if isinstance(item, LogLines)]
    assert len(batches) < len(talk) / 100  # whole chunks, not lines
