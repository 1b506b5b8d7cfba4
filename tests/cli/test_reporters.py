"""The run reporters, fed synthetic event sequences: plain text, JSON lines, quiet, and the live view."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from rich.console import Console

from pipex.cli.reporters import JsonReporter, PlainReporter, QuietReporter, make_reporter
from pipex.cli.reporters.base import Reporter, human_duration, human_size, sanitize
from pipex.cli.reporters.live import MAX_PENDING, LiveReporter
from pipex.engine.events import (
    Event,
    ImagePull,
    LogLines,
    Metrics,
    PipelineEnd,
    PipelineStart,
    RunResult,
    StepCached,
    StepEnd,
    StepJob,
    StepLog,
    StepOutcome,
    StepRef,
    StepRetry,
    StepSkipped,
    StepStart,
    StepWouldRun,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BUILD, TEST, NOTIFY, REPORT = (
    StepRef("build", "Build"),
    StepRef("test", "Test"),
    StepRef("notify", "N"),
    StepRef("report", "Report"),
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Feed:
    """Builds events of one run: numbered, ``at`` seconds after T0."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, cls: type[Event], at: float = 0.0, **fields: Any) -> Event:
        self.seq += 1
        return cls(run_id="r1", seq=self.seq, ts=T0 + timedelta(seconds=at), workspace="geo", **fields)


def success_run(ev: Feed) -> list[Event]:
    outcomes = (
        StepOutcome("build", "Build", "success", run_id="b1", duration=1.23, artifacts_size=3482),
        StepOutcome("test", "Test", "cached", run_id="t0"),
        StepOutcome("notify", "N", "skipped", reason="condition"),
    )
    result = RunResult(
        run_id="r1",
        workspace="geo",
        status="success",
        steps=outcomes,
        duration=2.5,
        metrics=Metrics(ran=1, cached=1, skipped=1),
    )
    return [
        ev(PipelineStart, pipeline="geodata", steps=(BUILD, TEST, NOTIFY)),
        ev(ImagePull, step=BUILD, image="alpine:3.20", status="Pulling fs layer"),
        ev(ImagePull, step=BUILD, image="alpine:3.20", status="Downloading", current=10, total=100),
        ev(StepStart, step=BUILD, image="alpine:3.20"),
        ev(StepLog, 0.5, step=BUILD, stream="stdout", line="compiling"),
        ev(StepCached, step=TEST, cached_run_id="t0"),
        ev(
            StepEnd,
            1.23,
            step=BUILD,
            status="success",
            exit_code=0,
            reason=None,
            step_run_id="b1",
            duration=1.23,
            artifacts_size=3482,
        ),
        ev(StepSkipped, step=NOTIFY, reason="condition"),
        ev(PipelineEnd, 2.5, result=result),
    ]


def failed_run(ev: Feed, workspace: str = "geo") -> list[Event]:
    outcomes = (
        StepOutcome("build", "Build", "success", run_id="b1", duration=1.0),
        StepOutcome(
            "report",
            "Report",
            "failure",
            reason="exit",
            exit_code=1,
            run_id="rp2",
            duration=0.4,
            message="exited with code 1",
            tail=("Traceback (most recent call last):", "ValueError: bad"),
        ),
        StepOutcome("notify", "N", "skipped", reason="dependency"),
    )
    result = RunResult(
        run_id="r1",
        workspace=workspace,
        status="failed",
        steps=outcomes,
        duration=64.2,
        metrics=Metrics(ran=2, failed=1, skipped=1),
        failed_steps=("report",),
        failure_kind="step",
        error="step report: exited with code 1",
    )
    return [
        ev(PipelineStart, pipeline="geodata", steps=(BUILD, REPORT, NOTIFY)),
        ev(StepStart, step=BUILD, image="alpine"),
        ev(StepEnd, step=BUILD, status="success", exit_code=0, reason=None, step_run_id="b1", duration=1.0),
        ev(StepStart, step=REPORT, image="alpine"),
        ev(StepLog, step=REPORT, stream="stderr", line="ValueError: bad"),
        ev(StepRetry, step=REPORT, attempt=2, max=3, delay=5.0, reason="exited with code 1"),
        ev(
            StepEnd,
            step=REPORT,
            attempt=2,
            status="failure",
            exit_code=1,
            reason="exit",
            step_run_id="rp2",
            duration=0.4,
            message="exited with code 1",
        ),
        ev(StepSkipped, step=NOTIFY, reason="dependency"),
        ev(PipelineEnd, result=result),
    ]


FAILURE_SUMMARY = [
    "",
    "✗ report  exit 1",
    "  │ Traceback (most recent call last):",
    "  │ ValueError: bad",
    "  all output: pipex logs geo report",
    "✗ failed after 1m04s: 2 ran, 0 cached, 1 failed, 1 skipped",
]


