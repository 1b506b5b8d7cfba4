"""A step's output deeper than the safe walk goes (``safetree.MAX_DEPTH``) is refused by its digest: what lies below
would not enter it, so two outputs differing only there would look alike (a dependent cached on other bytes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import run
from pipex.workspace.safetree import MAX_DEPTH
from tests.unit.engine.test_engine_support import write

PIPELINE = """
id: early
steps:
  - id: produce
    image: alpine:3.20
    cmd: [make]
  - id: consume
    image: alpine:3.20
    inputs: [{step: produce}]
    cmd: [read]
"""


def _deep(levels: int) -> Callable[[Path], None]:
    def plant(output: Path) -> None:
        here = output
        for _ in range(levels):
            here = here / "d"
            here.mkdir()
        (here / "hidden.txt").write_text("below the walk")

    return plant


def test_an_output_nested_deeper_than_the_walk_fails_its_step_not_the_run(tmp_path: Path) -> None:
    # Below safetree.MAX_DEPTH the walk stops: that content would not enter the digest, so two outputs differing only
    # there would look alike (a dependent cached on other bytes). The step fails with the reason; the run goes on.
    path = write(tmp_path / "p", PIPELINE)
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_deep(MAX_DEPTH + 2)))
    r = run(path, workdir=tmp_path / "wd", runtime=rt)
    assert r.status == "failed"
    failed = r.outcome("produce")
    assert (failed.state, failed.reason) == ("failure", "outputs")
    assert failed.message is not None
    assert failed.message.endswith(f"it holds directories nested deeper than {MAX_DEPTH} levels")
    assert r.skipped("consume", "dependency")
    recorded = json.loads((tmp_path / "wd" / "early" / "runs" / failed.run_id / "meta.json").read_text())
    assert (recorded["status"], recorded["reason"], recorded["artifactsDigest"]) == ("failure", "outputs", None)


def test_an_output_as_deep_as_the_walk_goes_is_hashed(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    rt = FakeRuntime()
    rt.script(step="produce", behaviour=Behaviour(plant=_deep(MAX_DEPTH)))
    assert run(path, workdir=tmp_path / "wd", runtime=rt).status == "success"
