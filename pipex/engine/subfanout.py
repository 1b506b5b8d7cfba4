"""A sub-pipeline whose ``foreach`` reads an upstream output: inlined into the live run once the list is known.

``etl`` with ``pipeline: ./etl/pipeline.yml`` and ``foreach: steps.list.outputs.files`` cannot be inlined when the
file loads (model/compose.py, "deferred"). The scheduler reaches it once ``list`` has settled; then the pipeline is
loaded again with that list as a literal ``foreach`` (the static form's own path: ``validate.with_items``), and the
steps it gives (``etl[a.csv].extract`` …) join the run's ready queue, while the steps that read ``etl`` wait on and
are then decided with the inputs the static form gives them (every instance's final steps,
``/input/etl/<key>/<child-id>/``). So ids, keys, values, fingerprints, caching and events are the static form's;
steps already decided are never decided again. ``etl`` itself stands for its steps, as a fan-out step stands for
its instances: its outcome is theirs, and it is skipped (no list), fails (not a list) or would run (a dry run
before ``list`` ran) as a plain ``foreach`` from an output does.

Spec: dynamic.md, "Sub-pipelines" and "Fan-out".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipex.engine.events import StepOutcome, StepRef
from pipex.engine.routing import Unknown
from pipex.errors import PipelineError, PipexError
from pipex.model.fanout import MAX_INSTANCES, item_key
from pipex.model.spec import StepSpec

if TYPE_CHECKING:
    from pipex.engine.scheduler import Scheduler

_FAILED = ("failure", "timeout")


@dataclass(frozen=True, slots=True)
class Replanned:
    """The run's steps once a deferred sub-pipeline's list is known, and ``--force`` over them."""

    specs: list[StepSpec]
    force: bool | tuple[str, ...]


# (the sub-pipeline step's id, its list) → the run's steps with every list known so far inlined
Replan = Callable[[str, list[Any]], Replanned]


class SubFanOut:
    def __init__(self, scheduler: Scheduler, spec: StepSpec) -> None:
        self.s = scheduler
        self.spec = spec
        self.ref = StepRef(spec.id, spec.name)

    async def run(self) -> StepOutcome:
        s, spec, ref = self.s, self.spec, self.ref
        fan = spec.fan_out
        assert fan is not None
        early = s._inputs_and_condition(spec, ref)
        if isinstance(early, StepOutcome):
            return early  # the source failed or was skipped, or the condition is false: no list, no steps
        items = await self._paired() if fan.paired is not None else await self._listed()
        if isinstance(items, StepOutcome):
            return items
        if not items:
            return s._skip(ref, "condition")  # an empty list: nothing to run
        only = s.only.get(spec.id)
        if only is not None:  # --target 'etl[key]': only those instances
            chosen = [item for item in items if item_key(item) in only]
            if not chosen:
                known = ", ".join(item_key(i) for i in items[:10]) + (" …" if len(items) > 10 else "")
                message = f"--target: no instance {', '.join(sorted(only))} of {spec.id}; its instances: {known}"
                return await self._fail(message, "target")
            items = chosen
        if s.replan is None:
            return await self._fail("a sub-pipeline with a foreach from an output cannot run here")
        try:
            plan = s.replan(spec.id, items)
        except PipelineError as exc:  # the list cannot make instances: said as for a literal list, the file aside
            found = [f"{p.message} ({p.hint})" if p.hint else p.message for p in exc.problems]
            return await self._fail("; ".join(found) or exc.message)
        except PipexError as exc:  # a kit's step that cannot resolve with these values
            return await self._fail(exc.message)
        added = s.add_steps(spec.id, plan)
        await s.settled(spec.id, [a.id for a in added])
        done = [s.outcomes.get(a.id) or StepOutcome(a.id, a.name, "pending") for a in added]
        s.record.instances[spec.id] = done
        s.record.members.update(a.id for a in added)
        return self._combine(done, added)

    async def _listed(self) -> list[Any] | StepOutcome:
        """``foreach: steps.X.outputs.K``: that output, a list."""
        s, spec, ref = self.s, self.spec, self.ref
        assert spec.fan_out is not None and spec.fan_out.source is not None
        step, key = spec.fan_out.source
        if step in s.pending_digest:
            return s._would_run_unknown(
                spec, ref, Unknown(f"depends on steps.{step}.outputs.{key} (not known before {step} runs)")
            )
        got = s.provided.get(step)
        if got is None or key not in got.outputs:
            return await self._fail(f"steps.{step}.outputs.{key} was not written (foreach needs a list)")
        items = got.outputs[key]
        if not isinstance(items, list):
            return await self._fail(f"foreach needs a list, steps.{step}.outputs.{key} is {type(items).__name__}")
        if len(items) > MAX_INSTANCES:
            return await self._fail(f"foreach gives {len(items)} instances, more than the limit of {MAX_INSTANCES}")
        return items

    async def _paired(self) -> list[Any] | StepOutcome:
        """``foreach: {step: X}``: the keys of ``X``'s instances (as a paired fan-out step's items)."""
        s, spec, ref = self.s, self.spec, self.ref
        assert spec.fan_out is not None and spec.fan_out.paired is not None
        paired = spec.fan_out.paired
        if paired in s.pending_digest:
            return s._would_run_unknown(spec, ref, Unknown(f"depends on the instances of {paired}"))
        got = s.provided.get(paired)
        return [key for key, _, _ in got.instances] if got is not None else []

    async def _fail(self, message: str, reason: str = "foreach") -> StepOutcome:
        return await self.s._fail_early(self.spec, self.ref, reason, message, 1, time.time())

    def _combine(self, done: Sequence[StepOutcome], added: Sequence[StepSpec]) -> StepOutcome:
        """The sub-pipeline step's outcome from its steps' (as a fan-out step's from its instances')."""
        spec = self.spec
        allowed = {a.id for a in added if a.allow_failure}
        states = [o.state for o in done]
        failed = [o for o in done if o.state in _FAILED and o.id not in allowed]
        if failed:
            first = failed[0]
            message = f"{len(failed)} of {len(done)} steps failed; {first.id}: {first.message or first.state}"
            return StepOutcome(spec.id, spec.name, "failure", reason="instances", message=message)
        if "waiting" in states:  # a gate inside waits: the run is held (the gate's own outcome says so)
            return StepOutcome(spec.id, spec.name, "pending", reason="approval")
        if "cancelled" in states or "pending" in states:
            return StepOutcome(spec.id, spec.name, "cancelled")
        if "would_run" in states:
            return StepOutcome(spec.id, spec.name, "would_run")
        if all(st == "cached" for st in states):
            return StepOutcome(spec.id, spec.name, "cached")
        if all(st == "skipped" for st in states):
            return StepOutcome(spec.id, spec.name, "skipped", reason="condition")
        return StepOutcome(spec.id, spec.name, "success")