def feed(reporter: Reporter, events: list[Event]) -> None:
    for event in events:
        reporter.handle(event)
    reporter.close()


def plain_output(events: list[Event], *, verbose: bool = False) -> list[str]:
    err = io.StringIO()
    feed(PlainReporter(err, verbose=verbose, workspace="geo"), events)
    return err.getvalue().splitlines()


# -- formatting ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (3482, "3.4 KB"),
        (1024**2 - 1, "1.0 MB"),
        (5 * 1024**3, "5.0 GB"),
        (3 * 1024**6, "3072.0 PB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-1, "0.0s"),
        (0.4, "0.4s"),
        (59.94, "59.9s"),
        (59.96, "1m00s"),
        (123, "2m03s"),
        (3599.6, "1h00m"),
        (3725, "1h02m"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_sanitize_drops_escape_sequences_and_controls() -> None:
    assert sanitize("a\x1b[31mred\x1b[0m\x1b]0;title\x07 b\rc\td") == "ared bc\td"
    assert sanitize("plain ✓") == "plain ✓"


# -- plain -----------------------------------------------------------------------------------------------------


def test_plain_success_run() -> None:
    assert plain_output(success_run(Feed())) == [
        "pipeline geodata · workspace geo · 3 steps",
        "⇣ build  pulling alpine:3.20",
        "▶ build  started",
        "= test  cached",
        "✓ build  1.2s 3.4 KB",
        "- notify  skipped (condition)",
        "✓ succeeded in 2.5s: 1 ran, 1 cached, 0 failed, 1 skipped",
    ]


def test_plain_verbose_adds_the_steps_output_lines() -> None:
    lines = plain_output(success_run(Feed()), verbose=True)
    assert lines[2:5] == ["▶ build  started", "[build] compiling", "= test  cached"]


class LineBufferedStderr(io.TextIOWrapper):
    """Like ``sys.stderr`` redirected to a file: line-buffered, counting what reaches the file."""

    def __init__(self) -> None:
        self.raw_out = io.BytesIO()
        super().__init__(self.raw_out, encoding="utf-8", line_buffering=True, write_through=False)
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()

    def landed(self) -> str:
        return self.raw_out.getvalue().decode()


def test_plain_verbose_output_lines_are_flushed_soon_not_one_by_one() -> None:
    from pipex.cli.reporters.flushing import FLUSH_AFTER

    err = LineBufferedStderr()
    reporter = PlainReporter(err, verbose=True, workspace="geo")
    ev = Feed()
    reporter.handle(ev(StepStart, step=BUILD, image="alpine:3.20"))
    assert err.landed() == "▶ build  started\n"  # other events at once
    flushes = err.flushes
    for i in range(1000):
        reporter.handle(ev(StepLog, step=BUILD, stream="stdout", line=f"line {i}"))
    assert err.flushes - flushes <= 1  # stderr is line-buffered: a flush per line was most of the cost
    assert len(err.landed().splitlines()) < 1001
    deadline = time.monotonic() + 5
    while len(err.landed().splitlines()) < 1001 and time.monotonic() < deadline:  # the last line arrives soon
        time.sleep(FLUSH_AFTER / 5)
    assert err.landed().splitlines()[-1] == "[build] line 999"
    reporter.close()
    assert err.line_buffering  # as it was: later error messages are not held back
    err.write("error: x\n")
    assert err.landed().endswith("[build] line 999\nerror: x\n")


def test_plain_without_verbose_leaves_stderr_line_buffered() -> None:
    err = LineBufferedStderr()
    reporter = PlainReporter(err, verbose=False, workspace="geo")
    assert reporter.wants_logs is False and err.line_buffering
    reporter.close()


def test_plain_failed_run_prints_the_failure_summary() -> None:
    assert plain_output(failed_run(Feed())) == [
        "pipeline geodata · workspace geo · 3 steps",
        "▶ build  started",
        "✓ build  1.0s",
        "▶ report  started",
        "↻ report  retry 2/3 in 5.0s: exited with code 1",
        "✗ report  exit 1 0.4s",
        "- notify  skipped (dependency)",
        *FAILURE_SUMMARY,
    ]


def test_plain_logs_command_quotes_the_workspace() -> None:
    assert "  all output: pipex logs 'my ws' report" in plain_output(failed_run(Feed(), workspace="my ws"))


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        (
            {"status": "failure", "exit_code": 2, "reason": "setup", "message": "setup exited with code 2"},
            "✗ x  exit 2 (setup) 3.0s",
        ),
        (
            {"status": "timeout", "exit_code": 124, "reason": "timeout", "message": "timed out after 3 s"},
            "✗ x  timeout 3.0s",
        ),
        ({"status": "cancelled", "exit_code": None, "reason": "cancelled"}, "✗ x  cancelled 3.0s"),
        (
            {"status": "failure", "exit_code": None, "reason": "image", "message": "image 'nope' is not present"},
            "✗ x  failed (image) 3.0s",
        ),
        (
            {"status": "failure", "exit_code": None, "reason": "engine", "message": "lost the engine"},
            "✗ x  failed (engine) 3.0s",
        ),
        (  # a Slurm job says where it ran
            {"status": "failure", "exit_code": 1, "reason": "exit", "job": "4101", "node": "node7"},
            "✗ x  exit 1 3.0s on node7",
        ),
        ({"status": "success", "exit_code": 0, "reason": None, "node": "node7"}, "✓ x  3.0s on node7"),
    ],
)
def test_plain_step_failures(fields: dict[str, Any], line: str) -> None:
    ev = Feed()
    event = ev(StepEnd, step=StepRef("x", "x"), step_run_id=None, duration=3.0, **fields)
    assert plain_output([event]) == [line]


