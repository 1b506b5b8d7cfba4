"""Events survive JSON: ``Event.from_json(e.to_json())`` (and the event log's ``encode``) give the event back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipex.engine.codec import decode, encode
from pipex.engine.events import (
    Event,
    ImagePull,
    Metrics,
    PipelineEnd,
    PipelineStart,
    RunResult,
    RunWarning,
    StepCached,
    StepEnd,
    StepLog,
    StepOutcome,
    StepRef,
    StepRetry,
    StepSkipped,
    StepStart,
    StepWouldRun,
)

TS = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
COMMON = {"run_id": "20260102T030405Z-1a2b3c4d", "ts": TS, "workspace": "ws"}
A = StepRef("a", "Step A")
RESULT = RunResult(
    run_id="20260102T030405Z-1a2b3c4d",
    workspace="ws",
    status="failed",
    steps=(
        StepOutcome(
            "a", "Step A", "failure", "exit", 3, "20260102T030406Z-aaaaaaaa", 1.5, 10, "exited with code 3", ("boom",)
        ),
        StepOutcome("b", "b", "skipped", "dependency"),
    ),
    duration=2.25,
    metrics=Metrics(ran=1, skipped=1, failed=1, peak_parallelism=1, step_durations={"a": 1.5}),
    failed_steps=("a",),
    failure_kind="step",
    error="step a: exited with code 3",
    errors=("step a: exited with code 3",),
)

EVENTS: list[Event] = [
    PipelineStart(seq=1, pipeline="p", steps=(A, StepRef("b", "b")), dry_run=False, **COMMON),
    ImagePull(seq=2, step=A, image="alpine:3.20", status="pulling", current=5, total=10, **COMMON),
    StepStart(seq=3, step=A, image="alpine:3.20", reasons=("cmd changed",), **COMMON),
    StepLog(seq=4, step=A, stream="stderr", line="boom \udcff é", **COMMON),
    StepRetry(seq=5, step=A, attempt=2, max=3, delay=0.25, reason="exited with code 3", **COMMON),
    StepEnd(
        seq=6,
        step=A,
        attempt=2,
        status="failure",
        exit_code=3,
        reason="exit",
        step_run_id="20260102T030406Z-aaaaaaaa",
        duration=1.5,
        artifacts_size=10,
        message="exited with code 3",
        **COMMON,
    ),
    StepSkipped(seq=7, step=StepRef("b", "b"), reason="dependency", **COMMON),
    StepCached(seq=8, step=A, cached_run_id="20260102T030406Z-aaaaaaaa", **COMMON),
    StepWouldRun(seq=9, step=A, reasons=("forced", "env: FOO changed"), **COMMON),
    RunWarning(seq=9, step=A, message="resource limits not enforced", **COMMON),
    RunWarning(seq=9, message="DOCKER_HOST=unix:///x does not answer", **COMMON),
    PipelineEnd(seq=10, result=RESULT, **COMMON),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_encode_decode_is_identity(event: Event) -> None:
    assert decode(encode(event)) == event


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_from_json_inverts_to_json(event: Event) -> None:
    again = Event.from_json(event.to_json())
    assert again.to_json() == event.to_json()
    if not isinstance(event, PipelineEnd):
        assert again == event


def test_pipeline_end_from_the_summary_keeps_what_the_summary_says() -> None:
    end = Event.from_json(EVENTS[-1].to_json())
    assert isinstance(end, PipelineEnd)
    assert (end.result.status, end.result.failed_steps, end.result.exit_code) == ("failed", ("a",), 1)
    assert end.result.metrics.ran == 1 and end.result.duration == 2.25


def test_decode_rejects_what_is_not_an_event() -> None:
    with pytest.raises(ValueError, match="not a pipex event"):
        decode({"event": "step_end", "seq": 1})
