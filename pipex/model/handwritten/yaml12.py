"""Reading YAML with YAML 1.2 core-schema meanings, and JSON, into plain Python data.

Spec: pipeline-format.md, "Files": YAML is read with YAML 1.2 core-schema meanings (only ``true``/``false``
are booleans), duplicate keys are an error, one document per file.

PyYAML implements YAML 1.1, where ``yes``/``no``/``on``/``off`` are booleans, ``010`` is octal and
``2024-01-01`` is a date. A pipeline written for the original pipex (js-yaml, YAML 1.2) must mean the same
here, so only PyYAML's parser is used (libyaml when available) and the data is built from its events with the
1.2 core-schema rules. Duplicate keys are refused (PyYAML keeps the last one silently), and so is more than
one document. Merge keys (``<<: *defaults``) stay supported: js-yaml
accepts them too and they are how people share settings between steps.

Why not a library (measured, ``bench/compare_libraries.py``):

* PyYAML's ``SafeLoader`` (1.1) reads 12 of 18 probe documents differently: ``on: push`` → ``{True: "push"}``,
  ``yes``/``off`` → booleans, ``010`` → 8, ``0o17`` → the string ``"0o17"``, ``1e3`` → a string,
  ``12:30`` → 750, ``1_000`` → 1000, ``0b101`` → 5, ``2024-01-01`` → a date, ``a: =`` → ``ConstructorError``,
  and ``a: 1`` then ``a: 2`` → ``{"a": 2}`` with no error.
* ruamel.yaml (YAML 1.2) agrees on those but still reads ``1_000``, ``0b101`` and dates the 1.1 way, and is
  slow: the bench's 10,000-step file (2.1 MB) takes 10.4 s of CPU with ruamel.yaml's safe loader, 2.5 s with
  PyYAML's ``CSafeLoader``, 0.34 s with the full builder here and 0.31 s with the fast path (``yaml_plain``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from pipex.model.handwritten.yaml_plain import NotPlain, load_plain
from pipex.model.handwritten.yaml_scalars import (
    CORE_RESOLVERS,
    MERGE_KEY,
    PLAIN_FIRST,
    ScalarError,
    plain_scalar,
    typed_scalar,
)

__all__ = ["CORE_RESOLVERS", "SyntaxProblems", "YamlProblem", "load_json", "load_yaml"]


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A problem in the text itself; ``line`` and ``column`` are 1-based (0 when unknown)."""

    message: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"line {self.line}, column {self.column}: {self.message}"
        return self.message


