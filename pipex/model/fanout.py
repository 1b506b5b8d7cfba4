"""Fan-out: ``matrix`` and ``foreach`` — what they mean, checked when the pipeline loads, and the pure parts the
engine uses to make instances (keys, values, substitution).

An instance's key is derived from its values only (never from its position), so adding, removing or reordering
items leaves every other instance's key — and so its fingerprint, runs and cache — as it was. A value that is
already a safe file name is its own key (``eu``, ``3``, ``a.csv``); anything else is a readable slug plus a short
hash of the value, so two different values never share a key.

Spec: dynamic.md, "Fan-out: `matrix` and `foreach`".
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipex.errors import Problem
from pipex.model.schema import quote
from pipex.model.step import ForeachStep, Step

MAX_INSTANCES: Final = 10_000  # a matrix larger than this is an error, not an out-of-memory
_SAFE: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_SLUG: Final = re.compile(r"[^A-Za-z0-9_.-]+")
_PLACEHOLDER: Final = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
_NAME: Final = re.compile(r"^(matrix|item)(?:\.([A-Za-z0-9_-]+))?$")


@dataclass(frozen=True, slots=True)
class Outer:
    """The names a fanned sub-pipeline gives the steps of its child file: its ``matrix`` names and whether it has
    an ``item`` (literal ``foreach``), gathered over every enclosing ``pipeline:`` step; ``by``: whose, for
    messages (``etl``)."""

    matrix: frozenset[str] = frozenset()
    item: bool = False
    by: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.matrix) or self.item

    def around(self, step: Step) -> Outer:
        """These names and those ``step`` (a ``pipeline:`` step) gives its child."""
        if step.matrix is None and step.foreach is None:
            return self
        return Outer(self.matrix | set(step.matrix or ()), self.item or step.foreach is not None, (*self.by, step.id))


NO_OUTER: Final = Outer()


@dataclass(frozen=True, slots=True)
class Source:
    """Where a ``foreach`` gets its items at run time: ``steps.<step>.outputs.<key>``."""

    step: str
    key: str


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _part(value: Any) -> str:
    """One value's part of a key: itself when safe, else a slug and a hash of the exact value."""
    if not isinstance(value, dict | list):
        text = _scalar_text(value)
        if _SAFE.match(text):
            return text
        slug = _SLUG.sub("-", text).strip("-.")[:40]
    else:
        slug = _SLUG.sub("-", "-".join(_scalar_text(v) for v in _leaves(value))).strip("-.")[:40]
    digest = hashlib.sha256(canonical(value).encode()).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else digest


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _leaves(value[k])]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def item_key(item: Any) -> str:
    """The key of a ``foreach`` item: a scalar's own text when safe; an object's field values joined by ``-``."""
    if isinstance(item, dict) and item and all(not isinstance(v, dict | list) for v in item.values()):
        parts = [_part(item[k]) for k in sorted(item)]
        joined = "-".join(parts)
        if len(joined) <= 64 and all(_SAFE.match(p) for p in parts):
            return joined
    return _part(item)


def matrix_key(values: Mapping[str, Any]) -> str:
    """The key of a matrix instance: its values in the matrix's order, joined by ``-`` (``eu-csv``)."""
    return "-".join(_part(v) for v in values.values())


