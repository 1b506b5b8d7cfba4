"""First pass over raw pipeline data: shape, unknown keys, ids from names, then pydantic once for all steps.

The result is one ``Draft`` per step, holding its ``Step`` model when it has one. A step that fails pydantic
is validated again without its bad fields, so that the later checks (paths, inputs, cycles…) still see the rest
of it and every problem of the file is reported in one go.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from pipex.errors import Problem
from pipex.model.schema import (
    Loc,
    check_keys,
    describe,
    error_problem,
    known_fields,
    location,
    quote,
    unknown_field,
)
from pipex.model.slug import slugify
from pipex.model.step import Cache, Input, Mount, Resources, Setup, Step

PIPELINE_FIELDS = ("id", "name", "steps")
PIPELINE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_STEPS = TypeAdapter(list[Step])
_PLACEHOLDER = "\x00missing-id"  # lets pydantic validate the rest of a step with no usable id
_STEP_FIELDS = known_fields(Step)
_ITEM_MODELS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("inputs", Input),
    ("mounts", Mount),
    ("sources", Mount),
    ("caches", Cache),
)


@dataclass(slots=True)
class Draft:
    """One step on its way from raw data to a ``Step``."""

    index: int
    keys: Sequence[str]  # the step's keys in file order, to sort problems
    data: dict[str, Any] | None  # cleaned input for pydantic; None when the step is not a mapping
    id: str | None = None  # usable id (explicit or from the name)
    id_from: str = "id"  # "id" or "name": where a problem about the id points
    step: Step | None = None
    bad: set[str] = field(default_factory=set)  # fields already reported: later checks skip them
    hinted: set[str] = field(default_factory=set)  # fields a did-you-mean suggested (a typo of them is there)

    @property
    def loc(self) -> Loc:
        return ("steps", self.index)


@dataclass(slots=True)
class Document:
    """The top level of a pipeline file after the first pass."""

    id: str | None = None
    name: str | None = None
    keys: list[str] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # (location, field) pairs a did-you-mean already pointed at: no "missing" error for them.
    suggested: set[tuple[str, str]] = field(default_factory=set)


def read_document(data: Any) -> Document:
    doc = Document()
    if data is None:
        hint = "a pipeline needs an `id` or a `name`, and a list of `steps`"
        doc.problems.append(Problem("", "the pipeline file is empty", hint))
        return doc
    if not isinstance(data, dict):
        doc.problems.append(Problem("", f"expected a mapping (id, name, steps) at the top level, got {describe(data)}"))
        return doc
    doc.keys = [str(key) for key in data]
    for key in data:
        if key not in PIPELINE_FIELDS and not (isinstance(key, str) and key.startswith("x-")):
            problem = unknown_field(key, "a pipeline field", PIPELINE_FIELDS, (), ", or x-* extension keys")
            doc.problems.append(problem)
            if problem.message.endswith('"steps"?'):
                doc.suggested.add(("", "steps"))
    _read_identity(data, doc)
    steps = data.get("steps")
    if "steps" not in data:
        if ("", "steps") in doc.suggested:
            return doc
        doc.problems.append(Problem("", 'missing "steps": a pipeline needs at least one step'))
    elif not isinstance(steps, list):
        as_list = "write the steps as a YAML list: one `- id: …` per step" if isinstance(steps, dict) else None
        doc.problems.append(Problem("steps", f"expected a list of steps, got {describe(steps)}", as_list))
    elif not steps:
        doc.problems.append(Problem("steps", "must not be empty: a pipeline needs at least one step"))
    else:
        doc.drafts = [_read_step(index, raw, doc) for index, raw in enumerate(steps)]
        _validate_models(doc.drafts, doc)
    return doc


def _read_identity(data: dict[Any, Any], doc: Document) -> None:
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        doc.problems.append(Problem("name", f"expected a string, got {describe(name)}"))
        name = None
    doc.name = name
    if data.get("id") is not None:
        value = data["id"]
        if not isinstance(value, str):
            doc.problems.append(Problem("id", f"expected a string, got {describe(value)}", "put it in quotes"))
        elif not PIPELINE_ID.match(value):
            hint = 'start with a letter or digit, then use letters, digits, "_" and "-"'
            doc.problems.append(Problem("id", f"{quote(value)} is not a valid pipeline id", hint))
        else:
            doc.id = value
    elif name is not None:
        try:
            slug = slugify(name)
        except ValueError:
            hint = 'add an "id"'
            doc.problems.append(Problem("name", f"cannot derive a pipeline id from the name {quote(name)}", hint))
            return
        if PIPELINE_ID.match(slug):
            doc.id = slug
        else:
            message = f"the name {quote(name)} gives the id {quote(slug)}, which is not a valid pipeline id"
            doc.problems.append(Problem("name", message, 'add an "id" that starts with a letter or digit'))
    elif "name" not in data or data.get("name") is None:
        doc.problems.append(Problem("", 'the pipeline needs an "id" or a "name"'))


def _read_step(index: int, raw: Any, doc: Document) -> Draft:
    loc: Loc = ("steps", index)
    problems, suggested = doc.problems, doc.suggested
    if not isinstance(raw, dict):
        problems.append(Problem(location(loc), f"expected a step (a mapping), got {describe(raw)}"))
        return Draft(index, [], None)
    data = dict(raw)
    if _STEP_FIELDS.issuperset(raw):  # the common case: only known keys, all strings
        draft = Draft(index, list(raw), data)
    else:
        draft = Draft(index, [str(key) for key in raw], data)
        own: set[tuple[str, str]] = set()
        problems.extend(check_keys(data, Step, loc, None, own))
        draft.hinted = {name for _, name in own}
        suggested |= own
    for name, model in _ITEM_MODELS:
        items = data.get(name)
        if isinstance(items, list):
            data[name] = _checked_items(items, model, (*loc, name), problems, suggested)
    _read_setup(data, loc, problems, suggested)
    if isinstance(data.get("resources"), dict):
        data["resources"] = dict(data["resources"])
        problems.extend(check_keys(data["resources"], Resources, (*loc, "resources"), None, suggested))
    _read_id(draft, data, problems)
    if isinstance(data.get("cmd"), list):
        data["cmd"] = [arg if type(arg) is str else _number_text(arg) for arg in data["cmd"]]
    _read_env(draft, data, problems)
    return draft


def _read_setup(data: dict[str, Any], loc: Loc, problems: list[Problem], suggested: set[tuple[str, str]]) -> None:
    setup = data.get("setup")
    if not isinstance(setup, dict):
        return
    data["setup"] = setup = dict(setup)
    problems.extend(check_keys(setup, Setup, (*loc, "setup"), None, suggested))
    if isinstance(setup.get("cmd"), list):
        setup["cmd"] = [_number_text(arg) for arg in setup["cmd"]]
    caches = setup.get("caches")
    if isinstance(caches, list):
        setup["caches"] = _checked_items(caches, Cache, (*loc, "setup", "caches"), problems, suggested)


def _checked_items(
    items: list[Any], model: type[BaseModel], loc: Loc, problems: list[Problem], suggested: set[tuple[str, str]]
) -> list[Any]:
    """``items`` with unknown keys reported and removed (copied only when there are some: the common case
    of a clean file costs no copies)."""
    what = "a source field" if loc[-1] == "sources" else None
    known = known_fields(model)
    result = items
    for position, item in enumerate(items):
        if isinstance(item, dict) and not known.issuperset(item):
            if result is items:
                result = list(items)
            clean = result[position] = dict(item)
            problems.extend(check_keys(clean, model, (*loc, position), what, suggested))
    return result


def _read_id(draft: Draft, data: dict[str, Any], problems: list[Problem]) -> None:
    if data.get("id") is not None:
        if isinstance(data["id"], str):
            draft.id = data["id"]
        return
    where = location(draft.loc)
    name = data.get("name")
    data["id"] = _PLACEHOLDER
    draft.bad.add("id")
    if isinstance(name, str):
        try:
            draft.id = data["id"] = slugify(name)
            draft.id_from = "name"
            draft.bad.discard("id")
        except ValueError:
            message = f"cannot derive a step id from the name {quote(name)}"
            problems.append(Problem(f"{where}.name", message, 'add an "id"'))
    elif name is None:
        problems.append(Problem(where, 'a step needs an "id" (or a "name" to derive it from)'))


def _read_env(draft: Draft, data: dict[str, Any], problems: list[Problem]) -> None:
    env = data.get("env")
    if not isinstance(env, dict):
        return
    clean: dict[Any, Any] = {}
    for key, value in env.items():
        if type(value) is str:
            clean[key] = value
        elif isinstance(value, bool):
            clean[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            clean[key] = _number_text(value)
        else:
            where = location((*draft.loc, "env", str(key)))
            problems.append(Problem(where, f"expected a string, number or boolean, got {describe(value)}"))
            draft.bad.add("env")
    data["env"] = clean


def _number_text(value: Any) -> Any:
    """Numbers as JavaScript's ``String(n)`` writes them (``1.0`` → ``"1"``), other values unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
    return str(value)


