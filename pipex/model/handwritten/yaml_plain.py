"""The fast path of reading YAML: plain documents (no anchors, aliases, tags or merges) into data, no bookkeeping.

Most pipeline files are plain, and a large one is hundreds of thousands of parser events: this loop does the
least per event (no line numbers, no per-mapping records). Anything else — an anchor, an alias, a tag, a merge
key, a second document, a duplicate or a non-scalar key — raises ``NotPlain``, and the caller reads the text
again with the full builder (``yaml12``), which knows where every key was written and words every problem.

Spec: pipeline-format.md, "Files" (YAML 1.2 core schema, duplicate keys refused, one document). Why not a
library: no YAML library builds 1.2 core-schema data this fast (measured on the bench's 10,000-step file: 0.31 s
here, 2.5 s PyYAML ``CSafeLoader`` with 1.1 meanings, 10.4 s ruamel.yaml; figures in ``yaml12``'s docstring).
``tests/unit/model/test_yaml_corpus.py`` checks that this path and the full builder give identical data.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipex.model.handwritten.yaml_scalars import MERGE_KEY, PLAIN_FIRST, plain_scalar

_Parser: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # the C parser is ~10x faster
_SCALAR = yaml.ScalarEvent
_MAP_START, _MAP_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQ_START, _SEQ_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_STREAM_END, _DOCUMENT_START = yaml.StreamEndEvent, yaml.DocumentStartEvent
_NO_KEY: Any = object()


class NotPlain(Exception):
    """The text needs the full builder (or has a problem only the full builder can locate)."""


def load_plain(text: str) -> Any:
    """The data of a plain YAML document (``None`` for an empty stream). Raises ``NotPlain``, or PyYAML's
    ``YAMLError`` for a syntax error (the full builder would stop at the same place, with the same error)."""
    parser = _Parser(text)
    next_event = parser.get_event
    stack: list[tuple[Any, Any]] = []  # the enclosing collections and their pending keys
    data: Any = None  # the collection being filled (None: the top level)
    key: Any = _NO_KEY  # the key waiting for its value, in a mapping
    root: Any = None
    documents = 0
    try:
        while True:
            event = next_event()
            kind = type(event)
            if kind is _SCALAR:
                if event.anchor is not None or event.tag is not None:
                    raise NotPlain
                value: Any = event.value
                if event.implicit[0] and value[:1] in PLAIN_FIRST:
                    value = plain_scalar(value)
                    if value is MERGE_KEY:
                        raise NotPlain
            elif kind is _MAP_END or kind is _SEQ_END:
                value = data
                data, key = stack.pop()
            elif kind is _MAP_START or kind is _SEQ_START:
                if event.anchor is not None or event.tag is not None:
                    raise NotPlain
                stack.append((data, key))
                data = {} if kind is _MAP_START else []
                key = _NO_KEY
                continue
            elif kind is _STREAM_END:
                return root
            elif kind is _DOCUMENT_START:
                documents += 1
                if documents > 1:
                    raise NotPlain
                continue
            elif kind is yaml.AliasEvent:
                raise NotPlain
            else:
                continue  # stream start, document end
            if data is None:
                root = value
            elif type(data) is list:
                data.append(value)
            elif key is _NO_KEY:
                if type(value) is dict or type(value) is list:
                    raise NotPlain
                key = value
            elif key in data:
                raise NotPlain  # a duplicate: the full builder says where the first one is
            else:
                data[key] = value
                key = _NO_KEY
    finally:
        parser.dispose()
