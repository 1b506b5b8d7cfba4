"""The typed tree a parsed condition becomes, and the error a condition that does not parse raises.

Spec: pipeline-format.md, "Conditions (`if`)"; the tree of JEXL. Why not a library: pyjexl, the only JEXL on PyPI,
uses Python's value rules (9 of 15 probe expressions differ, measured; see ``condition``'s docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "ArrayLiteral",
    "Binary",
    "ConditionSyntaxError",
    "Conditional",
    "Expr",
    "Identifier",
    "Index",
    "Literal",
    "Member",
    "Unary",
]


class ConditionSyntaxError(ValueError):
    """A condition that is not valid JEXL (or uses JEXL features pipex does not support).

    ``position`` is the 0-based index into the condition text; the message names the 1-based ``column``.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    @property
    def column(self) -> int:
        return self.position + 1


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | float | bool | None


@dataclass(frozen=True, slots=True)
class Identifier:
    """A bare name; only ``env`` means something, any other name is ``undefined`` (as in JEXL)."""

    name: str


@dataclass(frozen=True, slots=True)
class Member:
    """``subject.name``."""

    subject: Expr
    name: str


@dataclass(frozen=True, slots=True)
class Index:
    """``subject[index]`` (JEXL's static filter)."""

    subject: Expr
    index: Expr


@dataclass(frozen=True, slots=True)
class ArrayLiteral:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "!" or "-"
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Conditional:
    """``test ? consequent : alternate``; ``consequent`` is None for the elvis form ``test ?: alternate``."""

    test: Expr
    consequent: Expr | None
    alternate: Expr


Expr: TypeAlias = Literal | Identifier | Member | Index | ArrayLiteral | Unary | Binary | Conditional