def test_plain_dry_run_and_explain() -> None:
    ev = Feed()
    a, b = StepRef("a", "A"), StepRef("b", "B")
    result = RunResult(
        run_id="r1",
        workspace="geo",
        status="success",
        duration=0.05,
        dry_run=True,
        steps=(StepOutcome("a", "A", "would_run"), StepOutcome("b", "B", "cached")),
        metrics=Metrics(cached=1, would_run=1),
    )
    events = [
        ev(PipelineStart, pipeline="geodata", steps=(a,), dry_run=True),
        ev(StepWouldRun, step=a, reasons=("no previous successful run",)),
        ev(StepWouldRun, step=b, reasons=("input a changed", "the command changed")),
        ev(StepWouldRun, step=b, reasons=()),
        ev(StepStart, step=a, image="alpine", reasons=("forced",)),
        ev(PipelineEnd, result=result),
    ]
    assert plain_output(events) == [
        "pipeline geodata · workspace geo · 1 step · dry run",
        "? a  would run (no previous successful run)",
        "? b  would run (input a changed; the command changed)",
        "? b  would run",
        "▶ a  started (forced)",
        "✓ dry run in 0.1s: 1 would run, 1 cached, 0 skipped",
    ]


def test_plain_retry_without_delay_and_an_engine_failure_without_a_step() -> None:
    ev = Feed()
    result = RunResult(
        run_id="r1",
        workspace="geo",
        status="failed",
        steps=(),
        duration=0.2,
        metrics=Metrics(),
        failure_kind="engine",
        error="cannot reach Podman",
    )
    events = [
        ev(StepRetry, step=BUILD, attempt=3, max=3, delay=0.0, reason=""),
        ev(PipelineEnd, result=result),
    ]
    assert plain_output(events) == [
        "↻ build  retry 3/3",
        "",
        "error: cannot reach Podman",
        "✗ failed after 0.2s: 0 ran, 0 cached, 0 failed, 0 skipped",
    ]


def test_plain_image_failure_summary_has_the_message_and_no_logs_command() -> None:
    ev = Feed()
    outcome = StepOutcome("fetch", "F", "failure", reason="image", message="image 'x' not found", duration=0.3)
    result = RunResult(
        run_id="r1",
        workspace="geo",
        status="interrupted",
        steps=(outcome,),
        duration=0.3,
        metrics=Metrics(failed=1),
        failed_steps=("fetch",),
    )
    assert plain_output([ev(PipelineEnd, result=result)]) == [
        "",
        "✗ fetch  failed (image): image 'x' not found",
        "  hint: pull it, check the name, or set the kit's `image`; offline, `runtimes/shell-image.sh` builds the "
        "shell kit's image from busybox",
        "✗ interrupted after 0.3s: 0 ran, 0 cached, 1 failed, 0 skipped; the next run reuses 0 steps from the cache",
    ]


def test_a_missing_image_is_reported_once() -> None:
    # The step line, the summary and the (pipex-written) log tail used to say it three times.
    ev = Feed()
    message = "cannot pull image 'alpine:3.20': no such host"
    end = ev(
        StepEnd,
        step=StepRef("hello", "hello"),
        step_run_id="r9",
        duration=0.2,
        status="failure",
        exit_code=None,
        reason="image",
        message=message,
    )
    outcome = StepOutcome(
        "hello",
        "hello",
        "failure",
        reason="image",
        message=message,
        duration=0.2,
        run_id="r9",
        tail=(f"pipex: {message}",),
    )
    result = RunResult(
        run_id="r1",
        workspace="demo",
        status="failed",
        steps=(outcome,),
        duration=0.2,
        metrics=Metrics(failed=1),
        failed_steps=("hello",),
    )
    out = plain_output([end, ev(PipelineEnd, result=result)])
    assert sum(message in line for line in out) == 1
    assert out == [
        "✗ hello  failed (image) 0.2s",
        "",
        f"✗ hello  failed (image): {message}",
        "  hint: pull it, check the name, or set the kit's `image`; offline, `runtimes/shell-image.sh` builds the "
        "shell kit's image from busybox",
        "✗ failed after 0.2s: 0 ran, 0 cached, 1 failed, 0 skipped",
    ]


