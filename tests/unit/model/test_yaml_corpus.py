"""The fast YAML path (``yaml_plain``) and the full builder (``yaml12._load_full``) read the same corpus the same.

The corpus is every pipeline file in ``tests/`` and ``examples/`` (YAML read both ways; JSON read as JSON and,
JSON being YAML 1.2, by the full builder too) plus documents chosen for the YAML 1.2 rules that differ from 1.1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from pipex.model.bounds import flow_too_deep
from pipex.model.handwritten.yaml12 import SyntaxProblems, _load_full, load_json, load_yaml
from pipex.model.handwritten.yaml_plain import NotPlain, load_plain
from pipex.model.loader import parse_text

REPO = Path(__file__).resolve().parents[3]
FILES = sorted(
    path
    for top in ("tests", "examples")
    for pattern in ("*.yml", "*.yaml", "*.json")
    for path in (REPO / top).rglob(pattern)
    if "__pycache__" not in path.parts
)


def _same(a: Any, b: Any) -> bool:
    """Equal data, with NaN equal to NaN (``.nan`` is a valid 1.2 float)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _outcome(read: Any, text: str) -> tuple[str, Any]:
    try:
        return "data", read(text)
    except SyntaxProblems as exc:
        return "problems", [str(p) for p in exc.problems]
    except (ValueError, RecursionError) as exc:  # beyond the loader's bounds (model/bounds.py checks them first)
        return "refused", type(exc).__name__


def test_the_corpus_is_not_empty() -> None:
    # a moved directory must not silently turn the parametrized test below into nothing
    assert len(FILES) >= 50
    assert any((REPO / "examples") in path.parents for path in FILES)
    assert any(path.suffix == ".json" for path in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_a_pipeline_file_reads_the_same_through_both_paths(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if flow_too_deep(text) is not None:  # refused before either path sees it (parsers disagree that deep)
        with pytest.raises(SyntaxProblems):
            parse_text(text, yaml=path.suffix != ".json")
        return
    full = _outcome(_load_full, text)
    if path.suffix == ".json":
        as_json = _outcome(load_json, text)
        if as_json[0] == "data":  # a JSON document is a YAML 1.2 document with the same data
            assert full[0] == "data"
            assert _same(full[1], as_json[1])
        return
    entry = _outcome(load_yaml, text)
    assert entry[0] == full[0]
    assert _same(entry[1], full[1])
    try:
        fast = load_plain(text)
    except NotPlain:
        return  # anchors, tags, merges, duplicates: only the full builder reads them
    except Exception:  # a syntax error (or a refused value) must also be one for the full builder
        assert full[0] in ("problems", "refused")
        return
    assert full[0] == "data"
    assert _same(fast, full[1])


ANY = object()  # data whose value another test checks

# Documents whose meaning differs between YAML 1.1 (PyYAML) and 1.2, or that stress the builders' bookkeeping.
TRICKY: list[tuple[str, Any]] = [
    ("on: push\noff: [yes, no, y, n]\n", {"on": "push", "off": ["yes", "no", "y", "n"]}),
    ("a: 010\nb: 0o17\nc: 0x1F\nd: 1_000\ne: 0b101\n", {"a": 10, "b": 15, "c": 31, "d": "1_000", "e": "0b101"}),
    ("a: 1e3\nb: .5\nc: -.INF\nd: 3.10\ne: +12\n", {"a": 1000.0, "b": 0.5, "c": -math.inf, "d": 3.1, "e": 12}),
    (
        "a: 12:30\nb: 2024-01-01\nc: 2024-01-01T10:00:00Z\n",
        {"a": "12:30", "b": "2024-01-01", "c": "2024-01-01T10:00:00Z"},
    ),
    ("a: ~\nb: Null\nc:\nd: NULL\ne: nULL\n", {"a": None, "b": None, "c": None, "d": None, "e": "nULL"}),
    ("a: True\nb: FALSE\nc: tRUE\nd: 'true'\n", {"a": True, "b": False, "c": "tRUE", "d": "true"}),
    ("a: =\nb: <\nc: '<<'\n", {"a": "=", "b": "<", "c": "<<"}),
    ("a: .nan\n", {"a": math.nan}),
    ("1: one\n-2: two\n3.5: three\nfalse: f\n~: n\n", {1: "one", -2: "two", 3.5: "three", False: "f", None: "n"}),
    ("a: |\n  line 1\n  line 2\nb: >-\n  folded\n  text\n", {"a": "line 1\nline 2\n", "b": "folded text"}),
    ("a: \"tab\\there\"\nb: 'it''s'\nc: \"\\u00e9\"\n", {"a": "tab\there", "b": "it's", "c": "é"}),
    ("a: {b: [1, {c: d}], e: []}\nf: {}\n", {"a": {"b": [1, {"c": "d"}], "e": []}, "f": {}}),
    ("- - - deep\n  - x\n- y\n", [[["deep"], "x"], "y"]),
    ("base: &b {image: alpine, env: {A: 1}}\nstep:\n  <<: *b\n  image: debian\n", ANY),  # anchors and merges
    ("a: !!str 010\nb: !!int '7'\nc: !!float 1\nd: ! 12\n", {"a": "010", "b": 7, "c": 1.0, "d": "12"}),
    ("---\na: 1\n...\n", {"a": 1}),
    ("", None),
    ("# only a comment\n", None),
    ("a: 1\na: 2\n", "problems"),
    ("a: 1\n---\nb: 2\n", "problems"),
    ("a: *nowhere\n", "problems"),
    ("a: [1, 2\n", "problems"),
]


@pytest.mark.parametrize(("text", "expected"), TRICKY, ids=[repr(t[:24]) for t, _ in TRICKY])
def test_tricky_yaml_1_2_documents(text: str, expected: Any) -> None:
    full = _outcome(_load_full, text)
    entry = _outcome(load_yaml, text)
    assert entry[0] == full[0]
    assert _same(entry[1], full[1])
    if expected == "problems":
        assert full[0] == "problems"
    else:
        assert full[0] == "data"
        assert expected is ANY or _same(full[1], expected)
    try:
        fast = load_plain(text)
    except NotPlain:
        return
    except Exception:  # a syntax error on the fast path is one for the full builder too
        assert full[0] == "problems"
        return
    assert full[0] == "data"
    assert _same(fast, full[1])


def test_merges_through_both_entry_points() -> None:
    text = "base: &b {image: alpine, env: {A: 1}}\nstep:\n  <<: *b\n  image: debian\n"
    with pytest.raises(NotPlain):
        load_plain(text)
    assert load_yaml(text)["step"] == {"image": "debian", "env": {"A": 1}}


def test_json_is_read_the_same_by_both_readers() -> None:
    data = {"id": "p", "steps": [{"id": "a", "n": [1, 2.5, -3e2, True, None, "010", "on"]}]}
    text = json.dumps(data)
    assert load_json(text) == _load_full(text) == load_plain(text) == data
