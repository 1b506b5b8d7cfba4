"""``pipex graph --workspace WS``: each step's state for the graph overlay.

A dry run of the pipeline against the workspace decides, exactly as ``run`` would, whether a step is a cache
hit (``cached``) or would run (``changed``; ``failed`` when its last run failed). Steps a dry run skips are
``skipped``, steps a live run is working on are ``running``. When the dry run cannot happen (an engine error), or
cannot resolve a step's image (no engine reachable), the states come from ``state.json``: ``succeeded`` or ``failed``.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from pipex.engine.events import StepCached, StepSkipped, StepWouldRun
from pipex.engine.fingerprints import UNRESOLVED_IMAGE
from pipex.errors import PipexError
from pipex.workspace.layout import Workspace
from pipex.workspace.live import live
from pipex.workspace.state import load_state

if TYPE_CHECKING:
    from pipex.engine.engine import Engine
    from pipex.model.pipeline import Pipeline

FAILED = ("failure", "timeout", "cancelled")


def overlay_states(engine: Engine, pipeline: Pipeline, workspace: Workspace) -> dict[str, str]:
    workspace.require()
    state = load_state(workspace.state_path)
    last = {sid: st.last.status for sid, st in state.steps.items() if st.last is not None}
    try:
        states = asyncio.run(_dry_run(engine, pipeline, workspace.name, last))
    except PipexError:
        states = {sid: "failed" if status in FAILED else "succeeded" for sid, status in last.items()}
    current = live(workspace)
    for step in current.steps if current else ():
        states[step] = "running"
    return _fold_instances(states)


# The state a fan-out step's node shows: the worst of its instances'.
_KEYS = re.compile(r"\[[^\[\]]*\]")  # an instance key (keys never hold brackets)
_RANK = {"skipped": 0, "cached": 1, "succeeded": 2, "changed": 3, "running": 4, "failed": 5}


def _fold_instances(states: dict[str, str]) -> dict[str, str]:
    """Instances (``convert[eu]``, ``etl[eu].extract``) folded into their step's node (``convert``,
    ``etl.extract``): the graph draws one node per step, and a fanned sub-pipeline once."""
    folded = {sid: st for sid, st in states.items() if "[" not in sid}
    instances: dict[str, list[str]] = {}
    for sid, st in states.items():
        if "[" in sid:
            instances.setdefault(_KEYS.sub("", sid), []).append(st)
    for group, found in instances.items():
        folded[group] = max(found, key=lambda st: _RANK.get(st, 0))
    return folded


async def _dry_run(engine: Engine, pipeline: Pipeline, name: str, last: dict[str, str]) -> dict[str, str]:
    states: dict[str, str] = {}
    async for event in engine.run(pipeline, workspace=name, dry_run=True):
        if isinstance(event, StepCached):
            states[event.step.id] = "cached"
        elif isinstance(event, StepWouldRun):
            status = last.get(event.step.id)
            if any(UNRESOLVED_IMAGE in r for r in event.reasons) and status is not None:
                # No engine to resolve the image: whether it changed is unknown; say what the last run did.
                states[event.step.id] = "failed" if status in FAILED else "succeeded"
            else:
                states[event.step.id] = "failed" if status in FAILED else "changed"
        elif isinstance(event, StepSkipped):
            states[event.step.id] = "skipped"
    return states
