"""A run's result from its steps' outcomes: status, failures, metrics and the ``RunResult`` (for the scheduler)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pipex.engine.events import FailureKind, FailureSource, Metrics, RunError, RunResult, RunStatus, StepOutcome
from pipex.model.spec import StepSpec

# StepOutcome.reason → RunResult.failure_kind ("exit": the step's command failed)
_KIND: dict[str, FailureKind] = {
    "image": "image",
    "setup": "setup",
    "timeout": "timeout",
    "engine": "engine",
    "exit": "step",
}
# StepOutcome.reason → whose problem it is (a reason not listed: the step's own command, ``user``)
_SOURCE: dict[str, FailureSource] = {
    "image": "dependency",
    "network": "dependency",
    "rejected": "dependency",
    "setup": "engine",
    "engine": "engine",
    "limits": "engine",
}
_FAILED = ("failure", "timeout")
# A step "ran" when its container ran to an end; a cancelled one did not, nor one that never got a container
# (its image could not be pulled, its limits could not be enforced, its kit refused its values).
_RAN = ("success", "failure", "timeout")
_NO_CONTAINER = ("image", "limits", "kit")


class Outcomes:
    """The outcome of each step decided so far (``by_step``), read in file order."""

    def __init__(self, specs: Sequence[StepSpec]) -> None:
        self.specs = specs
        self._allow_failure = {s.id for s in specs if s.allow_failure}
        self.by_step: dict[str, StepOutcome] = {}
        self.instances: dict[str, list[StepOutcome]] = {}  # a fan-out step's id → its instances' outcomes
        # steps listed under a sub-pipeline step known at run time (in ``instances``), decided as steps of their own
        # (so in ``by_step`` too): counted once, under it
        self.members: set[str] = set()

    def steps(self) -> list[StepOutcome]:
        """Every step's outcome in file order (``pending`` for a step never decided)."""
        return [self.by_step.get(s.id) or StepOutcome(s.id, s.name, "pending") for s in self.specs]

    def ordered(self) -> list[StepOutcome]:
        """``steps()``, each fan-out step followed by its instances (``convert[eu]``, in instance order)."""
        if not self.instances:
            return self.steps()
        found: list[StepOutcome] = []
        for outcome in self.steps():
            found.append(outcome)
            found.extend(self.instances.get(outcome.id, ()))
        return found

    def _counted(self) -> list[StepOutcome]:
        """What the counts count: a fan-out step's instances, not the step itself."""
        if not self.instances:
            return list(self.by_step.values())
        found: list[StepOutcome] = []
        for outcome in self.by_step.values():
            if outcome.id not in self.members:
                found.extend(self.instances.get(outcome.id) or (outcome,))
        return found

    def _counts_as_failed(self, outcome: StepOutcome) -> bool:
        return outcome.state in _FAILED and outcome.id not in self._allow_failure

    def status(self, stopped: RunStatus | None) -> RunStatus:
        if stopped is not None:
            return stopped
        if any(self._counts_as_failed(o) for o in self.by_step.values()):
            return "failed"
        # Gates waiting and nothing failed: the run is held, not finished (a failure outranks it).
        return "suspended" if any(o.state == "waiting" for o in self.by_step.values()) else "success"

    def failed_steps(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.steps() if self._counts_as_failed(o))

    def failure(self) -> tuple[FailureKind | None, str | None, tuple[RunError, ...]]:
        """The run's failure kind (its first failed step's), first message and every error (in file order)."""
        errors = []
        kind: FailureKind | None = None
        for o in self.steps():
            if self._counts_as_failed(o):
                errors.append(step_error(o))
                if kind is None:
                    kind = _KIND.get(o.reason or "exit", "step")
        return kind, (errors[0].message if errors else None), tuple(errors)

    def first_failed(self) -> StepOutcome | None:
        """The step that failed first in time (``by_step`` is filled in the order steps settle)."""
        return next((o for o in self.by_step.values() if self._counts_as_failed(o)), None)

    def waiting(self) -> tuple[str, ...]:
        """The approval gates left waiting, in file order."""
        return tuple(o.id for o in self.ordered() if o.state == "waiting")

    def metrics(self, *, peak: int, pull_seconds: float) -> Metrics:
        outs = self._counted()
        ran = [o for o in outs if o.state in _RAN and o.reason not in _NO_CONTAINER]
        return Metrics(
            ran=len(ran),
            cached=sum(o.state == "cached" for o in outs),
            skipped=sum(o.state == "skipped" for o in outs),
            failed=sum(o.state in _FAILED for o in outs),
            would_run=sum(o.state == "would_run" for o in outs),
            cancelled=sum(o.state == "cancelled" for o in outs),
            peak_parallelism=peak,
            artifacts_bytes=sum(o.artifacts_size for o in ran),
            pull_seconds=pull_seconds,
            step_durations={o.id: o.duration for o in ran},
        )

    def result(
        self, *, run_id: str, workspace: str, duration: float, status: RunStatus, metrics: Metrics, dry_run: bool
    ) -> RunResult:
        kind, error, errors = self.failure()
        first = self.first_failed()
        outcomes = tuple(self.ordered())
        if status in ("cancelled", "interrupted", "timeout"):
            outcomes = tuple(replace(o, state="cancelled") if o.state == "pending" else o for o in outcomes)
        return RunResult(
            run_id=run_id,
            workspace=workspace,
            status=status,
            steps=outcomes,
            duration=duration,
            metrics=metrics,
            failed_steps=self.failed_steps(),
            failure_kind=kind if status == "failed" else ("timeout" if status == "timeout" else kind),
            error=error,
            errors=errors,
            dry_run=dry_run,
            failed_step=first.id if first is not None else None,
            failure_source=source_of(first.reason) if first is not None else None,
            waiting=self.waiting(),
        )


def source_of(reason: str | None) -> FailureSource:
    return _SOURCE.get(reason or "exit", "user")


def step_error(outcome: StepOutcome) -> RunError:
    """A failed step's error record."""
    return RunError(
        outcome.id,
        outcome.reason or "exit",
        source_of(outcome.reason),
        f"step {outcome.id}: {outcome.message or outcome.state}",
    )