def test_a_missing_command_names_it_with_exit_127() -> None:
    ev = Feed()
    message = 'command "nosuch" not found in the image (the engine said: exec: "nosuch": executable file not found)'
    end = ev(
        StepEnd,
        step=StepRef("t", "t"),
        step_run_id="r9",
        duration=0.1,
        status="failure",
        exit_code=127,
        reason="command",
        message=message,
    )
    outcome = StepOutcome(
        "t", "t", "failure", reason="command", message=message, exit_code=127, duration=0.1, run_id="r9", tail=()
    )
    result = RunResult(
        run_id="r1",
        workspace="demo",
        status="failed",
        steps=(outcome,),
        duration=0.1,
        metrics=Metrics(ran=1, failed=1),
        failed_steps=("t",),
    )
    assert plain_output([end, ev(PipelineEnd, result=result)]) == [
        "✗ t  exit 127 (command) 0.1s",
        "",
        f"✗ t  exit 127 (command): {message}",
        "  hint: the image has no such executable: check `cmd` (or the image's entrypoint), or use an image that "
        "has it",
        "  (no output)",
        "  all output: pipex logs demo t",
        "✗ failed after 0.1s: 1 ran, 0 cached, 1 failed, 0 skipped",
    ]


def test_plain_failed_step_without_output() -> None:
    ev = Feed()
    outcome = StepOutcome("x", "X", "timeout", reason="timeout", exit_code=124, run_id="x1", duration=3.0)
    result = RunResult(
        run_id="r1",
        workspace="geo",
        status="timeout",
        steps=(outcome,),
        duration=3.0,
        metrics=Metrics(ran=1, failed=1),
        failed_steps=("x",),
    )
    assert plain_output([ev(PipelineEnd, result=result)]) == [
        "",
        "✗ x  timeout",
        "  (no output)",
        "  all output: pipex logs geo x",
        "✗ timed out after 3.0s: 1 ran, 0 cached, 1 failed, 0 skipped; the next run reuses 0 steps from the cache",
    ]


# -- JSON lines ------------------------------------------------------------------------------------------------


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_json_output_lines_are_flushed_soon_not_one_by_one() -> None:
    from pipex.cli.reporters.jsonl import FLUSH_AFTER

    out = CountingStream()
    ev = Feed()
    reporter = JsonReporter(out)
    for i in range(1000):
        reporter.handle(ev(StepLog, step=REPORT, stream="stdout", line=f"line {i}"))
    assert out.flushes <= 1  # a flush per line was most of the cost of chatty steps
    deadline = time.monotonic() + 5
    while out.flushes == 0 and time.monotonic() < deadline:  # a quiet step's last line still arrives soon
        time.sleep(FLUSH_AFTER / 5)
    assert out.flushes == 1
    reporter.close()
    assert len(out.getvalue().splitlines()) == 1000


def test_json_one_compact_object_per_line_on_stdout_only() -> None:
    out, err = CountingStream(), io.StringIO()
    ev = Feed()
    events = [*failed_run(ev)[:-1], ev(StepLog, step=REPORT, stream="stdout", line="größe ✓"), failed_run(ev)[-1]]
    reporter = make_reporter(
        json=True, stream_err=err, stream_out=out, color=True, verbose=False, quiet=True, workspace="geo"
    )
    assert isinstance(reporter, JsonReporter)
    for event in events:
        reporter.handle(event)
        assert out.getvalue().endswith("\n")
    reporter.close()
    lines = out.getvalue().splitlines()
    assert err.getvalue() == ""
    assert len(lines) == len(events)
    assert out.flushes >= sum(not isinstance(e, StepLog) for e in events)  # every event but output lines at once
    parsed = [json.loads(line) for line in lines]
    assert [p["event"] for p in parsed] == [e.kind for e in events]
    assert all(
        line == json.dumps(p, ensure_ascii=False, separators=(",", ":")) for line, p in zip(lines, parsed, strict=True)
    )
    assert '"line":"größe ✓"' in lines[-2]
    first, end = parsed[0], parsed[-1]
    assert set(first) == {"event", "ts", "seq", "runId", "workspace", "pipeline", "dryRun", "steps"}
    assert first["ts"] == "2024-05-01T12:00:00Z"
    step_end = next(p for p in parsed if p["event"] == "step_end" and p["step"]["id"] == "report")
    assert step_end["exitCode"] == 1
    assert step_end["durationMs"] == 400
    assert step_end["stepRunId"] == "rp2"
    assert end["status"] == "failed"
    assert end["failedSteps"] == ["report"]
    assert end["counts"] == {"ran": 2, "cached": 0, "skipped": 1, "failed": 1, "wouldRun": 0, "cancelled": 0}


