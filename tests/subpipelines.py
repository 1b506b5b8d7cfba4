"""Sub-pipeline projects for tests: a parent ``pipeline.yml`` and its child ``etl/pipeline.yml`` written to a
directory, and what a run of them made.

Shared by the unit tests on the fake runtime (tests/unit/engine/test_subpipeline*.py) and the real-engine tests
through the CLI (tests/engines/test_compose_real.py, test_subfanout_real.py). Each test module keeps its own
pipeline texts: what its tests assert depends on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from pipex.runtime.fake import FakeRuntime
from pipex.testing import TestResult
from tests.unit.engine.test_engine_support import creates

CHILD_FILE = "etl/pipeline.yml"  # the parents name it `./etl/pipeline.yml` or `./etl`


def write_parent(root: Path, text: str) -> None:
    (root / "pipeline.yml").write_text(text, encoding="utf-8")


def write_child(root: Path, text: str, file: str = CHILD_FILE) -> None:
    """``text`` as the child file at ``file`` (relative to ``root``), its directory made if needed."""
    path = root / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def sub_project(
    root: Path, parent: str, child: str, monkeypatch: pytest.MonkeyPatch, *, dirs: Iterable[str] = ()
) -> Path:
    """A project at ``root``: ``parent`` and its ``child`` (and empty ``dirs``); the current directory, as
    ``pipex.load()`` without a path and the CLI expect."""
    root.mkdir(parents=True, exist_ok=True)
    for name in dirs:
        (root / name).mkdir(parents=True, exist_ok=True)
    write_parent(root, parent)
    write_child(root, child)
    monkeypatch.chdir(root)
    return root


# ---- what a run on the fake runtime made ------------------------------------------------------------------


def input_mounts(rt: FakeRuntime, step: str) -> list[str]:
    """The ``/input/…`` targets of the step's last container."""
    return sorted(b.target for b in creates(rt, step)[-1].binds if b.target.startswith("/input/"))


def ran(result: TestResult) -> list[str]:
    """The steps that ran (not cached, not skipped), in the run's order."""
    return [o.id for o in result.result.steps if result.ran(o.id)]


# ---- what a run through the CLI printed (`--json` lines) --------------------------------------------------


def ended_scopes(events: list[dict[str, Any]]) -> dict[str, str | None]:
    """Each ended step's id and the sub-pipeline scope it ran in (``None``: the top level)."""
    return {e["step"]["id"]: e.get("scope") for e in events if e["event"] == "step_end"}


def started(events: list[dict[str, Any]]) -> list[str]:
    """The steps whose containers started, in order."""
    return [e["step"]["id"] for e in events if e["event"] == "step_start"]
