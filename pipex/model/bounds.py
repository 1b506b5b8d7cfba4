"""Limits a pipeline file must respect, checked when it is read: what would otherwise fail later, deep inside
Python, the filesystem or the engine (a recursion error, a name the filesystem refuses, a timer that overflows,
an argument the kernel cannot pass) is a one-line validation error with its location instead.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from pipex.errors import Problem

MAX_FILE_BYTES = 64 * 1024 * 1024  # a pipeline of 100,000 steps is ~25 MB
MAX_DEPTH = 64  # nesting of mappings and lists; a real pipeline uses < 10, Python's parsers break near 1,000
# Linux's MAX_ARG_STRLEN (128 KiB, with its NUL): no command-line argument or environment entry may be longer.
MAX_STRING_BYTES = 128 * 1024 - 1
MAX_ID = 128  # ids and cache names become file and container names
MAX_NAME = 1024  # display names
MAX_COMPONENT_BYTES = 255  # NAME_MAX: one path component
MAX_PATH_BYTES = 4095  # PATH_MAX, with its NUL
MAX_TIMEOUT_SEC = 365 * 24 * 3600
MAX_RETRIES = 1000
MAX_RETRY_DELAY_MS = 24 * 3600 * 1000
MAX_CPUS = 4096
MAX_PIDS = 4_194_304  # the kernel's largest pid_max
MAX_MEMORY_BYTES = 2**62

_DIGITS = re.compile(r"[0-9]{1000,}")
_BRACKETS = re.compile(r"[\[\]{}]")


def flow_too_deep(text: str) -> tuple[int, int] | None:
    """Where ``[``/``{`` nesting first goes past ``MAX_DEPTH`` (line, column; 1-based), else ``None``.

    Checked before parsing, because parsers disagree on deep nesting: libyaml stops at 1,000 levels with its own
    message, PyYAML's pure-Python parser and Python 3.11's json recurse until the stack runs out, Python 3.13's json
    does not. Brackets inside quoted strings count too: only a file nested past 64 levels (or with more than 64
    unclosed brackets in its strings, which no pipeline has) is refused here.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # the common case: not even enough brackets
        return None
    depth = 0
    for found in _BRACKETS.finditer(text):
        if found.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                at = found.start()
                return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        elif depth:
            depth -= 1
    return None


def structure_problems(data: Any) -> list[Problem]:
    """Nesting deeper than ``MAX_DEPTH``, strings holding NUL bytes or longer than the kernel passes (keys are
    checked where they are used: an unknown field, a variable name).

    One walk without recursion (the data may be nested a thousand levels); locations are built only for
    problems, so the walk over a 100,000-step file stays cheap.
    """
    if _clean(data):
        return []
    problems: list[Problem] = []
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(data, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                problems.append(Problem(_where(path), f"nested more than {MAX_DEPTH} levels deep"))
                continue
            stack.extend((item, depth + 1, (*path, str(key))) for key, item in value.items())
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                problems.append(Problem(_where(path), f"nested more than {MAX_DEPTH} levels deep"))
                continue
            stack.extend((item, depth + 1, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, str) and (message := string_problem(value)):
            problems.append(Problem(_where(path), message))
    problems.reverse()  # the stack walked the file backwards
    return problems


def string_problem(value: str) -> str | None:
    """Why a string cannot be passed on (NUL byte, too long), or ``None``."""
    if "\x00" in value:
        return "contains a NUL byte, which no file name, argument or variable can hold"
    if len(value) > MAX_STRING_BYTES // 4 and len(value.encode("utf-8", "surrogatepass")) > MAX_STRING_BYTES:
        size = len(value.encode("utf-8", "surrogatepass"))
        return f"is too long: {size:,} bytes, at most {MAX_STRING_BYTES:,} (the longest argument Linux passes)"
    return None


def clean(data: Any) -> bool:
    """Whether ``structure_problems`` finds nothing; also walks pydantic models (their fields), so a pipeline
    built in Python is checked without dumping it (``structure_problems`` of the dump then locates problems)."""
    return _clean(data)


def _clean(data: Any) -> bool:
    """The fast path: no problem anywhere (no location bookkeeping)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, BaseModel):
            stack.append((vars(value), depth))
        elif isinstance(value, dict):
            if depth >= MAX_DEPTH:
                return False
            for item in value.values():
                if isinstance(item, (dict, list, BaseModel)):
                    stack.append((item, depth + 1))
                elif isinstance(item, str) and string_problem(item):
                    return False
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                return False
            for item in value:
                if isinstance(item, (dict, list, BaseModel)):
                    stack.append((item, depth + 1))
                elif isinstance(item, str) and string_problem(item):
                    return False
        elif isinstance(value, str) and string_problem(value):
            return False
    return True


def _where(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path[:12]:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text + ("…" if len(path) > 12 else "")


def path_problem(value: str) -> str | None:
    """A path the filesystem cannot hold: a component over 255 bytes or the whole over 4,095."""
    encoded = value.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_PATH_BYTES:
        return f"is too long for a path: {len(encoded):,} bytes, at most {MAX_PATH_BYTES:,}"
    for part in encoded.split(b"/"):
        if len(part) > MAX_COMPONENT_BYTES:
            shown = part[:20].decode("utf-8", "replace")
            return (
                f'has a name too long for the filesystem: "{shown}…" is {len(part):,} bytes, '
                f"at most {MAX_COMPONENT_BYTES} per file or folder name"
            )
    return None


def length_problem(value: str, most: int) -> str | None:
    if len(value) > most:
        return f"is too long: {len(value):,} characters, at most {most:,}"
    return None


def short_number(value: float) -> str:
    """A number for a message: ``1e+300`` for a huge float, a 1,000-digit integer by its first digits."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return f"{value:g}" if value.is_integer() else str(value)
    text = str(value)
    return f"{text[:6]}… ({len(text):,} digits)" if len(text) > 24 else text


def long_number(text: str) -> tuple[int, int] | None:
    """Line and column (1-based) of the first run of 1,000 digits or more in ``text``, if any."""
    found = _DIGITS.search(text)
    if found is None:
        return None
    line = text.count("\n", 0, found.start()) + 1
    return line, found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
