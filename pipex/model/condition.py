"""The ``if`` condition language: JEXL expressions over the environment, parsed and evaluated safely.

A condition is parsed once when the pipeline loads (a syntax error is a validation error) and evaluated
against ``env``: the host environment overlaid with ``.env`` and ``--env-file`` values. Nothing in user
text is ever executed as Python: :mod:`condition_parse` is a hand-written scanner and parser producing a small
frozen AST, :mod:`condition_eval` walks it with JavaScript's value rules (:mod:`condition_js`).

Truthiness is JEXL's, so ``env.DEBUG`` is true for ``DEBUG=false`` and ``DEBUG=0``; write
``env.DEBUG == "true"`` to read a flag.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipex.model.condition_ast import (
    ArrayLiteral,
    Binary,
    Conditional,
    ConditionSyntaxError,
    Expr,
    Identifier,
    Index,
    Literal,
    Member,
    Unary,
)
from pipex.model.condition_eval import evaluate
from pipex.model.condition_js import UNDEFINED, number_to_string, truthy
from pipex.model.condition_parse import parse

__all__ = [
    "UNDEFINED",
    "ConditionSyntaxError",
    "Expr",
    "check",
    "evaluate",
    "parse",
    "truthy",
    "variables",
]


def check(text: str, env: Mapping[str, str]) -> bool:
    """Whether the condition ``text`` holds in ``env``; raise ConditionSyntaxError when it does not parse."""
    return truthy(evaluate(parse(text), env))


def variables(expr: Expr) -> set[str]:
    """The names of the environment variables ``expr`` reads (``env.NAME`` and ``env["NAME"]``).

    A computed name such as ``env[env.WHICH]`` cannot be known before evaluation; only ``WHICH`` is reported.
    """
    found: set[str] = set()
    pending: list[Expr] = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, Member):
            if node.subject == Identifier("env"):
                found.add(node.name)
            pending.append(node.subject)
        elif isinstance(node, Index):
            if node.subject == Identifier("env") and isinstance(node.index, Literal):
                if isinstance(node.index.value, str):
                    found.add(node.index.value)
                elif isinstance(node.index.value, float):
                    found.add(number_to_string(node.index.value))
            pending.extend((node.subject, node.index))
        elif isinstance(node, ArrayLiteral):
            pending.extend(node.items)
        elif isinstance(node, Unary):
            pending.append(node.operand)
        elif isinstance(node, Binary):
            pending.extend((node.left, node.right))
        elif isinstance(node, Conditional):
            pending.extend(n for n in (node.test, node.consequent, node.alternate) if n is not None)
    return found
