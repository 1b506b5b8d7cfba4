"""Render a pipeline's DAG as Mermaid, Graphviz dot or JSON text.

The output is deterministic, so graphs can be committed and diffed: nodes in file order, edges sorted by
(upstream position, downstream position), no timestamps, no hash-ordered collections. Shapes say the kind
of step: rectangle = image step (``image`` + ``cmd``), rounded = kit step (``uses``), hexagon = conditional
step (``if``, whatever its kind). Optional inputs are dashed edges; ``copyToOutput`` inputs are labelled
``copy``. An optional input naming a step that does not exist has no edge (nothing is mounted for it).

``overlay`` maps step ids to a state (``cached``, ``changed``, ``failed``…), drawn as a colour: a Mermaid
``classDef``/``class`` per state, a dot fill colour, a ``state`` key in JSON.

A sub-pipeline is a subgraph; a fanned one (``etl[eu].extract``, ``etl[us].extract``, …) is drawn once, its
steps by their ids without the keys (``etl.extract``), its label saying how many instances (``etl ×2``), as a
fan-out step is one node with its count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

FORMATS = ("mermaid", "dot", "json")


class _Input(Protocol):
    @property
    def step(self) -> str: ...
    @property
    def copy_to_output(self) -> bool: ...
    @property
    def optional(self) -> bool: ...


class _Step(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def image(self) -> str | None: ...
    @property
    def uses(self) -> str | None: ...
    @property
    def if_(self) -> str | None: ...
    @property
    def inputs(self) -> Sequence[_Input]: ...


class GraphSource(Protocol):
    """What rendering needs of a pipeline (``pipex.model.Pipeline`` satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def steps(self) -> Sequence[_Step]: ...


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    optional: bool
    copy_to_output: bool


# (fill, stroke) per overlay state; other states get the neutral colours.
STATE_COLORS: Mapping[str, tuple[str, str]] = {
    "cached": ("#e8eaf6", "#5c6bc0"),
    "changed": ("#fff3e0", "#fb8c00"),
    "would-run": ("#fff3e0", "#fb8c00"),
    "running": ("#e3f2fd", "#1e88e5"),
    "succeeded": ("#e8f5e9", "#43a047"),
    "failed": ("#ffebee", "#e53935"),
    "skipped": ("#f5f5f5", "#9e9e9e"),
}
_NEUTRAL = ("#ffffff", "#616161")


@dataclass(frozen=True, slots=True)
class _FoldedInput:
    step: str
    copy_to_output: bool
    optional: bool


@dataclass(frozen=True, slots=True)
class _FoldedStep:
    """A step of a fanned sub-pipeline, once for all its instances."""

    id: str
    name: str | None
    image: str | None
    uses: str | None
    if_: str | None
    inputs: tuple[_FoldedInput, ...]
    matrix: Any = None
    foreach: Any = None


@dataclass(frozen=True, slots=True)
class _Folded:
    id: str
    name: str | None
    steps: tuple[_Step, ...]
    instances: Mapping[str, int] = field(default_factory=dict)  # a fanned sub-pipeline → its instances


_KEY = re.compile(r"\[[^\[\]]*\]")  # an instance key (keys never hold brackets)
_PART = re.compile(r"[^.\[\]]+(?:\[[^\[\]]*\])?")  # a part of an id, with its key (which may hold a dot)


def _fold(pipeline: GraphSource) -> GraphSource:
    """The pipeline with each fanned sub-pipeline's instances drawn once (see the module doc)."""
    if not any("[" in step.id for step in pipeline.steps):
        return pipeline
    keys: dict[str, set[str]] = {}
    order: dict[str, _Step] = {}
    names: dict[str, set[str | None]] = {}
    for step in pipeline.steps:
        parts = _PART.findall(step.id)
        for n, part in enumerate(parts[:-1]):
            if part.endswith("]"):
                scope = _KEY.sub("", ".".join(parts[: n + 1]))
                keys.setdefault(scope, set()).add(part[part.rfind("[") + 1 : -1])
        folded = _KEY.sub("", step.id)
        order.setdefault(folded, step)
        names.setdefault(folded, set()).add(step.name)
    steps: list[_Step] = []
    for folded, step in order.items():
        inputs = {_FoldedInput(_KEY.sub("", i.step), i.copy_to_output, i.optional): None for i in step.inputs}
        named = names[folded]
        steps.append(
            _FoldedStep(
                folded,
                next(iter(named)) if len(named) == 1 else None,  # an instance's own name would mislead
                step.image,
                step.uses,
                step.if_,
                tuple(inputs),
                getattr(step, "matrix", None),
                getattr(step, "foreach", None),
            )
        )
    return _Folded(pipeline.id, pipeline.name, tuple(steps), {scope: len(found) for scope, found in keys.items()})


def _scope_label(pipeline: GraphSource, scope: str) -> str:
    count = getattr(pipeline, "instances", {}).get(scope)
    return scope if count is None else f"{scope} ×{count}"


def render_graph(pipeline: GraphSource, fmt: str = "mermaid", overlay: Mapping[str, str] | None = None) -> str:
    """The pipeline's DAG as ``fmt`` (``mermaid``, ``dot`` or ``json``) text ending with a newline."""
    pipeline = _fold(pipeline)
    if fmt == "mermaid":
        return _mermaid(pipeline, overlay)
    if fmt == "dot":
        return _dot(pipeline, overlay)
    if fmt == "json":
        return _json(pipeline, overlay)
    raise ValueError(f"unknown graph format {fmt!r}; choose one of {', '.join(FORMATS)}")


def kind(step: _Step) -> str:
    """``kit`` for a ``uses`` step, ``image`` for a raw one."""
    return "kit" if step.uses is not None else "image"


def edges(pipeline: GraphSource) -> list[Edge]:
    """Every input between existing steps, once, sorted by the file positions of its two ends."""
    position = {step.id: index for index, step in enumerate(pipeline.steps)}
    found = {
        Edge(item.step, step.id, item.optional, item.copy_to_output)
        for step in pipeline.steps
        for item in step.inputs
        if item.step in position
    }
    return sorted(
        found,
        key=lambda e: (position[e.source], position[e.target], e.optional, e.copy_to_output),
    )


def _label(step: _Step) -> str:
    # a sub-pipeline's step: its subgraph says the rest; a fan-out step: one node with its count
    return (step.name or step.id.rpartition(".")[2]) + _fan_out(step)


def scope(step_id: str) -> str:
    """The sub-pipeline a step was inlined from (``etl`` for ``etl.extract``): ``.`` only appears in their ids."""
    return step_id.rpartition(".")[0]


def _nested(steps: Sequence[_Step]) -> list[tuple[str, str, _Step | None]]:
    """The steps in file order, with ``("open", scope)``/``("close", scope)`` around each sub-pipeline's (its
    steps are contiguous: inlined where its ``pipeline:`` step was); ``("node", id, step)`` for a step."""
    out: list[tuple[str, str, _Step | None]] = []
    opened: list[str] = []
    for step in steps:
        parts = step.id.split(".")[:-1]
        shared = 0
        while shared < min(len(parts), len(opened)) and parts[shared] == opened[shared].split(".")[-1]:
            shared += 1
        while len(opened) > shared:
            out.append(("close", opened.pop(), None))
        while len(opened) < len(parts):
            opened.append(".".join(parts[: len(opened) + 1]))
            out.append(("open", opened[-1], None))
        out.append(("node", step.id, step))
    while opened:
        out.append(("close", opened.pop(), None))
    return out


def _fan_out(step: _Step) -> str:
    """A fan-out step is one node: its label says how many instances (`` ×4``), or where they come from."""
    matrix = getattr(step, "matrix", None)
    foreach = getattr(step, "foreach", None)
    if isinstance(matrix, Mapping) and matrix:
        total = 1
        for values in matrix.values():
            total *= len(values)
        return f" ×{total}"
    if isinstance(foreach, list):
        return f" ×{len(foreach)}"
    if isinstance(foreach, str):
        return " ×each of " + foreach
    paired = getattr(foreach, "step", None)
    return f" ×each {paired}" if isinstance(paired, str) else ""


# --- Mermaid -------------------------------------------------------------------------------------------

_MERMAID_ESCAPES = {'"': "#quot;", "#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "`": "#96;"}


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: entity codes for the characters Mermaid interprets."""
    flat = " ".join(text.split())
    return "".join(_MERMAID_ESCAPES.get(char, char) for char in flat)


def _mermaid_ids(steps: Sequence[_Step]) -> dict[str, str]:
    """Node ids Mermaid cannot misread: ``step_`` + the id with ``-`` → ``_`` (made unique if needed)."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for index, step in enumerate(steps):
        candidate = "step_" + re.sub(r"[^A-Za-z0-9_]", "_", step.id)
        if candidate in used:
            candidate = f"{candidate}_{index}"
        used.add(candidate)
        ids[step.id] = candidate
    return ids


def _mermaid(pipeline: GraphSource, overlay: Mapping[str, str] | None) -> str:
    ids = _mermaid_ids(pipeline.steps)
    lines = ["flowchart LR"]
    depth = 1
    for what, name, step in _nested(pipeline.steps):
        if what == "open":
            sub = "scope_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
            lines.append(f'{"    " * depth}subgraph {sub}["{_mermaid_text(_scope_label(pipeline, name))}"]')
            depth += 1
            continue
        if what == "close":
            depth -= 1
            lines.append(f"{'    ' * depth}end")
            continue
        indent = "    " * depth
        assert step is not None
        label = f'"{_mermaid_text(_label(step))}"'
        if step.if_ is not None:
            shape = "{{" + label + "}}"
        elif kind(step) == "kit":
            shape = f"([{label}])"
        else:
            shape = f"[{label}]"
        lines.append(f"{indent}{ids[step.id]}{shape}")
    for edge in edges(pipeline):
        arrow = "-.->" if edge.optional else "-->"
        if edge.copy_to_output:
            arrow += "|copy|"
        lines.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    states = _states(pipeline, overlay)
    for state in sorted(set(states.values())):
        fill, stroke = STATE_COLORS.get(state, _NEUTRAL)
        lines.append(f"    classDef {_css_class(state)} fill:{fill},stroke:{stroke}")
    for step in pipeline.steps:
        if step.id in states:
            lines.append(f"    class {ids[step.id]} {_css_class(states[step.id])}")
    return "\n".join(lines) + "\n"


def _css_class(state: str) -> str:
    return "state_" + re.sub(r"[^A-Za-z0-9_]", "_", state)


# --- Graphviz dot ----------------------------------------------------------------------------------------


_DOT_ESCAPES = {"\\": "\\\\", '"': '\\"', "&": "&amp;", "\n": "\\n", "\r": ""}


def _dot_string(text: str) -> str:
    """A double-quoted dot string. Backslashes are doubled so ``\\N``-style label escapes cannot fire, and
    ``&`` becomes ``&amp;`` because Graphviz decodes HTML entities in every label."""
    return '"' + "".join(_DOT_ESCAPES.get(char, char) for char in text) + '"'


def _dot(pipeline: GraphSource, overlay: Mapping[str, str] | None) -> str:
    states = _states(pipeline, overlay)
    title = _dot_string(pipeline.name or pipeline.id)
    lines = [
        f"digraph {_dot_string(pipeline.id)} {{",
        f'    graph [rankdir=LR, label={title}, labelloc=t, fontname="Helvetica"];',
        '    node [fontname="Helvetica", style=filled, fillcolor="#ffffff"];',
        '    edge [fontname="Helvetica"];',
    ]
    depth = 1
    for what, name, item in _nested(pipeline.steps):
        if what == "open":
            lines.append(f"{'    ' * depth}subgraph {_dot_string('cluster_' + name)} {{")
            lines.append(f"{'    ' * (depth + 1)}label={_dot_string(_scope_label(pipeline, name))};")
            depth += 1
            continue
        if what == "close":
            depth -= 1
            lines.append(f"{'    ' * depth}}}")
            continue
        assert item is not None
        step = item
        attrs = [f"label={_dot_string(_label(step))}"]
        if step.if_ is not None:
            attrs.append("shape=hexagon")
        elif kind(step) == "kit":
            attrs += ["shape=box", 'style="rounded,filled"']
        else:
            attrs.append("shape=box")
        if step.id in states:
            fill, stroke = STATE_COLORS.get(states[step.id], _NEUTRAL)
            attrs += [f'fillcolor="{fill}"', f'color="{stroke}"', f"tooltip={_dot_string(states[step.id])}"]
        lines.append(f"{'    ' * depth}{_dot_string(step.id)} [{', '.join(attrs)}];")
    for edge in edges(pipeline):
        attrs = []
        if edge.optional:
            attrs.append("style=dashed")
        if edge.copy_to_output:
            attrs.append('label="copy"')
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {_dot_string(edge.source)} -> {_dot_string(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- JSON ------------------------------------------------------------------------------------------------


def _json(pipeline: GraphSource, overlay: Mapping[str, str] | None) -> str:
    nodes: list[dict[str, object]] = []
    for step in pipeline.steps:
        node: dict[str, object] = {"id": step.id, "name": _label(step), "kind": kind(step)}
        if step.uses is not None:
            node["uses"] = step.uses
        else:
            node["image"] = step.image
        node["if"] = step.if_
        if scope(step.id):
            node["scope"] = scope(step.id)
        if overlay is not None:
            node["state"] = overlay.get(step.id)
        nodes.append(node)
    document = {
        "id": pipeline.id,
        "name": pipeline.name or pipeline.id,
        "nodes": nodes,
        **({"instances": dict(instances)} if (instances := getattr(pipeline, "instances", None)) else {}),
        "edges": [
            {"from": e.source, "to": e.target, "optional": e.optional, "copyToOutput": e.copy_to_output}
            for e in edges(pipeline)
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _states(pipeline: GraphSource, overlay: Mapping[str, str] | None) -> dict[str, str]:
    """The overlay restricted to the pipeline's steps (a workspace may remember steps since removed)."""
    if not overlay:
        return {}
    return {step.id: overlay[step.id] for step in pipeline.steps if step.id in overlay}