def _validate_models(drafts: list[Draft], doc: Document) -> None:
    """Validate every step with pydantic in one call; on failure, re-validate the failing steps without
    their bad fields."""
    ready = [draft for draft in drafts if draft.data is not None]
    try:
        steps = _STEPS.validate_python([draft.data for draft in ready], strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        failed: set[int] = set()
        for error in errors:
            draft = ready[int(error["loc"][0])]
            failed.add(draft.index)
            draft.bad.add(str(error["loc"][1]) if len(error["loc"]) > 1 else "")
            loc = (draft.index, *error["loc"][1:])
            if error["type"] == "missing" and (location(("steps", *loc[:-1])), loc[-1]) in doc.suggested:
                continue  # the unknown key next to it already says "did you mean …?"
            doc.problems.append(error_problem(error, Step, loc, ("steps",), "a step field"))
        good = [draft for draft in ready if draft.index not in failed]
        steps = _STEPS.validate_python([draft.data for draft in good], strict=True)
        for draft, step in zip(good, steps, strict=True):
            draft.step = step
        for draft in ready:
            if draft.index in failed:
                _validate_partial(draft)
        return
    for draft, step in zip(ready, steps, strict=True):
        draft.step = step


def _validate_partial(draft: Draft) -> None:
    assert draft.data is not None
    rest = {key: value for key, value in draft.data.items() if key not in draft.bad}
    if "id" in draft.bad:
        rest["id"] = _PLACEHOLDER
    try:
        draft.step = Step.model_validate(rest, strict=True)
    except ValidationError:
        draft.step = None  # cannot happen with only valid fields left; the problems are reported anyway