def test_json_step_log_lines_are_exactly_the_events_json() -> None:
    # Output lines are rendered from cached parts (the hot path): each must still be to_json, encoded.
    from pipex.cli.reporters.jsonl import dumps

    out = CountingStream()
    reporter = JsonReporter(out)
    tricky = ['say "hi"', "back\\slash\\", "tab\tcr\rnul\x00esc\x1b", "größe ✓ 日本", "\u2028\u2029", "", "}{"]
    ts2 = T0 + timedelta(seconds=1)
    events: list[Event] = []
    seq = 0
    cases: list[tuple[str, str, StepRef, int, Literal["stdout", "stderr"], datetime]] = [
        ("r1", "geo", BUILD, 1, "stdout", T0),
        ("r1", "geo", BUILD, 1, "stderr", T0),  # same ts object, other stream
        ("r1", "geo", BUILD, 2, "stderr", T0),
        ("r1", "geo", StepRef("build", "Build"), 2, "stderr", ts2),  # an equal step, another object
        ("r1", "geo", REPORT, 2, "stderr", ts2),
        ("r2", "geo", REPORT, 2, "stderr", ts2),
        ("r2", 'w"s', REPORT, 2, "stderr", ts2),
        ("r2", 'w"s', StepRef("etl.process[a.csv]", "process a"), 1, "stderr", ts2),  # an instance, in a scope
    ]
    for run_id, workspace, step, attempt, stream, ts in cases:
        for line in tricky:
            seq += 1
            events.append(StepLog(run_id=run_id, seq=seq, ts=ts, workspace=workspace, step=step, attempt=attempt,
                                  stream=stream, line=line))  # fmt: skip
    for event in events:
        reporter.handle(event)
    reporter.close()
    assert out.getvalue().split("\n") == [*(dumps(e) for e in events), ""]
    assert out.getvalue().split("\n")[1] == (
        '{"event":"step_log","ts":"2024-05-01T12:00:00Z","seq":2,"runId":"r1","workspace":"geo",'
        '"step":{"id":"build","name":"Build"},"attempt":1,"stream":"stdout","line":"back\\\\slash\\\\"}'
    )
    last = json.loads(out.getvalue().split("\n")[-2])
    assert last["step"] == {"id": "etl.process[a.csv]", "name": "process a"}
    assert (last["scope"], last["group"], last["instance"]) == ("etl", "etl.process", "a.csv")


def test_a_chunk_handled_whole_writes_what_its_lines_one_by_one_write() -> None:
    # The CLI hands reporters each chunk's lines whole (handle_lines): the output must be the per-event one.
    tricky = ['say "hi"', "back\\slash\\", "tab\tcr\rnul\x00esc\x1b", "größe ✓ 日本", "\u2028\u2029", "", "}{"]
    ts2 = T0 + timedelta(seconds=1)
    batches = [
        LogLines("r1", "geo", 1, T0, BUILD, 1, "stdout", tricky),
        LogLines("r1", "geo", 8, T0, BUILD, 1, "stderr", ["one"]),  # same ts object, other stream
        LogLines("r1", "geo", 9, ts2, StepRef("build", "Build"), 2, "stderr", ["a", "b"]),  # an equal step
        LogLines("r1", 'w"s', 11, ts2, StepRef("etl.process[a.csv]", "process a"), 1, "stdout", ["x", "y"]),
    ]

    def both(make: Any) -> tuple[str, str]:
        outputs = []
        for whole in (False, True):
            out = io.StringIO()
            reporter = make(out)
            for batch in batches:
                if whole:
                    reporter.handle_lines(batch)
                else:
                    for event in batch.events():
                        reporter.handle(event)
            reporter.close()
            outputs.append(out.getvalue())
        return outputs[0], outputs[1]

    one_by_one, whole = both(JsonReporter)
    assert whole == one_by_one
    assert [json.loads(line)["seq"] for line in whole.split("\n")[:-1]] == list(range(1, 13))  # not splitlines: \u2028
    one_by_one, whole = both(lambda out: PlainReporter(out, verbose=True, workspace="geo"))
    assert whole == one_by_one
    assert whole.splitlines()[-2:] == ["[etl.process[a.csv]] x", "[etl.process[a.csv]] y"]
    assert both(lambda out: PlainReporter(out, verbose=False, workspace="geo")) == ("", "")
    assert both(lambda out: QuietReporter(out, workspace="geo")) == ("", "")


