"""The run's graph as inline SVG: a layered layout, left to right, nodes coloured by outcome.

Linear-ish on purpose (a report of 1,000 step instances must stay fast and small): layers by longest path
(Kahn's algorithm), one barycenter sweep to order each layer, no crossing minimisation beyond that. Step
instances of one ``group`` (fan-out, later) become one node; a layer with more than ``MAX_PER_LAYER`` nodes
shows the first ones and one "+N more" node that the rest's edges go to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from pipex.report.data import StepRow

MAX_PER_LAYER = 40
NODE_W, NODE_H = 168, 30
COL_W, ROW_H = 220, 40
PAD = 12
LABEL_CHARS = 22
# The worst outcome of a group's instances is the group's colour.
_SEVERITY = ("failed", "cancelled", "running", "waiting", "ran", "cached", "skipped")


@dataclass
class Node:
    key: str
    label: str
    steps: list[StepRow] = field(default_factory=list)
    more: bool = False  # the "+N more" node of a crowded layer
    layer: int = 0
    row: int = 0

    @property
    def outcome(self) -> str:
        found = {s.outcome for s in self.steps}
        return next((o for o in _SEVERITY if o in found), "waiting")


def node_key(step: StepRow) -> str:
    """The node a step instance is drawn as: its group's (fan-out instances), else its own."""
    return f"group:{step.group}" if step.group else step.id


def layout(steps: Sequence[StepRow]) -> tuple[list[Node], set[tuple[str, str, bool]]]:
    """Nodes with their layer and row, and the edges (source key, target key, optional) between them."""
    nodes: dict[str, Node] = {}
    for step in steps:
        key = node_key(step)
        node = nodes.get(key)
        if node is None:
            node = nodes[key] = Node(key, step.group or step.id)
        node.steps.append(step)
    by_step = {s.id: node_key(s) for s in steps}
    edges: dict[tuple[str, str], bool] = {}
    for step in steps:
        target = node_key(step)
        for edge in step.inputs:
            source = by_step.get(edge.source)
            if source is not None and source != target:
                edges[(source, target)] = edges.get((source, target), True) and edge.optional
    _layers(nodes, edges)
    shown = _order_and_collapse(nodes, edges)
    visible: set[tuple[str, str, bool]] = set()
    for (a, b), optional in edges.items():
        visible.add((shown[a], shown[b], optional))
    placed = [n for n in nodes.values() if shown[n.key] == n.key]
    return placed, {e for e in visible if e[0] != e[1]}


def _layers(nodes: dict[str, Node], edges: dict[tuple[str, str], bool]) -> None:
    """Longest-path layers (Kahn); a cycle (impossible in a valid pipeline) just stays in layer 0."""
    succ: dict[str, list[str]] = defaultdict(list)
    indeg = dict.fromkeys(nodes, 0)
    for a, b in edges:
        succ[a].append(b)
        indeg[b] += 1
    ready = [k for k in nodes if indeg[k] == 0]
    while ready:
        key = ready.pop()
        for nxt in succ[key]:
            nodes[nxt].layer = max(nodes[nxt].layer, nodes[key].layer + 1)
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)


def _order_and_collapse(nodes: dict[str, Node], edges: dict[tuple[str, str], bool]) -> dict[str, str]:
    """Order each layer by the mean row of its node's parents; map every node to the node it is drawn as."""
    parents: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        parents[b].append(a)
    layers: dict[int, list[Node]] = defaultdict(list)
    for node in nodes.values():  # file order within a layer to start with
        layers[node.layer].append(node)
    shown: dict[str, str] = {}
    for depth in sorted(layers):
        members = layers[depth]
        if depth:
            members.sort(key=_centre(nodes, parents, {n.key: i for i, n in enumerate(members)}))
        for row, node in enumerate(members):
            node.row = min(row, MAX_PER_LAYER)
            shown[node.key] = node.key
        if len(members) > MAX_PER_LAYER:
            more = Node(f"more:{depth}", "", more=True, layer=depth, row=MAX_PER_LAYER)
            for node in members[MAX_PER_LAYER:]:
                more.steps.extend(node.steps)
                shown[node.key] = more.key
            more.label = f"+{len(members) - MAX_PER_LAYER} more"
            nodes[more.key] = more
            shown[more.key] = more.key
    return shown


def _centre(
    nodes: dict[str, Node], parents: dict[str, list[str]], order: dict[str, int]
) -> Callable[[Node], tuple[float, int]]:
    """The sort key of a layer: the mean row of a node's parents, then file order."""

    def key(n: Node) -> tuple[float, int]:
        rows = [nodes[p].row for p in parents[n.key]]
        return (sum(rows) / len(rows) if rows else 0.0, order[n.key])

    return key


def svg(steps: Sequence[StepRow]) -> str:
    """The graph's ``<svg>`` (no XML namespace needed inline in HTML; no URL anywhere)."""
    placed, edges = layout(steps)
    if not placed:
        return '<svg class="graph" width="0" height="0" role="img" aria-label="no steps"></svg>'
    pos = {n.key: (PAD + n.layer * COL_W, PAD + n.row * ROW_H) for n in placed}
    width = PAD * 2 + max(x for x, _ in pos.values()) + NODE_W
    height = PAD * 2 + max(y for _, y in pos.values()) + NODE_H
    out = [
        f'<svg class="graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="pipeline graph">',
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" class="arrowhead"/></marker></defs>',
    ]
    for a, b, optional in sorted(edges):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        x1 += NODE_W
        y1 += NODE_H // 2
        y2 += NODE_H // 2
        dx = max(20, (x2 - x1) // 2)
        dash = " optional" if optional else ""
        out.append(
            f'<path class="edge{dash}" d="M{x1},{y1} C{x1 + dx},{y1} {x2 - dx},{y2} {x2},{y2}" '
            f'marker-end="url(#arrow)"/>'
        )
    for node in placed:
        out.append(_node(node, *pos[node.key]))
    out.append("</svg>")
    return "".join(out)


def _node(node: Node, x: int, y: int) -> str:
    outcome = node.outcome
    label = node.label if len(node.label) <= LABEL_CHARS else node.label[: LABEL_CHARS - 1] + "…"
    if node.more or len(node.steps) > 1:
        counts: dict[str, int] = defaultdict(int)
        for s in node.steps:
            counts[s.outcome] += 1
        detail = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        title = f"{node.label}: {detail}"
        ids = " ".join(s.id for s in node.steps[:200])
        attrs = f'data-steps="{escape(ids)}"'
        shape = "more" if node.more else "group"
    else:
        step = node.steps[0]
        title = f"{step.id}: {outcome}" + (f" ({step.reason})" if step.reason else "")
        if step.name != step.id:
            title = f"{step.name} [{title}]"
        attrs = f'data-step="{escape(step.id)}"'
        shape = "kit" if step.kind == "kit" else "image"
        if step.conditional:
            shape += " conditional"
    rx = 14 if "kit" in shape else 3
    href = f"#step-{node.steps[0].id}" if not node.more and len(node.steps) == 1 else "#steps"
    tag = (
        f'<text class="tag" x="{x + NODE_W - 18}" y="{y + NODE_H // 2 + 4}">if</text>' if "conditional" in shape else ""
    )
    return (
        f'<a href="{escape(href)}">'
        f'<g class="node o-{escape(outcome)} {shape}" {attrs} data-outcome="{escape(outcome)}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{rx}"/>'
        f'<text x="{x + 10}" y="{y + NODE_H // 2 + 4}">{escape(label)}</text>{tag}</g></a>'
    )
