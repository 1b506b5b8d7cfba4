"""From raw pipeline data to pydantic input, and from pydantic's errors to our own ``Problem`` wording.

Pydantic's messages ("Input should be a valid list", links to its docs) are not for pipeline authors, so every
error is re-worded here with the field's location in the file (``steps[2].inputs[0].step``). Unknown keys are
caught before pydantic so that each can get a did-you-mean suggestion from the right list of fields.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from pipex.errors import Problem
from pipex.model.bounds import short_number
from pipex.model.step import Cache, Input, Mount, Resources, Setup, Step
from pipex.model.suggest import did_you_mean

Loc = tuple[str | int, ...]

# How each model is named in "… is not a step field".
_FIELD_OF: dict[type[BaseModel], str] = {
    Step: "a step field",
    Input: "an input field",
    Mount: "a mount field",
    Cache: "a cache field",
    Setup: "a setup field",
    Resources: "a resources field",
}
_LIST_OF = {
    "cmd": "a list of strings",
    "steps": "a list of steps",
    "inputs": "a list of inputs",
    "mounts": "a list of mounts",
    "sources": "a list of sources",
    "caches": "a list of caches",
    "secrets": "a list of secrets",
    "outputs": "a list of output names",
}
_ITEM_OF = {
    "steps": "a step (a mapping)",
    "inputs": 'an input (a mapping with "step")',
    "mounts": 'a mount (a mapping with "host" and "container")',
    "sources": 'a source (a mapping with "host" and "container")',
    "caches": 'a cache (a mapping with "name" and "path")',
    "secrets": 'a secret (a name, or a mapping with "name")',
}
_MAPPING_OF = {
    "env": "a mapping of variable names to values",
    "with": "a mapping of kit parameters",
    "setup": 'a mapping with "cmd"',
    "resources": 'a mapping with "cpus", "memory" or "pids"',
    "kits": "a mapping of kit names to files or modules",
}


@functools.cache
def aliases(model: type[BaseModel]) -> tuple[str, ...]:
    """The names a model's fields have in files (camelCase aliases), in declaration order."""
    return tuple(info.alias or name for name, info in model.model_fields.items())


@functools.cache
def known_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(aliases(model))


def location(parts: Iterable[str | int]) -> str:
    """``("steps", 2, "inputs", 0, "step")`` → ``"steps[2].inputs[0].step"``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def quote(value: Any) -> str:
    """A value as messages show it: JSON-quoted, a long string cut (an error stays one readable line)."""
    if isinstance(value, str):
        return json.dumps(value if len(value) <= _QUOTED else value[: _QUOTED - 1] + "…", ensure_ascii=False)
    return short_number(value) if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)


_QUOTED = 80


def describe(value: Any) -> str:
    """How a value's type reads in an error message: ``a string``, ``a number``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def unknown_field(key: Any, what: str, choices: Sequence[str], loc: Loc, extra: str = "") -> Problem:
    """``"input" is not a step field; did you mean "inputs"?`` (or the valid fields as a hint).

    ``loc`` is where the mapping holding the key is, so the message reads ``steps[0]: "input" is not…``.
    """
    message = f"{quote(key)} is not {what}"
    suggestion = did_you_mean(str(key), choices)
    if suggestion:
        return Problem(location(loc), f'{message}; did you mean "{suggestion}"?')
    return Problem(location(loc), message, "valid fields: " + ", ".join(choices) + extra)


def check_keys(
    data: dict[Any, Any],
    model: type[BaseModel],
    loc: Loc,
    what: str | None = None,
    suggested: set[tuple[str, str]] | None = None,
) -> list[Problem]:
    """Problems for keys of ``data`` that ``model`` does not know; removes those keys from ``data``.

    Each (location, suggested field) is added to ``suggested``, so that a "missing field" error for the
    field the user misspelled is not reported a second time.
    """
    known = aliases(model)
    if known_fields(model).issuperset(data):
        return []
    problems = []
    for key in [key for key in data if key not in known]:
        problems.append(unknown_field(key, what or _FIELD_OF[model], known, loc))
        suggestion = did_you_mean(str(key), known)
        if suggestion and suggested is not None:
            suggested.add((location(loc), suggestion))
        del data[key]
    return problems