# -- quiet and the factory ------------------------------------------------------------------------------------


def test_quiet_prints_only_the_failure_summary_and_the_final_line() -> None:
    err = io.StringIO()
    reporter = make_reporter(
        json=False, stream_err=err, stream_out=io.StringIO(), color=True, verbose=True, quiet=True, workspace="geo"
    )
    assert isinstance(reporter, QuietReporter)
    feed(reporter, failed_run(Feed()))
    assert err.getvalue().splitlines() == FAILURE_SUMMARY  # not a terminal: no colour even if asked


def test_quiet_on_a_terminal_is_coloured() -> None:
    err = io.StringIO()
    feed(QuietReporter(err, workspace="geo", color=True), success_run(Feed()))
    assert err.getvalue() == (
        "\x1b[32m✓\x1b[0m \x1b[1;32msucceeded in 2.5s\x1b[0m: 1 ran, 1 cached, 0 failed, 1 skipped\n"
    )


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "tty", "term", "kind"),
    [
        (io.StringIO(), None, "xterm", PlainReporter),
        (Tty(), None, "xterm-256color", LiveReporter),
        (Tty(), None, "dumb", PlainReporter),
        (Tty(), False, "xterm", PlainReporter),
        (io.StringIO(), True, "dumb", LiveReporter),
    ],
)
def test_make_reporter_picks_live_only_for_a_capable_terminal(
    stream: io.StringIO, tty: bool | None, term: str, kind: type[Reporter]
) -> None:
    reporter = make_reporter(
        json=False,
        stream_err=stream,
        stream_out=io.StringIO(),
        tty=tty,
        color=False,
        verbose=False,
        quiet=False,
        workspace="geo",
        environ={"TERM": term},
    )
    try:
        assert type(reporter) is kind
    finally:
        reporter.close()


# -- live view ---------------------------------------------------------------------------------------------


def terminal(*, height: int = 30, color_system: Literal["standard"] | None = None) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=True,
        width=100,
        height=height,
        color_system=color_system,
        _environ={"TERM": "xterm"},
    )
    return console, out


def live(console: Console, *, verbose: bool = False, at: float = 3.0) -> LiveReporter:
    return LiveReporter(
        console, verbose=verbose, workspace="geo", auto_refresh=False, now=lambda: T0 + timedelta(seconds=at)
    )


def screen_lines(text: str) -> list[str]:
    """What stays on screen: cursor-up/erase sequences remove the live area's previous drawing."""
    rows: list[str] = []
    for chunk in re.split(r"(\x1b\[\d*A|\x1b\[2K|\r|\n)", text):
        if chunk == "\n":
            rows.append("")
        elif chunk.startswith("\x1b[") and chunk.endswith("A"):
            rows.pop()
        elif chunk == "\x1b[2K" and rows:
            rows[-1] = ""
        elif chunk and chunk != "\r":
            rows[-1:] = [(rows[-1] if rows else "") + ANSI.sub("", chunk)]
    return rows


def test_live_shows_running_steps_and_prints_finished_ones_above() -> None:
    console, out = terminal()
    reporter = live(console)
    events = success_run(Feed())
    for event in events[:5]:  # started, one output line
        reporter.handle(event)
    reporter.refresh()
    assert screen_lines(out.getvalue()) == [
        "pipeline geodata · workspace geo · 3 steps",
        "⇣ build   pulling alpine:3.20",
        "⠋ build   3.0s  compiling",
        "0/3 done · 1 running · 3.0s",
    ]
    for event in events[5:-1]:
        reporter.handle(event)
    reporter.refresh()
    assert screen_lines(out.getvalue())[-4:] == [
        "= test    cached",
        "✓ build   1.2s 3.4 KB",
        "- notify  skipped (condition)",
        "3/3 done · 1 ok · 1 cached · 1 skipped · 3.0s",
    ]
    reporter.handle(events[-1])
    reporter.close()
    assert screen_lines(out.getvalue())[-5:] == [
        "= test    cached",
        "✓ build   1.2s 3.4 KB",
        "- notify  skipped (condition)",
        "✓ succeeded in 2.5s: 1 ran, 1 cached, 0 failed, 1 skipped",
        "",
    ]
    assert out.getvalue().endswith(
        "\x1b[?25h\r\x1b[1A\x1b[2K✓ succeeded in 2.5s: 1 ran, 1 cached, 0 failed, 1 skipped\n"
    )


