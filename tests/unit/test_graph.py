"""``pipex.graph.render_graph``: shapes, edges, escaping, overlay, determinism."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipex.graph import edges, render_graph
from pipex.model import load

TRICKY = Path(__file__).resolve().parents[1] / "cli" / "pipelines" / "tricky.yml"


@dataclass(frozen=True)
class In:
    step: str
    copy_to_output: bool = False
    optional: bool = False


@dataclass(frozen=True)
class S:
    id: str
    name: str | None = None
    image: str | None = "alpine:3.20"
    uses: str | None = None
    if_: str | None = None
    inputs: list[In] = field(default_factory=list)


@dataclass(frozen=True)
class P:
    id: str
    steps: list[S]
    name: str | None = None


DIAMOND = P(
    "diamond",
    [
        S("fetch", "Fetch"),
        S("left", uses="shell", image=None, inputs=[In("fetch")]),
        S("right", if_='env.X == "1"', inputs=[In("fetch", copy_to_output=True)]),
        S("join", inputs=[In("right", optional=True), In("left"), In("missing", optional=True)]),
    ],
    name="Diamond",
)


def test_mermaid_shapes_and_edges() -> None:
    assert render_graph(DIAMOND) == (
        "flowchart LR\n"
        '    step_fetch["Fetch"]\n'
        '    step_left(["left"])\n'
        '    step_right{{"right"}}\n'
        '    step_join["join"]\n'
        "    step_fetch --> step_left\n"
        "    step_fetch -->|copy| step_right\n"
        "    step_left --> step_join\n"
        "    step_right -.-> step_join\n"
    )


def test_dot_shapes_and_edges() -> None:
    assert render_graph(DIAMOND, "dot") == (
        'digraph "diamond" {\n'
        '    graph [rankdir=LR, label="Diamond", labelloc=t, fontname="Helvetica"];\n'
        '    node [fontname="Helvetica", style=filled, fillcolor="#ffffff"];\n'
        '    edge [fontname="Helvetica"];\n'
        '    "fetch" [label="Fetch", shape=box];\n'
        '    "left" [label="left", shape=box, style="rounded,filled"];\n'
        '    "right" [label="right", shape=hexagon];\n'
        '    "join" [label="join", shape=box];\n'
        '    "fetch" -> "left";\n'
        '    "fetch" -> "right" [label="copy"];\n'
        '    "left" -> "join";\n'
        '    "right" -> "join" [style=dashed];\n'
        "}\n"
    )


def test_json_document() -> None:
    assert json.loads(render_graph(DIAMOND, "json")) == {
        "id": "diamond",
        "name": "Diamond",
        "nodes": [
            {"id": "fetch", "name": "Fetch", "kind": "image", "image": "alpine:3.20", "if": None},
            {"id": "left", "name": "left", "kind": "kit", "uses": "shell", "if": None},
            {"id": "right", "name": "right", "kind": "image", "image": "alpine:3.20", "if": 'env.X == "1"'},
            {"id": "join", "name": "join", "kind": "image", "image": "alpine:3.20", "if": None},
        ],
        "edges": [
            {"from": "fetch", "to": "left", "optional": False, "copyToOutput": False},
            {"from": "fetch", "to": "right", "optional": False, "copyToOutput": True},
            {"from": "left", "to": "join", "optional": False, "copyToOutput": False},
            {"from": "right", "to": "join", "optional": True, "copyToOutput": False},
        ],
    }


def test_json_keeps_unicode_and_ends_with_newline() -> None:
    text = render_graph(P("u", [S("a", "Étape 🚀")]), "json")
    assert '"name": "Étape 🚀"' in text
    assert text.endswith("}\n")


def test_edges_between_existing_steps_only_sorted_and_unique() -> None:
    pipeline = P("p", [S("a"), S("b"), S("c", inputs=[In("b"), In("a"), In("b"), In("ghost", optional=True)])])
    assert [(e.source, e.target) for e in edges(pipeline)] == [("a", "c"), ("b", "c")]


def test_mermaid_escapes_and_safe_ids() -> None:
    pipeline = P("p", [S("end", 'say "hi" <b>#1</b> & `x`'), S("a-b", "x\ny"), S("a_b")])
    assert render_graph(pipeline).splitlines()[1:] == [
        '    step_end["say #quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt; #amp; #96;x#96;"]',
        '    step_a_b["x y"]',
        '    step_a_b_2["a_b"]',
    ]


def test_dot_escapes() -> None:
    pipeline = P('my "id"', [S("s", 'a "q" \\N & b\nc')])
    lines = render_graph(pipeline, "dot").splitlines()
    assert lines[0] == 'digraph "my \\"id\\"" {'
    assert lines[4] == '    "s" [label="a \\"q\\" \\\\N &amp; b\\nc", shape=box];'


def test_overlay_mermaid() -> None:
    overlay = {"fetch": "cached", "left": "failed", "join": "mystery", "gone": "cached"}
    lines = render_graph(DIAMOND, overlay=overlay).splitlines()
    assert lines[-6:] == [
        "    classDef state_cached fill:#e8eaf6,stroke:#5c6bc0",
        "    classDef state_failed fill:#ffebee,stroke:#e53935",
        "    classDef state_mystery fill:#ffffff,stroke:#616161",
        "    class step_fetch state_cached",
        "    class step_left state_failed",
        "    class step_join state_mystery",
    ]


def test_overlay_dot_and_json() -> None:
    overlay = {"right": "changed"}
    dot = render_graph(DIAMOND, "dot", overlay)
    line = '    "right" [label="right", shape=hexagon, fillcolor="#fff3e0", color="#fb8c00", tooltip="changed"];\n'
    assert line in dot
    nodes = json.loads(render_graph(DIAMOND, "json", overlay))["nodes"]
    assert [node["state"] for node in nodes] == [None, None, "changed", None]


def test_no_overlay_no_state_key() -> None:
    assert all("state" not in node for node in json.loads(render_graph(DIAMOND, "json"))["nodes"])


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match=r"^unknown graph format 'svg'; choose one of mermaid, dot, json$"):
        render_graph(DIAMOND, "svg")


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "json"])
def test_byte_identical_across_loads(fmt: str) -> None:
    first = load(TRICKY).graph(fmt)
    second = render_graph(load(TRICKY), fmt)
    assert first.encode() == second.encode()
    assert render_graph(load(TRICKY), fmt, overlay={"end": "cached"}) != first  # the overlay is drawn


def test_empty_overlay_gives_null_states_in_json() -> None:
    nodes = json.loads(render_graph(DIAMOND, "json", {}))["nodes"]
    assert [node["state"] for node in nodes] == [None, None, None, None]
    assert render_graph(DIAMOND, "mermaid", {}) == render_graph(DIAMOND)


def test_a_fan_out_step_is_one_node_that_says_how_many_instances(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yml").write_text(
        "id: fan\nsteps:\n"
        "  - {id: convert, image: a, cmd: [c], matrix: {region: [eu, us], format: [csv, json, xml]}}\n"
        "  - {id: each, image: a, cmd: [c], foreach: [1, 2]}\n"
        "  - {id: pair, image: a, cmd: [c], inputs: [{step: convert}], foreach: {step: convert}}\n"
    )
    nodes = json.loads(render_graph(load(tmp_path / "pipeline.yml", cwd=tmp_path), "json"))["nodes"]
    assert [n["name"] for n in nodes] == ["convert ×6", "each ×2", "pair ×each convert"]
