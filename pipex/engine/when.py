"""``when``: whether a step runs after its inputs settled, and which of them it sees.

``success`` (the default) is the rule of execution: every required input must have succeeded (or come from the
cache). ``failure`` runs only when something upstream failed: an input failed, or was skipped because something
above it failed — a notification after the last step of a chain that broke midway. ``always`` runs whatever its
inputs ended with. For both, inputs that failed or were skipped are simply not mounted.

The scheduler asks ``Upstream.verdict`` once per step, when its inputs have settled; this module keeps which steps
failed or lie below a failure, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pipex.engine.events import StepOutcome
from pipex.model.spec import StepSpec

# run it, skip it for that reason, or hold it (below an approval gate that waits: decided by a later run)
Verdict = Literal["run", "dependency", "condition", "held"]
_FAILED = ("failure", "timeout")


class Upstream:
    def __init__(self, specs: Sequence[StepSpec], outcomes: Mapping[str, StepOutcome]) -> None:
        self.inputs = {s.id: tuple(i.step for i in s.inputs) for s in specs}
        self.outcomes = outcomes
        self._broken: dict[str, bool] = {}

    def broken(self, step_id: str) -> bool:
        """The step failed, or was skipped (for want of an input) below a failure."""
        known = self._broken.get(step_id)
        if known is None:
            outcome = self.outcomes.get(step_id)
            if outcome is None:
                known = False
            elif outcome.state in _FAILED:
                known = True
            else:
                # A step settles after its inputs, so this recursion only descends into settled steps (each once).
                known = outcome.state == "skipped" and any(self.broken(i) for i in self.inputs.get(step_id, ()))
            self._broken[step_id] = known
        return known

    def verdict(self, spec: StepSpec, missing: Sequence[str]) -> Verdict:
        """``missing``: the required inputs that left no artifacts (failed, skipped, cancelled, waiting)."""
        if any(self._held(i.step) for i in spec.inputs):
            return "held"
        if spec.when == "always":
            return "run"
        if spec.when == "failure":
            return "run" if any(self.broken(i.step) for i in spec.inputs) else "condition"
        return "dependency" if missing else "run"

    def _held(self, step_id: str) -> bool:
        outcome = self.outcomes.get(step_id)
        return outcome is not None and outcome.reason == "approval" and outcome.state in ("waiting", "pending")