def test_live_pull_progress_and_retry() -> None:
    console, out = terminal()
    reporter = live(console)
    ev = Feed()
    reporter.handle(ev(PipelineStart, pipeline="geodata", steps=(BUILD, REPORT)))
    reporter.handle(
        ev(ImagePull, step=BUILD, image="alpine:3.20", status="Downloading", current=1024, total=3 * 1024**2)
    )
    reporter.handle(ev(StepStart, 1.0, step=REPORT, image="alpine"))
    reporter.handle(ev(StepRetry, 2.0, step=REPORT, attempt=2, max=3, delay=1.0, reason="exited with code 1"))
    reporter.refresh()
    assert screen_lines(out.getvalue())[-4:] == [
        "↻ report  retry 2/3 in 1.0s: exited with code 1",
        "⇣ build   pulling alpine:3.20  Downloading 1.0 KB / 3.0 MB",
        "⠋ report  2.0s  retry 2/3",
        "0/2 done · 1 running · 3.0s",
    ]
    reporter.close()


def test_live_shows_the_job_of_a_running_step_and_plain_prints_it() -> None:
    console, out = terminal()
    reporter = live(console)
    ev = Feed()
    events = [
        ev(PipelineStart, pipeline="geodata", steps=(BUILD, REPORT)),
        ev(StepStart, 1.0, step=REPORT, image="alpine"),
        ev(StepJob, 1.1, step=REPORT, job="4101"),
        ev(StepLog, 2.0, step=REPORT, stream="stdout", line="working"),
    ]
    for event in events:
        reporter.handle(event)
    reporter.refresh()
    assert screen_lines(out.getvalue())[-2:] == ["⠋ report  2.0s  job 4101  working", "0/2 done · 1 running · 3.0s"]
    reporter.close()
    plain_out = io.StringIO()
    plain = PlainReporter(plain_out, workspace="geo")
    for event in events:
        plain.handle(event)
    assert plain_out.getvalue().splitlines()[1:] == ["▶ report  started", "· report  job 4101"]


def test_live_verbose_log_lines_scroll_above_sanitized() -> None:
    console, out = terminal()
    reporter = live(console, verbose=True)
    ev = Feed()
    reporter.handle(ev(StepStart, step=BUILD, image="alpine"))
    reporter.handle(ev(StepLog, step=BUILD, stream="stderr", line="\x1b[2Jwarn\x1b[0m: disk"))
    reporter.refresh()
    assert screen_lines(out.getvalue()) == ["[build] warn: disk", "⠋ build  3.0s  warn: disk", "0 done · 1 running"]
    reporter.close()


@pytest.mark.parametrize("verbose", [False, True])
def test_live_shows_a_chunk_handled_whole_as_its_lines_one_by_one(verbose: bool) -> None:
    screens = []
    for whole in (False, True):
        console, out = terminal()
        reporter = live(console, verbose=verbose)
        reporter.handle(Feed()(StepStart, step=BUILD, image="alpine"))
        batch = LogLines("r1", "geo", 2, T0, BUILD, 1, "stderr", ["first", "\x1b[2Jwarn\x1b[0m: disk"])
        if whole:
            reporter.handle_lines(batch)
        else:
            for event in batch.events():
                reporter.handle(event)
        reporter.refresh()
        screens.append(screen_lines(out.getvalue()))
        reporter.close()
    assert screens[1] == screens[0]
    assert screens[1][-2:] == ["⠋ build  3.0s  warn: disk", "0 done · 1 running"]
    assert ("[build] first" in screens[1]) is verbose


def test_live_failure_summary() -> None:
    console, out = terminal()
    reporter = live(console)
    feed(reporter, failed_run(Feed()))
    assert screen_lines(out.getvalue()) == [
        "pipeline geodata · workspace geo · 3 steps",
        "✓ build   1.0s",
        "↻ report  retry 2/3 in 5.0s: exited with code 1",
        "✗ report  exit 1 0.4s",
        "- notify  skipped (dependency)",
        *FAILURE_SUMMARY,
        "",
    ]


def test_live_fits_the_terminal_height() -> None:
    console, out = terminal(height=10)
    reporter = live(console)
    ev = Feed()
    steps = tuple(StepRef(f"s{i:02d}", "S") for i in range(30))
    reporter.handle(ev(PipelineStart, pipeline="p", steps=steps))
    for step in steps:
        reporter.handle(ev(StepStart, step=step, image="alpine"))
    reporter.refresh()
    assert screen_lines(out.getvalue()) == [
        "pipeline p · workspace geo · 30 steps",
        *(f"⠋ s{i:02d}  3.0s" for i in range(6)),
        "… 24 more running",
        "0/30 done · 30 running · 3.0s",
    ]
    reporter.close()


