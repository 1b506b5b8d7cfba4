"""Pydantic validation errors of kit parameters turned into our own plain messages, one Problem each.

Locations are ``steps[N].with.<param>`` (``steps[0].with.packages[1]``); messages name the parameter and what
was read, and say how to write it (``version must be a string: write version: "3.10"``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pipex.errors import Problem
from pipex.kits.params import CUSTOM_ERROR
from pipex.model.suggest import did_you_mean


def loc_text(loc: Sequence[str | int]) -> str:
    """``("packages", 1)`` → ``packages[1]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def param_problems(exc: ValidationError, *, kit: str, prefix: str, fields: Sequence[str]) -> list[Problem]:
    """One Problem per pydantic error, located under ``prefix`` (``steps[2].with``)."""
    return [_problem(error, kit=kit, prefix=prefix, fields=fields) for error in exc.errors()]


def _problem(error: ErrorDetails, *, kit: str, prefix: str, fields: Sequence[str]) -> Problem:
    loc = tuple(error["loc"])
    where = loc_text(loc)
    location = f"{prefix}.{where}" if where else prefix
    name = where or "with"
    kind = error["type"]
    value = error.get("input")
    if kind == CUSTOM_ERROR:
        message = str(error.get("ctx", {}).get("message", error["msg"]))
        return Problem(location, f"{name} {message}")
    if kind == "missing":
        return Problem(location, f'missing required parameter "{name}" of kit "{kit}"')
    if kind == "extra_forbidden":
        suggestion = did_you_mean(str(loc[-1]), fields)
        if suggestion:
            return Problem(location, f'"{name}" is not a parameter of kit "{kit}"; did you mean "{suggestion}"?')
        takes = ", ".join(sorted(fields)) or "no parameters"
        return Problem(location, f'"{name}" is not a parameter of kit "{kit}"', f'kit "{kit}" takes: {takes}')
    if kind == "bool_type":
        hint = None
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            hint = f"write {name}: {value.strip().lower()}, without quotes"
        return Problem(location, f"{name} must be true or false, not {describe(value)}", hint)
    if kind == "string_type":
        return _string_problem(location, name, value)
    if kind == "list_type":
        hint = None
        if isinstance(value, str) and value.split():
            hint = f"write {name}: [{', '.join(value.split())}]"
        return Problem(location, f"{name} must be a list of strings, not {describe(value)}", hint)
    if kind == "string_too_short":
        return Problem(location, f"{name} must not be empty")
    if kind in ("dict_type", "model_type"):
        return Problem(location, f"{name} must be a mapping, not {describe(value)}")
    if kind in ("int_type", "float_type", "int_from_float"):
        return Problem(location, f"{name} must be a number, not {describe(value)}")
    message = error["msg"]
    return Problem(location, f"{name}: {message[:1].lower()}{message[1:]}")


def _string_problem(location: str, name: str, value: Any) -> Problem:
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        if name.endswith("version") and isinstance(value, float) and len(text.partition(".")[2]) == 1:
            # YAML read `3.10` as the number 3.1: the version the user most likely meant lost its zero.
            meant = f"{text}0"
            hint = f'YAML reads an unquoted {meant} as the number {text}; if you meant {text}, write "{text}"'
            return Problem(location, f'{name} must be a string: write {name}: "{meant}"', hint)
        return Problem(location, f'{name} must be a string: write {name}: "{text}"')
    return Problem(location, f"{name} must be a string, not {describe(value)}")
