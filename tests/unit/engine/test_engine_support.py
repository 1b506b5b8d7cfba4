"""Helpers shared by the engine behaviour tests (test_engine_*.py); no tests of its own.

Pipelines are written as YAML into temp dirs and run with ``pipex.testing`` against the ``FakeRuntime``.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pipex
from pipex.engine.events import Event, PipelineEnd, StepEvent
from pipex.runtime.base import ContainerSpec
from pipex.runtime.fake import FakeRuntime
from pipex.testing import TestResult

E = TypeVar("E", bound=Event)
IMAGE = "alpine:3.20"


def write(root: Path, yaml_text: str, name: str = "pipeline.yml") -> Path:
    """Write a pipeline file (dedented) into ``root``; return the file."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(textwrap.dedent(yaml_text).lstrip(), encoding="utf-8")
    return path


def _step_of(event: Event) -> str | None:
    return event.step.id if isinstance(event, StepEvent) else None


def of(events: list[Event] | TestResult, cls: type[E], step: str | None = None) -> list[E]:
    """The events of one class (and one step), in order."""
    found = events.events if isinstance(events, TestResult) else events
    return [e for e in found if isinstance(e, cls) and (step is None or _step_of(e) == step)]


def index(events: list[Event], cls: type[Event], step: str) -> int:
    """Position of the first event of ``cls`` for ``step``."""
    for i, e in enumerate(events):
        if isinstance(e, cls) and _step_of(e) == step:
            return i
    raise AssertionError(f"no {cls.__name__} for {step}")


def creates(rt: FakeRuntime, step: str | None = None) -> list[ContainerSpec]:
    """The container specs created (for one step), in order."""
    specs = [args[0] for name, args in rt.calls if name == "create"]
    return [s for s in specs if step is None or s.labels.get("pipex.step") == step]


def calls(rt: FakeRuntime, *names: str) -> list[tuple[str, tuple[Any, ...]]]:
    return [c for c in rt.calls if c[0] in names]


def meta(result: TestResult, step: str) -> dict[str, Any]:
    data = json.loads((result.run_dir(step) / "meta.json").read_text())
    assert isinstance(data, dict)
    return data


def state(workdir: Path, workspace: str) -> dict[str, Any]:
    data = json.loads((workdir / workspace / "state.json").read_text())
    assert isinstance(data, dict)
    return data


def collect(
    engine: pipex.Engine, pipeline: pipex.Pipeline, on_event: Callable[[Event], Any] | None = None, **kwargs: Any
) -> list[Event]:
    """Run to the end with ``asyncio.run``, calling ``on_event`` (may be async) for each event."""

    async def go() -> list[Event]:
        seen: list[Event] = []
        async for event in engine.run(pipeline, **kwargs):
            seen.append(event)
            if on_event is not None:
                maybe = on_event(event)
                if asyncio.iscoroutine(maybe):
                    await maybe
        return seen

    return asyncio.run(go())


def end(events: list[Event]) -> PipelineEnd:
    ends = [e for e in events if isinstance(e, PipelineEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    return ends[0]