class SyntaxProblems(ValueError):
    """The text could not be read as data; ``problems`` lists every problem found."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class _Frame:
    """An open mapping or sequence while events are turned into data."""

    __slots__ = ("anchor", "data", "key", "key_mark", "lines", "merges")

    def __init__(self, data: dict[Any, Any] | list[Any], anchor: str | None) -> None:
        self.data = data
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.lines: dict[Any, Any] = {}  # key → the mark where it was first written
        self.merges: list[tuple[Any, yaml.Mark]] = []


_NO_KEY = object()
_MERGE_KEY = MERGE_KEY
_PLAIN_FIRST = PLAIN_FIRST
_SCALAR = yaml.ScalarEvent
_MAP_START, _MAP_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQ_START, _SEQ_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent


def load_yaml(text: str) -> Any:
    """Parse one YAML 1.2 document into plain data; ``None`` for an empty stream. Raises ``SyntaxProblems``.

    Built straight from the parser's events (not PyYAML's composer and constructor): this is several times
    faster on large pipelines and gives us one place for the 1.2 scalar rules and duplicate-key checks. A plain
    document takes the fast path (``yaml_plain``); the rest, and every problem, the full builder below.
    """
    try:
        return load_plain(text)
    except NotPlain:
        pass
    except yaml.MarkedYAMLError as exc:
        raise SyntaxProblems([_marked(exc)]) from exc
    except yaml.YAMLError as exc:
        raise SyntaxProblems([YamlProblem(f"invalid YAML: {exc}")]) from exc
    return _load_full(text)


def _load_full(text: str) -> Any:
    """``load_yaml`` for any document: anchors, aliases, merges, tags, and the exact place of every problem."""
    parser = _Parser(text)
    builder = _Builder()
    next_event = parser.get_event
    feed = builder.feed
    add = builder._add
    stack = builder.stack
    try:
        # The common events (untagged, unanchored strings and collections) are handled inline: this loop
        # runs once per event, hundreds of thousands of times for a large pipeline. The rest go to ``feed``.
        while True:
            event = next_event()
            kind = type(event)
            if kind is _SCALAR:
                if event.tag is not None or event.anchor is not None:
                    feed(event)
                    continue
                value: Any = event.value
                if event.implicit[0] and value[:1] in _PLAIN_FIRST:
                    feed(event)  # maybe a null, bool, number or merge key
                    continue
            elif kind is _MAP_END or kind is _SEQ_END:
                frame = stack[-1]
                if frame.anchor or frame.merges:
                    feed(event)
                    continue
                stack.pop()
                value = frame.data
            elif (kind is _MAP_START or kind is _SEQ_START) and event.tag is None and event.anchor is None:
                stack.append(_Frame({} if kind is _MAP_START else [], None))
                continue
            else:
                if event is None or feed(event):
                    break
                continue
            if not stack:
                builder.root = value
                continue
            parent = stack[-1]
            data = parent.data
            if type(data) is list:
                data.append(value)
                continue
            key = parent.key
            if key is _NO_KEY and type(value) is str:
                parent.key = value
                parent.key_mark = event.start_mark
                continue
            if key is not _NO_KEY and key is not _MERGE_KEY and key not in data:
                data[key] = value
                parent.lines[key] = parent.key_mark
                parent.key = _NO_KEY
                continue
            add(value, event.start_mark)
    except yaml.MarkedYAMLError as exc:
        raise SyntaxProblems([_marked(exc)]) from exc
    except yaml.YAMLError as exc:
        raise SyntaxProblems([YamlProblem(f"invalid YAML: {exc}")]) from exc
    finally:
        parser.dispose()
    if builder.problems:
        raise SyntaxProblems(builder.problems)
    return builder.root


_Parser: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # the C parser is ~10x faster


class _Builder:
    """Turns parser events into dicts, lists and scalars; returns True from ``feed`` at the stream's end."""

    def __init__(self) -> None:
        self.root: Any = None
        self.stack: list[_Frame] = []
        self.anchors: dict[str, Any] = {}
        self.open_anchors: set[str] = set()
        self.documents = 0
        self.problems: list[YamlProblem] = []

    def feed(self, event: Any) -> bool:
        kind = type(event)
        if kind is _SCALAR:
            if event.tag is None and (not event.implicit[0] or event.value[:1] not in _PLAIN_FIRST):
                value: Any = event.value  # the common case: a plain or quoted string
            else:
                value = _scalar(event)
                if value is _MERGE_KEY and not self._expects_key():
                    value = "<<"  # only a key can merge
            if event.anchor:
                self.anchors[event.anchor] = value
            self._add(value, event.start_mark)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            mapping = kind is yaml.MappingStartEvent
            if event.tag is not None:
                _check_tag(event, MAP_TAG if mapping else SEQ_TAG)
            frame = _Frame({} if mapping else [], event.anchor)
            if event.anchor:
                self.anchors[event.anchor] = frame.data
                self.open_anchors.add(event.anchor)
            self.stack.append(frame)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            frame = self.stack.pop()
            if frame.anchor:
                self.open_anchors.discard(frame.anchor)
            if frame.merges:
                self._merge(frame)
            self._add(frame.data, event.start_mark)
        elif kind is yaml.AliasEvent:
            if event.anchor not in self.anchors:
                raise _error(f"unknown alias *{event.anchor} (no &{event.anchor} before it)", event.start_mark)
            if event.anchor in self.open_anchors:
                raise _error(f"alias *{event.anchor} refers to a collection that contains it", event.start_mark)
            self._add(self.anchors[event.anchor], event.start_mark)
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                message = "a pipeline file holds exactly one YAML document; found a second one (---)"
                raise _error(message, event.start_mark)
        elif kind is yaml.StreamEndEvent:
            return True
        return False

    def _expects_key(self) -> bool:
        return bool(self.stack) and type(self.stack[-1].data) is dict and self.stack[-1].key is _NO_KEY

    def _add(self, value: Any, mark: yaml.Mark) -> None:
        stack = self.stack
        if not stack:
            self.root = value
            return
        frame = stack[-1]
        data = frame.data
        if type(data) is list:
            data.append(value)
            return
        key = frame.key
        if key is _NO_KEY:
            if isinstance(value, dict | list):
                raise _error("a mapping key must be a plain value, not a list or a mapping", mark)
            frame.key = value
            frame.key_mark = mark
            return
        frame.key = _NO_KEY
        if key is _MERGE_KEY:
            frame.merges.append((value, mark))
        elif key in data:
            where = f"first defined at line {frame.lines[key].line + 1}"
            line, column = frame.key_mark.line + 1, frame.key_mark.column + 1
            self.problems.append(YamlProblem(f"duplicate key {_show(key)} ({where})", line, column))
        else:
            data[key] = value
            frame.lines[key] = frame.key_mark

    def _merge(self, frame: _Frame) -> None:
        """``<<: *base`` (or a list of them): keys written in the mapping win, then earlier merges."""
        assert isinstance(frame.data, dict)
        merged: dict[Any, Any] = {}
        for value, mark in frame.merges:
            sources = value if isinstance(value, list) else [value]
            for source in sources:
                if not isinstance(source, dict):
                    raise _error("a merge (<<) takes a mapping or a list of mappings", mark)
                for key, item in source.items():
                    if key not in merged and key not in frame.data:
                        merged[key] = item
        merged.update(frame.data)
        frame.data.clear()
        frame.data.update(merged)


MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
STR_TAG = "tag:yaml.org,2002:str"


def _check_tag(event: Any, allowed: str) -> None:
    if event.tag not in (None, "!", allowed):
        raise _error(f"unsupported tag {event.tag}", event.start_mark)


def _scalar(event: Any) -> Any:
    value: str = event.value
    tag = event.tag
    if tag is None:
        if not event.implicit[0]:
            return value  # quoted
        return plain_scalar(value)
    if tag in ("!", STR_TAG):
        return value
    try:
        return typed_scalar(tag, value)
    except ScalarError as exc:
        raise _error(str(exc), event.start_mark) from None


def _error(message: str, mark: yaml.Mark) -> yaml.MarkedYAMLError:
    return yaml.MarkedYAMLError(problem=message, problem_mark=mark)


def _show(key: Any) -> str:
    return json.dumps(key) if isinstance(key, str) else repr(key)


def _marked(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem and "single document" in exc.context:
        what = "a pipeline file holds exactly one YAML document; found a second one (---)"
    elif exc.context and exc.problem:
        what = f"{exc.problem} ({exc.context})"
    if mark is None:
        return YamlProblem(f"invalid YAML: {what}")
    return YamlProblem(f"invalid YAML: {what}", mark.line + 1, mark.column + 1)


def load_json(text: str) -> Any:
    """Parse JSON, refusing duplicate keys. Raises ``SyntaxProblems``."""
    duplicates: list[YamlProblem] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(YamlProblem(f"duplicate key {_show(key)} in a JSON object"))
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise SyntaxProblems([YamlProblem(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)]) from exc
    if duplicates:
        raise SyntaxProblems(duplicates)
    return data
