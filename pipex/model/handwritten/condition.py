"""The ``if`` condition language: JEXL expressions over the environment, parsed and evaluated safely.

A condition is parsed once when the pipeline loads (a syntax error is a validation error) and evaluated
against ``env``: the host environment overlaid with ``.env`` and ``--env-file`` values. Nothing in user
text is ever executed as Python: :mod:`condition_parse` is a hand-written scanner and parser producing a small
frozen AST, :mod:`condition_eval` walks it with JavaScript's value rules (:mod:`condition_js`).

Truthiness is JEXL's, so ``env.DEBUG`` is true for ``DEBUG=false`` and ``DEBUG=0``; write
``env.DEBUG == "true"`` to read a flag.

Spec: pipeline-format.md, "Conditions (`if`)": JEXL-compatible, JavaScript loose equality (``"5" == 5``) and
truthiness, an unset variable is ``undefined``, a syntax error is a validation error, evaluation never runs code.

Why not a library (measured, ``bench/compare_libraries.py``): the one JEXL on PyPI, pyjexl 0.3.0 (last release
2021; pulls in ``parsimonious`` and the Python 2 compatibility package ``future``; 30 ms to import), evaluates
with Python's rules, not JavaScript's. Of 15 probe expressions it answers 9 differently: ``env.N == 5`` with
``N=5`` is false (JEXL: true), ``env.N > 10`` and ``env.N // 2`` raise ``TypeError``, ``env.N + 1`` raises
instead of giving ``"51"``, ``1 / 0`` raises ``ZeroDivisionError`` (JEXL: ``Infinity``), ``env.MISSING`` is
``None`` (not ``undefined``), ``env.MISSING.X`` raises ``AttributeError``, ``"a" * 2`` is ``"aa"`` (JEXL: ``NaN``)
and the elvis ``a ?: b`` does not parse. Its parser is also 11x slower (1,000 parses: 167 ms against 15 ms).
"""

from __future__ import annotations

from collections.abc import Mapping

from pipex.model.handwritten.condition_ast import (
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
from pipex.model.handwritten.condition_eval import evaluate
from pipex.model.handwritten.condition_js import UNDEFINED, Value, number_to_string, truthy
from pipex.model.handwritten.condition_parse import parse

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


def check(text: str, env: Mapping[str, str], steps: Mapping[str, Value] | None = None) -> bool:
    """Whether the condition ``text`` holds in ``env`` (and ``steps``: the upstream results it may read, as
    ``{id: {"outputs": {…}, "status": "success"}}``); raise ConditionSyntaxError when it does not parse."""
    return truthy(evaluate(parse(text), env, steps))


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
