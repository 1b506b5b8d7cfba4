"""Loading the run's pipeline again once a deferred sub-pipeline's list is known (see subfanout.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipex.engine.subfanout import Replanned
from pipex.kits.resolve import resolve_steps
from pipex.model.validate import with_items

if TYPE_CHECKING:
    from pipex.model.pipeline import Pipeline


class Replanner:
    """Every list known so far (a pipeline may hold several such sub-pipelines), and the run's steps with them
    inlined: resolved as at the start (kits, ``--env-file``), ``--force`` of a sub-pipeline extended to its new
    steps."""

    def __init__(self, pipeline: Pipeline, cli_env: Mapping[str, str], force: bool | tuple[str, ...]) -> None:
        self.pipeline = pipeline
        self.cli_env = cli_env
        self.force = force
        self.items: dict[str, list[Any]] = {}

    def __call__(self, step_id: str, items: list[Any]) -> Replanned:
        known = {**self.items, step_id: items}
        composed = with_items(self.pipeline, known)
        specs = resolve_steps(composed, cli_env=self.cli_env)
        self.items = known
        force = self.force if isinstance(self.force, bool) else composed.expand_ids(self.force)
        return Replanned(specs, force)
