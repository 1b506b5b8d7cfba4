"""Deciding and running a fan-out step: expand it into instances, decide each like a step, combine the outcomes.

The step's own inputs and condition are decided once (a skipped step has no instances); then every instance goes
through the scheduler's usual per-step path (inputs, fingerprint, cache, dry run, execution), so each has its own
fingerprint, run, cache entry and events. Instances that are cached or only reported (dry run) are decided at once;
only those that run a container become tasks, bounded by ``maxParallel`` (under the global ``--concurrency``).
``failFast: true`` starts no new instance after one failed; by default every instance finishes. The step fails if
any instance failed (unless ``allowFailure``); a dependent then mounts every instance (fan-in).

Spec: dynamic.md, "Fan-out: `matrix` and `foreach`".
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from pipex.engine.events import StepOutcome, StepRef
from pipex.engine.instances import ExpandError, expand, fan_in_digest
from pipex.engine.plan import Provided
from pipex.engine.routing import Unknown
from pipex.model.spec import StepSpec

if TYPE_CHECKING:
    from pipex.engine.scheduler import Scheduler

_FAILED = ("failure", "timeout")


class FanOut:
    def __init__(self, scheduler: Scheduler, spec: StepSpec) -> None:
        self.s = scheduler
        self.spec = spec
        self.ref = StepRef(spec.id, spec.name)
        self.failed = False

    async def run(self) -> StepOutcome:
        s, spec, ref = self.s, self.spec, self.ref
        fan = spec.fan_out
        assert fan is not None
        early = s._inputs_and_condition(spec, ref)
        if isinstance(early, StepOutcome):
            return early
        items: Any = None
        if fan.paired is not None:
            if fan.paired in s.pending_digest:
                return s._would_run_unknown(spec, ref, Unknown(f"depends on the instances of {fan.paired}"))
            got = s.provided.get(fan.paired)
            items = [key for key, _, _ in got.instances] if got is not None else []
        if fan.source is not None:
            step, key = fan.source
            if step in s.pending_digest:
                return s._would_run_unknown(
                    spec, ref, Unknown(f"depends on steps.{step}.outputs.{key} (not known before {step} runs)")
                )
            got = s.provided.get(step)
            if got is None or key not in got.outputs:
                message = f"steps.{step}.outputs.{key} was not written (foreach needs a list)"
                return await s._fail_early(spec, ref, "foreach", message, 1, time.time())
            items = got.outputs[key]
        refused: dict[str, str] = {}  # instances whose values the kit refused: each fails on its own
        instances = expand(spec, items, refused)
        if isinstance(instances, ExpandError):
            return await s._fail_early(spec, ref, "foreach", instances.message, 1, time.time())
        if not instances:
            return s._skip(ref, "condition")  # an empty list: nothing to run
        only = s.only.get(spec.id)
        if only is not None:  # --target 'step[key]'
            chosen = [i for i in instances if i.instance in only]
            if not chosen:
                known = ", ".join(str(i.instance) for i in instances[:10]) + (" …" if len(instances) > 10 else "")
                message = f"--target: no instance {', '.join(sorted(only))} of {spec.id}; its instances: {known}"
                return await s._fail_early(spec, ref, "target", message, 1, time.time())
            instances = chosen
        images = {inst.image for inst in instances if inst.id not in refused}
        if len(images) == 1 and (one := next(iter(images))) not in s._images:  # once for all the instances
            # (instances of different images resolve their own; a kit step resolved per instance has none itself)
            image = await s._image(dataclasses.replace(spec, image=one), ref)
            if isinstance(image, StepOutcome):
                return image
        rank = s.order[spec.id]
        # failFast decides when an instance may start: with no more of them waiting than could run at once, a
        # failure is seen before the next one starts
        bound = fan.max_parallel or (s.options.slots if fan.fail_fast else None)
        limit = asyncio.Semaphore(min(bound, s.options.slots)) if bound else None
        outcomes: list[StepOutcome | None] = [None] * len(instances)
        waiting: list[asyncio.Task[None]] = []
        for n, inst in enumerate(instances):
            s.order[inst.id] = rank
            decided: StepOutcome | Coroutine[Any, Any, StepOutcome]
            if inst.id in refused:
                inst_ref = StepRef(inst.id, inst.name)
                decided = s._fail_early(inst, inst_ref, "kit", refused[inst.id], 1, time.time())
            else:
                decided = s._decide_now(inst)
            if isinstance(decided, StepOutcome):
                outcomes[n] = self._note(decided)
            else:
                waiting.append(asyncio.ensure_future(self._later(inst, decided, limit, outcomes, n)))
        if waiting:
            await asyncio.gather(*waiting)
        done = [o for o in outcomes if o is not None]
        s.record.instances[spec.id] = done
        return self._combine(done, instances)

    def _note(self, outcome: StepOutcome) -> StepOutcome:
        if outcome.state in _FAILED:
            self.failed = True
        return outcome

    async def _later(
        self,
        inst: StepSpec,
        decision: Coroutine[Any, Any, StepOutcome],
        limit: asyncio.Semaphore | None,
        outcomes: list[StepOutcome | None],
        n: int,
    ) -> None:
        fan = self.spec.fan_out
        assert fan is not None
        if limit is not None:
            await limit.acquire()
        try:
            if fan.fail_fast and self.failed:
                decision.close()  # never started: failFast stops starting new instances after a failure
                outcomes[n] = StepOutcome(inst.id, inst.name, "cancelled", reason="failFast")
                return
            outcomes[n] = self._note(await decision)
        finally:
            if limit is not None:
                limit.release()

    def _combine(self, done: list[StepOutcome], instances: list[StepSpec]) -> StepOutcome:
        """The step's outcome from its instances', and what a dependent mounts."""
        s, spec = self.s, self.spec
        states = [o.state for o in done]
        failed = [o for o in done if o.state in _FAILED]
        size = sum(o.artifacts_size for o in done)
        duration = max((o.duration for o in done), default=0.0)
        if failed:
            first = failed[0]
            message = f"{len(failed)} of {len(done)} instances failed; {first.id}: {first.message or first.state}"
            state = "failure"
        elif "cancelled" in states or "pending" in states:
            state, message = "cancelled", None
        elif "would_run" in states:
            state, message = "would_run", None
        elif all(st == "cached" for st in states):
            state, message = "cached", None
        else:
            state, message = "success", None
        if state == "would_run":
            s.pending_digest.add(spec.id)
        elif state in ("success", "cached") or (state == "failure" and spec.allow_failure):
            parts = []
            for inst in instances:
                got = s.provided.get(inst.id)
                if got is not None and inst.instance is not None:
                    parts.append((inst.instance, got.run_id, got.digest))
            digest = fan_in_digest({key: digest for key, _, digest in parts})
            s.provided[spec.id] = Provided(run_id="", digest=digest, instances=tuple(parts))
        reason = "instances" if state == "failure" else None
        return StepOutcome(
            spec.id, spec.name, state, reason=reason, duration=duration, artifacts_size=size, message=message
        )
