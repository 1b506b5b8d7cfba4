"""Events survive JSON: ``codec.decode(e.to_json())`` (and the event log's ``encode``) give the event back.

The schema is written once (``Event.json_fields``): every event type, found from ``EVENT_TYPES`` with sample values
made from its annotations, goes to JSON and back, and the README's ``--json`` table says the same keys.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from pipex.engine import events
from pipex.engine.codec import decode, encode
from pipex.engine.events import (
    EVENT_TYPES,
    REQUIRED,
    Event,
    ImagePull,
    Metrics,
    PipelineEnd,
    PipelineStart,
    RunError,
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
    StepWarning,
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
    errors=(RunError("a", "exit", "user", "step a: exited with code 3"),),
    failed_step="a",
    failure_source="user",
    waiting=("gate",),
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
        setup_seconds=0.25,
        **COMMON,
    ),
    StepSkipped(seq=7, step=StepRef("b", "b"), reason="dependency", **COMMON),
    StepCached(seq=8, step=A, cached_run_id="20260102T030406Z-aaaaaaaa", **COMMON),
    StepWouldRun(seq=9, step=A, reasons=("forced", "env: FOO changed"), **COMMON),
    StepWarning(seq=9, step=A, message='skipped artifact "a/p": a FIFO', **COMMON),
    RunWarning(seq=9, step=A, message="resource limits not enforced", **COMMON),
    RunWarning(seq=9, message="DOCKER_HOST=unix:///x does not answer", **COMMON),
    PipelineEnd(seq=10, result=RESULT, **COMMON),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_encode_decode_is_identity(event: Event) -> None:
    assert decode(encode(event)) == event


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_from_json_inverts_to_json(event: Event) -> None:
    again = decode(event.to_json())
    assert again.to_json() == event.to_json()
    if not isinstance(event, PipelineEnd):
        assert again == event


def test_pipeline_end_from_the_summary_keeps_what_the_summary_says() -> None:
    end = decode(EVENTS[-1].to_json())
    assert isinstance(end, PipelineEnd)
    assert (end.result.status, end.result.failed_steps, end.result.exit_code) == ("failed", ("a",), 1)
    assert end.result.metrics.ran == 1 and end.result.duration == 2.25


def test_decode_rejects_what_is_not_an_event() -> None:
    with pytest.raises(ValueError, match="not a pipex event"):
        decode({"event": "step_end", "seq": 1})


README = Path(__file__).resolve().parents[3] / "README.md"
COMMON_KEYS = {"event", "ts", "seq", "runId", "workspace", "step", "attempt"}


def _sample(tp: Any, name: str) -> Any:
    """A value of type ``tp`` that JSON keeps exactly (durations in whole milliseconds)."""
    origin = get_origin(tp)
    if origin is Literal:
        return get_args(tp)[-1]
    if origin in (Union, types.UnionType):
        return _sample(next(arg for arg in get_args(tp) if arg is not type(None)), name)
    if origin is tuple:
        return (_sample(get_args(tp)[0], name + "1"), _sample(get_args(tp)[0], name + "2"))
    samples: dict[Any, Any] = {
        str: f"{name}-value",
        int: 7,
        float: 1.25,
        bool: True,
        datetime: TS,
        StepRef: StepRef(name, name.title()),
        RunResult: RESULT,
        Mapping[str, Any]: {name: [1, "two", {"three": True}]},
    }
    return samples[tp]


def sample(cls: type[Event]) -> Event:
    hints = get_type_hints(cls)
    return cls(**{f.name: _sample(hints[f.name], f.name) for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.kind)
def test_every_event_type_round_trips(cls: type[Event]) -> None:
    event = sample(cls)
    assert decode(encode(event)) == event
    line = event.to_json()
    assert line["event"] == cls.kind
    assert decode(line).to_json() == line
    if cls is not PipelineEnd:  # its line is a summary: the record itself travels in encode's "result"
        assert decode(line) == event


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.kind)
def test_missing_keys_take_their_defaults_or_refuse(cls: type[Event]) -> None:
    line = sample(cls).to_json()
    for f in cls.json_fields:
        if f.load is None:
            continue
        without = {k: v for k, v in line.items() if k != f.key}
        if f.default is REQUIRED:
            with pytest.raises(ValueError, match=f"^not a pipex event: '{f.key}'$"):
                decode(without)
        else:
            assert getattr(decode(without), f.attr) == f.default


def test_event_types_are_every_kind_of_event() -> None:
    kinds = {
        cls
        for _, cls in inspect.getmembers(events, inspect.isclass)
        if issubclass(cls, Event) and "kind" in vars(cls) and cls is not Event
    }
    assert set(EVENT_TYPES) == kinds
    assert len({cls.kind for cls in EVENT_TYPES}) == len(EVENT_TYPES)


def _readme_table() -> dict[str, set[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## `--json` schema", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        found = re.match(r"^\| `(\w+)` \| (.*) \|$", line)
        if found and found.group(2) != "extra fields":  # not the header row
            cell = re.sub(r"\([^)]*\)", "", found.group(2))  # drop the value lists: `status` (`a`\|`b`)
            rows[found.group(1)] = {token.split(":")[0] for token in re.findall(r"`([^`]+)`", cell)}
    return rows


def test_the_readme_json_table_lists_every_key_of_every_event() -> None:
    documented = _readme_table()
    assert set(documented) == {cls.kind for cls in EVENT_TYPES}
    for cls in EVENT_TYPES:
        assert documented[cls.kind] == set(sample(cls).to_json()) - COMMON_KEYS, cls.kind


@pytest.mark.parametrize(
    ("step_id", "derived"),
    [
        ("convert", {}),
        ("etl.extract", {"scope": "etl"}),
        ("convert[eu-csv]", {"group": "convert", "instance": "eu-csv"}),
        ("process[a.csv]", {"group": "process", "instance": "a.csv"}),  # a dot in a key is no scope
        ("etl.process[a.csv]", {"scope": "etl", "group": "etl.process", "instance": "a.csv"}),
    ],
)
def test_step_events_carry_scope_group_and_instance_derived_from_the_id(step_id: str, derived: dict[str, str]) -> None:
    event = StepStart(seq=1, step=StepRef(step_id, step_id), image="alpine:3.20", **COMMON)
    line = event.to_json()
    assert {k: line[k] for k in ("scope", "group", "instance") if k in line} == derived
    assert decode(line) == event  # written only: read back from the step id


def test_the_readme_json_intro_names_the_derived_keys() -> None:
    section = README.read_text(encoding="utf-8").split("## `--json` schema", 1)[1].split("\n| `event`", 1)[0]
    for key in ("scope", "group", "instance"):
        assert f"`{key}`" in section, key
