"""YAML 1.2 core-schema scalars: what a plain (unquoted, untagged) scalar means, and what a tag makes of one.

PyYAML implements YAML 1.1, where ``yes``/``no``/``on``/``off`` are booleans, ``010`` is octal and ``2024-01-01``
is a date; a pipeline written for the original pipex (js-yaml, YAML 1.2) must mean the same here.

Spec: pipeline-format.md, "Files" (YAML 1.2 core-schema meanings). Why not a library: PyYAML's resolvers are
the 1.1 ones (measured: 12 of 18 probe documents read differently, listed in ``yaml12``), and the one 1.2 library,
ruamel.yaml, also keeps 1.1 readings of ``1_000``, ``0b101`` and dates; these four rules are the 1.2 core
schema's own table (YAML 1.2.2, section 10.3.2).
"""

from __future__ import annotations

import math
import re
from typing import Any

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"

# (tag, regex, first characters) as PyYAML's add_implicit_resolver wants them.
CORE_RESOLVERS: tuple[tuple[str, re.Pattern[str], list[str]], ...] = (
    (NULL_TAG, _NULL, ["~", "n", "N", ""]),
    (BOOL_TAG, _BOOL, list("tTfF")),
    (INT_TAG, _INT, list("-+0123456789")),
    (FLOAT_TAG, _FLOAT, list("-+0123456789.")),
)

# The four rules in one pattern, in the same order of precedence: one match instead of up to four.
_CORE = re.compile("|".join(f"(?P<{tag.rsplit(':', 1)[-1]}>{regex.pattern})" for tag, regex, _ in CORE_RESOLVERS))
_TAG_OF_GROUP = {tag.rsplit(":", 1)[-1]: tag for tag, _, _ in CORE_RESOLVERS}

# First characters of plain scalars that may be more than a string ("" is an empty value: null; "<" the merge key).
PLAIN_FIRST = frozenset([*"~nNtTfF-+0123456789.<", ""])
MERGE_KEY: Any = object()  # what a plain ``<<`` is


class ScalarError(ValueError):
    """A tagged scalar that its tag cannot read (``!!int x``), or an unknown tag."""


def plain_scalar(value: str) -> Any:
    """What a plain scalar means: null, a boolean, a number, ``MERGE_KEY`` for ``<<``, else the string."""
    if value[:1] not in PLAIN_FIRST:
        return value  # cannot be a null, bool or number: skip the regex (most scalars)
    if value == "<<":
        return MERGE_KEY
    found = _CORE.match(value)
    if found is None or found.lastgroup is None:
        return value
    return typed_scalar(_TAG_OF_GROUP[found.lastgroup], value)


def typed_scalar(tag: str, value: str) -> Any:
    """``value`` read as ``tag`` demands; ``ScalarError`` (with our message) when it cannot be."""
    if tag == NULL_TAG and _NULL.match(value):
        return None
    if tag == BOOL_TAG and _BOOL.match(value):
        return value.lower() == "true"
    if tag == INT_TAG and _INT.match(value):
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)  # YAML 1.2: a leading zero is still decimal
    if tag == FLOAT_TAG and (_FLOAT.match(value) or _INT.match(value)):
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        return float(int(value, 0) if value.startswith(("0o", "0x")) else value)
    if tag in (NULL_TAG, BOOL_TAG, INT_TAG, FLOAT_TAG):
        raise ScalarError(f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}")
    raise ScalarError(f"unsupported tag {tag}")
