"""What a condition reads of upstream steps: ``steps.<id>.outputs.<key>`` and ``steps.<id>.status``.

Found in the parsed tree, never by matching text, so ``steps["my-step"].outputs["a-b"]`` (ids and keys with
``-`` cannot be written after a dot: ``steps.my-step`` is a subtraction) reads the same as the dotted form.
A reference must name its step and key literally: the scheduler has to know, before it evaluates anything,
which upstream results a step waits for and which ones enter its fingerprint.

Spec: dynamic.md, "Conditions on upstream results".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as Kind

from pipex.model.handwritten.condition_ast import (
    ArrayLiteral,
    Binary,
    Conditional,
    Expr,
    Identifier,
    Index,
    Literal,
    Member,
    Unary,
)

__all__ = ["StepReference", "step_references"]

_FORMS = 'read "steps.<id>.outputs.<key>" or "steps.<id>.status"'


@dataclass(frozen=True, slots=True, order=True)
class StepReference:
    step: str
    field: Kind["outputs", "status"]
    key: str | None = None  # the output's name (``outputs`` only)

    def __str__(self) -> str:
        return f"steps.{self.step}.status" if self.key is None else f"steps.{self.step}.outputs.{self.key}"


def step_references(expr: Expr) -> tuple[list[StepReference], list[str]]:
    """(the upstream results ``expr`` reads, sorted and unique; the problems with how it reads them)."""
    found: set[StepReference] = set()
    problems: list[str] = []
    pending: list[Expr] = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, Member | Index):
            keys, root = _chain(node, pending)
            if root == Identifier("steps"):
                ref = _reference(keys, problems)
                if ref is not None:
                    found.add(ref)
            else:
                pending.append(root)
        elif isinstance(node, ArrayLiteral):
            pending.extend(node.items)
        elif isinstance(node, Unary):
            pending.append(node.operand)
        elif isinstance(node, Binary):
            pending.extend((node.left, node.right))
        elif isinstance(node, Conditional):
            pending.extend(n for n in (node.test, node.consequent, node.alternate) if n is not None)
    return sorted(found), problems


def _chain(node: Member | Index, pending: list[Expr]) -> tuple[list[str | None], Expr]:
    """The keys of a ``a.b["c"][x]`` chain from its root (``None`` for a computed one), and the root; the
    computed indexes go to ``pending`` (they may read results too)."""
    keys: list[str | None] = []
    current: Expr = node
    while isinstance(current, Member | Index):
        if isinstance(current, Member):
            keys.append(current.name)
        elif isinstance(current.index, Literal) and isinstance(current.index.value, str):
            keys.append(current.index.value)
        else:
            keys.append(None)
            pending.append(current.index)
        current = current.subject
    keys.reverse()
    return keys, current


def _reference(keys: list[str | None], problems: list[str]) -> StepReference | None:
    if not keys or keys[0] is None:
        problems.append(f'a step must be named literally after "steps" ({_FORMS})')
        return None
    step = keys[0]
    if len(keys) == 2 and keys[1] == "status":
        return StepReference(step, "status")
    if len(keys) >= 3 and keys[1] == "outputs":
        if keys[2] is None:
            problems.append(f"an output of {step} must be named literally (steps.{step}.outputs.<key>)")
            return None
        return StepReference(step, "outputs", keys[2])
    shown = ".".join("[…]" if k is None else k for k in keys[:3])
    problems.append(f"steps.{shown} is not an upstream result; {_FORMS}")
    return None
