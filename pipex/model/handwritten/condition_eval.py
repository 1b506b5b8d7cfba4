"""Evaluate a parsed condition with JEXL's (that is, JavaScript's) value semantics.

Values are ``str``, ``float`` (every JS number), ``bool``, ``None`` (null), ``UNDEFINED``, ``list`` (array
literals) and the ``env`` mapping itself (a JS object). Every operator applies JavaScript's coercions, so no
parsed expression can raise: ``1 / 0`` is ``Infinity``, ``"a" * 2`` is ``NaN``, ``env.X.Y`` on an unset
``X`` is ``undefined``.

Spec: pipeline-format.md, "Conditions (`if`)"; the operators of JEXL. Why not a library: pyjexl, the only JEXL on PyPI,
uses Python's value rules (9 of 15 probe expressions differ, measured; see ``condition``'s docstring).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

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
from pipex.model.handwritten.condition_js import (
    UNDEFINED,
    Value,
    loose_equal,
    power,
    property_key,
    remainder,
    strict_equal,
    to_number,
    to_primitive,
    to_string,
    truthy,
    utf16_units,
)


def evaluate(expr: Expr, env: Mapping[str, str], steps: Mapping[str, Value] | None = None) -> object:
    """The value of ``expr`` with ``env`` (and ``steps``: id → ``{"outputs": …, "status": …}`` of the upstream
    steps, when given) as the only known names; never raises."""
    scope: Mapping[str, Value] = {"env": env} if steps is None else {"env": env, "steps": steps}
    return _eval(expr, scope)


def _eval(expr: Expr, scope: Mapping[str, Value]) -> Value:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Identifier):
        return scope.get(expr.name, UNDEFINED)
    if isinstance(expr, Member):
        subject = _eval(expr.subject, scope)
        # JEXL reads ``.name`` of an array from its first element.
        if isinstance(subject, list):
            subject = subject[0] if subject else UNDEFINED
        return _get(subject, expr.name)
    if isinstance(expr, Index):
        subject = _eval(expr.subject, scope)
        index = _eval(expr.index, scope)
        # JEXL's static filter: a boolean keeps or drops the whole subject.
        if isinstance(index, bool):
            return subject if index else UNDEFINED
        return _get(subject, property_key(index))
    if isinstance(expr, ArrayLiteral):
        return [_eval(item, scope) for item in expr.items]
    if isinstance(expr, Unary):
        operand = _eval(expr.operand, scope)
        return (not truthy(operand)) if expr.op == "!" else -to_number(operand)
    if isinstance(expr, Conditional):
        test = _eval(expr.test, scope)
        if truthy(test):
            return test if expr.consequent is None else _eval(expr.consequent, scope)
        return _eval(expr.alternate, scope)
    return _binary(expr, scope)


def _get(subject: Value, key: str) -> Value:
    """``subject[key]`` for the values a condition can hold; anything absent is undefined."""
    if isinstance(subject, str):
        units = utf16_units(subject)
        if key == "length":
            return float(len(units))
        index = _array_index(key)
        return units[index] if index is not None and index < len(units) else UNDEFINED
    if isinstance(subject, list):
        if key == "length":
            return float(len(subject))
        index = _array_index(key)
        return subject[index] if index is not None and index < len(subject) else UNDEFINED
    if isinstance(subject, Mapping):
        value = subject.get(key)
        return UNDEFINED if value is None else value
    return UNDEFINED


def _array_index(key: str) -> int | None:
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


def _binary(expr: Binary, scope: Mapping[str, Value]) -> Value:
    op = expr.op
    left = _eval(expr.left, scope)
    if op == "&&":
        return _eval(expr.right, scope) if truthy(left) else left
    if op == "||":
        return left if truthy(left) else _eval(expr.right, scope)
    right = _eval(expr.right, scope)
    if op == "==":
        return loose_equal(left, right)
    if op == "!=":
        return not loose_equal(left, right)
    if op in _RELATIONAL:
        return _compare(op, left, right)
    if op == "in":
        if isinstance(right, str):
            return to_string(left) in right
        if isinstance(right, list):
            return any(strict_equal(item, left) for item in right)
        return False
    if op == "+":
        left, right = to_primitive(left), to_primitive(right)
        if isinstance(left, str) or isinstance(right, str):
            return to_string(left) + to_string(right)
        return to_number(left) + to_number(right)
    return _arithmetic(op, to_number(left), to_number(right))


_RELATIONAL: Final = frozenset({"<", "<=", ">", ">="})


def _less_than(left: Value, right: Value) -> bool | None:
    """JS IsLessThan: None when a NaN makes the comparison undefined."""
    left, right = to_primitive(left), to_primitive(right)
    if isinstance(left, str) and isinstance(right, str):
        # JS compares UTF-16 code units; big-endian UTF-16 bytes order the same way.
        return left.encode("utf-16-be", "surrogatepass") < right.encode("utf-16-be", "surrogatepass")
    a, b = to_number(left), to_number(right)
    if math.isnan(a) or math.isnan(b):
        return None
    return a < b


def _compare(op: str, left: Value, right: Value) -> bool:
    if op == "<":
        return _less_than(left, right) is True
    if op == ">":
        return _less_than(right, left) is True
    # a <= b is "not b < a", except that an undefined comparison stays false.
    result = _less_than(right, left) if op == "<=" else _less_than(left, right)
    return result is False


def _arithmetic(op: str, a: float, b: float) -> float:
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "%":
        return remainder(a, b)
    if op == "^":
        return power(a, b)
    quotient = _divide(a, b)
    if op == "//" and math.isfinite(quotient):
        return float(math.floor(quotient))
    return quotient


def _divide(a: float, b: float) -> float:
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a) or math.isnan(b):
        return math.nan
    # The sign of the zero decides the sign of the infinity, as in IEEE 754.
    return math.copysign(math.inf, a) * math.copysign(1.0, b)