def matrix_instances(matrix: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The cross product, in file order (the first name varies slowest)."""
    combos: list[dict[str, Any]] = [{}]
    for name, values in matrix.items():
        combos = [{**combo, name: value} for combo in combos for value in values]
    return combos


def size_of(matrix: Mapping[str, Sequence[Any]]) -> int:
    total = 1
    for values in matrix.values():
        total *= len(values)
    return total


def env_name(name: str) -> str:
    return "MATRIX_" + name.upper().replace("-", "_")


def item_text(value: Any) -> str:
    """``ITEM`` and ``${{ item }}``: a scalar as its text, a list or an object as its JSON."""
    if isinstance(value, dict | list):
        return canonical(value)
    if value is None:
        return "null"
    return _scalar_text(value)


def substitute(text: str, matrix: Mapping[str, Any] | None, item: Any, has_item: bool) -> str:
    """``${{ matrix.NAME }}``, ``${{ item }}``, ``${{ item.FIELD }}`` replaced (names were checked at load)."""
    if "${{" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        found = _NAME.match(match.group(1))
        if found is None:
            return match.group(0)
        kind, field = found.groups()
        if kind == "matrix" and matrix is not None and field in matrix:
            return item_text(matrix[field])
        if kind == "item" and has_item:
            if field is None:
                return item_text(item)
            if isinstance(item, dict) and field in item:
                return item_text(item[field])
            return ""
        return match.group(0)

    return _PLACEHOLDER.sub(one, text)


def has_placeholder(value: Any) -> bool:
    """Whether ``value`` (a ``with`` value: text, or lists and mappings of them) holds a ``${{ … }}``."""
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, list):
        return any(has_placeholder(v) for v in value)
    if isinstance(value, dict):
        return any(has_placeholder(v) for v in value.values())
    return False


def substitute_value(value: Any, matrix: Mapping[str, Any] | None, item: Any, has_item: bool) -> Any:
    """``substitute`` in every text of a ``with`` value (inside lists and mappings too, keys left alone); a
    value is substituted as text, so ``"${{ matrix.n }}"`` gives ``"3"``, never ``3``."""
    if isinstance(value, str):
        return substitute(value, matrix, item, has_item)
    if isinstance(value, list):
        return [substitute_value(v, matrix, item, has_item) for v in value]
    if isinstance(value, dict):
        return {k: substitute_value(v, matrix, item, has_item) for k, v in value.items()}
    return value


def source_of(text: str) -> Source | None:
    """``steps.X.outputs.K`` (the whole expression) as a source; ``None`` for anything else."""
    # start-up: the condition language only for steps with a foreach expression
    from pipex.model.handwritten.condition import ConditionSyntaxError, parse
    from pipex.model.handwritten.condition_ast import Index, Literal, Member

    try:
        expr = parse(text)
    except ConditionSyntaxError:
        return None
    keys: list[str] = []
    node: Any = expr
    while isinstance(node, Member | Index):
        if isinstance(node, Member):
            keys.append(node.name)
        elif isinstance(node.index, Literal) and isinstance(node.index.value, str):
            keys.append(node.index.value)
        else:
            return None
        node = node.subject
    keys.reverse()
    if getattr(node, "name", None) != "steps" or len(keys) != 3 or keys[1] != "outputs":
        return None
    return Source(keys[0], keys[2])


# -- load-time checks ------------------------------------------------------------------------------------------
def fanout_problems(step: Step, base: str, fanned: Mapping[str, bool], outer: Outer = NO_OUTER) -> list[Problem]:
    """Problems of the step's ``matrix``/``foreach``/``maxParallel``/``failFast`` and of the names it
    substitutes. ``fanned``: step id → whether that step fans out (for ``foreach: {step: X}``); ``outer``: the
    names a fanned sub-pipeline gives this file's steps."""
    problems: list[Problem] = []
    matrix, foreach = step.matrix, step.foreach
    if matrix is None and foreach is None and step.max_parallel is None:
        return problems  # the common case, once per step: `${{ … }}` means something only in a fan-out step
    if matrix is not None and foreach is not None:
        problems.append(Problem(f"{base}.foreach", 'a step has "matrix" or "foreach", not both'))
        return problems
    inputs = {i.step for i in step.inputs}
    if matrix is not None:
        if not matrix:
            problems.append(Problem(f"{base}.matrix", "must name at least one value list"))
        for name, values in matrix.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", name):
                problems.append(Problem(f"{base}.matrix", f"{quote(name[:40])} is not a valid matrix name"))
            if not values:
                problems.append(Problem(f"{base}.matrix.{name}", "must not be empty: give at least one value"))
            elif len({canonical(v) for v in values}) < len(values):
                problems.append(Problem(f"{base}.matrix.{name}", "lists a value twice"))
        total = size_of(matrix)
        if total > MAX_INSTANCES:
            problems.append(
                Problem(f"{base}.matrix", f"makes {total:,} instances, at most {MAX_INSTANCES:,}", "split the step")
            )
    elif isinstance(foreach, str):
        source = source_of(foreach)
        if source is None:
            problems.append(Problem(f"{base}.foreach", 'expected "steps.<id>.outputs.<key>", a list, or {step: <id>}'))
        elif source.step not in inputs:
            problems.append(
                Problem(
                    f"{base}.foreach",
                    f"reads step {quote(source.step)}, which is not an input of this step",
                    f'add {{step: {source.step}}} to "inputs"',
                )
            )
    elif isinstance(foreach, list):
        if not foreach:
            problems.append(Problem(f"{base}.foreach", "must not be empty: give at least one item"))
        elif len(foreach) > MAX_INSTANCES:
            problems.append(Problem(f"{base}.foreach", f"lists {len(foreach):,} items, at most {MAX_INSTANCES:,}"))
        elif len({canonical(v) for v in foreach}) < len(foreach):
            problems.append(Problem(f"{base}.foreach", "lists an item twice (each item is one instance)"))
    elif isinstance(foreach, ForeachStep):
        if foreach.step not in inputs:
            problems.append(
                Problem(
                    f"{base}.foreach.step",
                    f"{quote(foreach.step)} is not an input of this step",
                    f'add {{step: {foreach.step}}} to "inputs"',
                )
            )
        elif not fanned.get(foreach.step, False):
            problems.append(Problem(f"{base}.foreach.step", f"step {quote(foreach.step)} has no matrix or foreach"))
    if step.max_parallel is not None:
        if step.max_parallel < 1:
            problems.append(Problem(f"{base}.maxParallel", "must be at least 1"))
        if matrix is None and foreach is None:
            problems.append(Problem(f"{base}.maxParallel", 'only means something with "matrix" or "foreach"'))
    problems += placeholder_problems(step, base, outer)
    return problems


def _texts(step: Step, base: str) -> list[tuple[str, str]]:
    found = [(f"{base}.cmd[{n}]", arg) for n, arg in enumerate(step.cmd or [])]
    found += [(f"{base}.env.{k}", v) for k, v in step.env.items()]
    for key, value in step.with_.items():
        found += _with_texts(f"{base}.with.{key}", value)
    if step.name is not None:
        found.append((f"{base}.name", step.name))
    return found


def _with_texts(where: str, value: Any) -> list[tuple[str, str]]:
    """The texts of one ``with`` value, each with its location (``with.args[1]``, ``with.opts.region``)."""
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, list):
        return [found for n, v in enumerate(value) for found in _with_texts(f"{where}[{n}]", v)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _with_texts(f"{where}.{k}", v)]
    return []