def test_live_colours_finished_lines() -> None:
    console, out = terminal(color_system="standard")
    reporter = live(console)
    ev = Feed()
    reporter.handle(
        ev(StepEnd, step=BUILD, status="failure", exit_code=3, reason="exit", step_run_id="b", duration=1.0)
    )
    reporter.refresh()
    assert "\x1b[31m✗\x1b[0m build  \x1b[31mexit 3 1.0s\x1b[0m\n" in out.getvalue()
    reporter.close()


def test_live_flushes_a_backlog_without_waiting_for_a_tick() -> None:
    console, out = terminal()
    reporter = live(console)
    ev = Feed()
    for i in range(MAX_PENDING):
        reporter.handle(ev(StepCached, step=StepRef(f"s{i}", "S"), cached_run_id="x"))
    assert screen_lines(out.getvalue())[-2:] == [
        f"= s{MAX_PENDING - 1}  cached",
        f"{MAX_PENDING:,} done · 2,000 cached",
    ]
    reporter.close()


def test_live_ticker_draws_without_explicit_refresh_and_close_restores_the_cursor() -> None:
    console, out = terminal()
    reporter = LiveReporter(console, workspace="geo", refresh_per_second=50.0)
    for event in success_run(Feed())[:-1]:
        reporter.handle(event)
    deadline = time.monotonic() + 10
    while "- notify" not in out.getvalue() and time.monotonic() < deadline:  # drawn by the ticker
        time.sleep(0.01)
    drawn = screen_lines(out.getvalue())
    assert drawn[-2] == "- notify  skipped (condition)"
    assert drawn[-1].startswith("3/3 done · 1 ok · 1 cached · 1 skipped · ")  # then the (real) elapsed time
    reporter.close()
    reporter.close()  # idempotent
    text = out.getvalue()
    assert text.startswith("\x1b[?25l")
    assert text.endswith("\x1b[?25h\r\x1b[1A\x1b[2K")
    assert screen_lines(text)[-3:] == ["✓ build   1.2s 3.4 KB", "- notify  skipped (condition)", ""]


def test_live_crops_long_lines_in_the_live_area() -> None:
    console, out = terminal()
    reporter = live(console)
    ev = Feed()
    reporter.handle(ev(StepStart, step=BUILD, image="alpine"))
    reporter.handle(ev(StepLog, step=BUILD, stream="stdout", line="x" * 300))
    reporter.refresh()
    row = screen_lines(out.getvalue())[0]
    assert row == "⠋ build  3.0s  " + "x" * 84 + "…"
    reporter.close()


def test_the_live_view_asks_for_each_chunks_last_line_unless_verbose() -> None:
    console, _ = terminal()
    assert live(console).wants_logs == "last"
    assert live(console, verbose=True).wants_logs is True


def test_an_interrupted_run_counts_cancelled_steps_apart_and_says_what_is_reused() -> None:
    ev = Feed()
    steps = (
        StepOutcome("a", "A", "success", duration=1.0, run_id="ra"),
        StepOutcome("b", "B", "cached"),
        StepOutcome("c", "C", "cancelled", reason="cancelled", duration=0.5, run_id="rc"),
        StepOutcome("d", "D", "cancelled"),
    )
    result = RunResult(
        run_id="r1",
        workspace="w",
        status="interrupted",
        steps=steps,
        duration=2.0,
        metrics=Metrics(ran=1, cached=1, cancelled=2),
    )
    assert plain_output([ev(PipelineEnd, result=result)])[-1] == (
        "✗ interrupted after 2.0s: 1 ran, 1 cached, 0 failed, 0 skipped, 2 cancelled; the next run reuses 2 "
        "steps from the cache"
    )


def test_live_groups_the_instances_of_a_fan_out_step_in_one_line() -> None:
    console, out = terminal()
    reporter = live(console)
    ev = Feed()
    refs = [StepRef(f"convert[{k}]", f"convert[{k}]") for k in ("eu", "us", "asia", "af")]
    reporter.handle(ev(PipelineStart, pipeline="fan", steps=(StepRef("convert", "convert"), BUILD)))
    for ref in refs:
        reporter.handle(ev(StepStart, step=ref, image="alpine:3.20"))
    for ref, code in zip(refs[:3], (0, 0, 1), strict=True):
        status = "success" if code == 0 else "failure"
        reporter.handle(
            ev(StepEnd, step=ref, status=status, exit_code=code, reason=None, step_run_id="r", duration=1.0)
        )
    reporter.refresh()
    shown = screen_lines(out.getvalue())
    assert shown[-2:] == ["⠋ convert  3/4 ✓ 1 running  1 failed", "3/5 done · 1 running · 2 ok · 1 failed · 3.0s"]
    reporter.close()