def pydantic_problems(exc: ValidationError, model: type[BaseModel], *, prefix: Loc, what: str) -> list[Problem]:
    """Each pydantic error of validating ``model`` as one of ours; ``prefix`` is prepended to locations."""
    problems = []
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(error["loc"])
        problems.append(error_problem(error, model, loc, prefix, what))
    return problems


def error_problem(error: Any, model: type[BaseModel], loc: Loc, prefix: Loc, what: str) -> Problem:
    """One pydantic error (``loc`` possibly renumbered by the caller) as a ``Problem``."""
    kind: str = error["type"]
    value = error.get("input")
    where = location((*prefix, *loc))
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        label = what if owner is model else _FIELD_OF.get(owner, "a field") if owner else "a field"
        return unknown_field(loc[-1], label, aliases(owner) if owner else [], (*prefix, *loc[:-1]))
    if kind == "missing":
        return Problem(location((*prefix, *loc[:-1])), f'missing required field "{loc[-1]}"')
    if loc and loc[-1] == "[key]":
        return Problem(location((*prefix, *loc[:-1])), f"names must be strings, got {describe(loc[-2])}")
    expected, hint = _expected(kind, model, loc, value)
    if expected is None:
        message = str(error.get("msg", "invalid value"))
        return Problem(where, f"invalid value: {message[:1].lower()}{message[1:]}")
    return Problem(where, f"expected {expected}, got {_shown(value, kind)}", hint)


def _shown(value: Any, kind: str) -> str:
    """The value itself where it helps (``got the string "30s"``, ``got 2.5``), else its type."""
    if kind != "string_type" and isinstance(value, str) and len(value) <= 40:
        return f"the string {quote(value)}"
    if kind != "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return short_number(value)
    return describe(value)


def _expected(kind: str, model: type[BaseModel], loc: Loc, value: Any) -> tuple[str | None, str | None]:
    field = next((part for part in reversed(loc) if isinstance(part, str)), "")
    is_item = bool(loc) and isinstance(loc[-1], int)
    if kind == "string_type":
        hint = "put it in quotes" if isinstance(value, int | float) and not isinstance(value, bool) else None
        return "a string", hint
    if kind == "list_type":
        hint = "write it as a YAML list: one `- item` per line" if isinstance(value, str | dict) else None
        return _LIST_OF.get(field, "a list"), hint
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        if is_item:
            hint = (
                f'write "- step: {value}"' if field == "inputs" and isinstance(value, str) and len(value) < 80 else None
            )
            return _ITEM_OF.get(field, "a mapping"), hint
        return _MAPPING_OF.get(field, "a mapping"), None
    if kind == "bool_type":
        hint = "write true or false; YAML 1.2 reads yes, no, on and off as strings" if isinstance(value, str) else None
        return "true or false", hint
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return "a whole number", None
    if kind in ("float_type", "float_parsing"):
        return "a number", None
    if kind == "finite_number":
        return "a finite number", None
    if kind == "literal_error":
        choices = _literal_choices(model, loc)
        return "one of " + ", ".join(quote(choice) for choice in choices), None
    return None, None


def _literal_choices(model: type[BaseModel], loc: Loc) -> list[Any]:
    owner = _model_at(model, loc[:-1])
    if owner is None or not isinstance(loc[-1], str):
        return []
    for name, info in owner.model_fields.items():
        if loc[-1] in (name, info.alias):
            return [arg for arg in _flatten(info.annotation) if not isinstance(arg, type)]
    return []


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model whose fields are at ``loc`` inside ``model`` (following lists and optionals)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = next((i for n, i in current.model_fields.items() if part in (n, i.alias)), None)
        if info is None:
            return None
        current = next((arg for arg in _flatten(info.annotation) if _is_model(arg)), None)
    return current if _is_model(current) else None


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _flatten(annotation: Any) -> list[Any]:
    """Every type or literal value inside an annotation (``list[Input] | None`` → ``[Input, None]``)."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return [annotation]
    if origin in (typing.Union, types.UnionType, list, dict, typing.Literal):
        args = typing.get_args(annotation)
        if origin is typing.Literal:
            return list(args)
        return [item for arg in args for item in _flatten(arg)]
    return [annotation]