def placeholder_problems(step: Step, base: str, outer: Outer = NO_OUTER) -> list[Problem]:
    """Every ``${{ … }}`` of the step names something it has: its own matrix names or item, or those of the
    fanned sub-pipeline(s) around its file (``outer``)."""
    problems: list[Problem] = []
    own = set(step.matrix or ())
    names = list(step.matrix or ()) + sorted(outer.matrix - own)
    around = " or ".join(f'"{by}"' for by in outer.by)
    for where, text in _texts(step, base):
        if "${{" not in text:
            continue
        for match in _PLACEHOLDER.finditer(text):
            inner = match.group(1)
            found = _NAME.match(inner)
            shown = "${{ " + inner + " }}"
            if outer:  # in a sub-pipeline's file, reported at the parent's step: say which step of the file
                shown = f'step "{step.id}": {shown}'
            if found is None:
                problems.append(Problem(where, f"{shown}: only matrix.NAME, item and item.FIELD are substituted"))
                continue
            kind, field = found.groups()
            if kind == "matrix":
                if field is not None and (field in own or field in outer.matrix):
                    continue
                if not names:
                    whose = f" (nor has the sub-pipeline step {around})" if outer else ""
                    problems.append(Problem(where, f'{shown}: the step has no "matrix"{whose}'))
                else:
                    problems.append(Problem(where, f"{shown}: unknown matrix name", f"its names: {', '.join(names)}"))
            elif step.foreach is None and not outer.item:
                whose = f" (nor has the sub-pipeline step {around})" if outer else ""
                problems.append(Problem(where, f'{shown}: the step has no "foreach"{whose}'))
    return problems
