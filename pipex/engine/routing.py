"""Routing: conditions over upstream results, and joins after a switch.

A condition that reads ``steps.<id>.outputs.<key>`` or ``steps.<id>.status`` is evaluated once those inputs have
settled (the scheduler only decides a step after its inputs), against what they ended with. The outputs it reads
enter the reader's fingerprint (``reads``), so an upstream output that changes re-runs exactly its readers, and
one that stays the same does not (early cutoff, as for artifacts).

Spec: dynamic.md, "Conditions on upstream results".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipex.engine.events import StepOutcome
from pipex.model.reads import condition_reads
from pipex.model.spec import StepSpec

_STATUS = {
    "success": "success",
    "cached": "success",  # a cached step is a success (its run is)
    "failure": "failure",
    "timeout": "failure",
    "cancelled": "failure",
    "skipped": "skipped",
}


@dataclass(frozen=True, slots=True)
class Unknown:
    """A dry run cannot evaluate the condition: an upstream result it reads does not exist yet."""

    reason: str


@dataclass(frozen=True, slots=True)
class Known:
    """What the condition sees (``steps``) and what enters the fingerprint (``reads``: reference → value)."""

    steps: Mapping[str, Any]
    reads: Mapping[str, Any]


def reads_results(spec: StepSpec) -> bool:
    """Whether the step's ``if`` reads upstream results (else it depends on the environment only)."""
    return spec.condition is not None and bool(condition_reads(spec.condition)[0])


def upstream(
    spec: StepSpec,
    outcomes: Mapping[str, StepOutcome],
    outputs: Mapping[str, Mapping[str, Any]],
    pending: set[str],
) -> Known | Unknown:
    """The upstream results the step's condition reads. ``outputs``: step id → outputs of the runs that
    provide artifacts; ``pending``: steps a dry run would run (their results are not known yet)."""
    assert spec.condition is not None
    refs, _ = condition_reads(spec.condition)
    steps: dict[str, dict[str, Any]] = {}
    reads: dict[str, Any] = {}
    for ref in refs:
        if ref.step in pending:
            return Unknown(f"depends on {ref} (not known before {ref.step} runs)")
        outcome = outcomes.get(ref.step)
        got = outputs.get(ref.step, {})
        steps[ref.step] = {
            "status": _STATUS.get(outcome.state, "skipped") if outcome is not None else "skipped",
            "outputs": {key: _js(value) for key, value in got.items()},
        }
        if ref.key is not None:
            reads[str(ref)] = got.get(ref.key)
    return Known(steps, reads)


def _js(value: Any) -> Any:
    """A JSON value as the condition language holds it (every number a float, as in JavaScript)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer of hundreds of digits
            return math.inf if value > 0 else -math.inf
    if isinstance(value, list):
        return [_js(v) for v in value]
    if isinstance(value, dict):
        return {k: _js(v) for k, v in value.items()}
    return str(value)


def all_skipped_by_condition(spec: StepSpec, outcomes: Mapping[str, StepOutcome]) -> bool:
    """The join rule: a step whose inputs were *all* skipped by their conditions is skipped (``condition``)."""
    if not spec.inputs:
        return False
    for inp in spec.inputs:
        outcome = outcomes.get(inp.step)
        if outcome is None or outcome.state != "skipped" or outcome.reason != "condition":
            return False
    return True
