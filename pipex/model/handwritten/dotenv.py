"""dotenv files: ``KEY=VALUE`` lines, as the original pipex (the ``dotenv`` npm package) read them.

Syntax: optional ``export ``, ``#`` comment lines and blank lines, values unquoted (trimmed, ``#`` starts a
comment) or quoted with ``'``, ``"`` or a backtick (may span lines). Inside double quotes only, ``\\n`` and
``\\r`` become a newline and a carriage return; nothing else is unescaped and ``${VAR}`` is never expanded.
The last definition of a key wins. Unlike the npm package, a malformed line is an error with its line number
instead of being skipped silently.

Spec: pipeline-format.md, "Environment" (the dotenv syntax above) and cli.md's ``.env`` paragraph.

Why not a library (measured, ``bench/compare_libraries.py``): python-dotenv 1.2 reads 7 of 16 probe files
differently from that clause: it expands ``${B}`` (unquoted and in double quotes; ``interpolate=False`` turns
that off), unescapes ``\\t`` and ``\\"`` inside double quotes (the spec: only ``\\n``/``\\r``), keeps the
backticks of ``A=`tick``` (no backtick quotes), reads a bare ``A`` as ``A=None`` and skips ``NOT A LINE`` with
a warning on stderr where the spec wants an error with its line number. It is also 50x slower on a
10,000-line file (1,061 ms against 20 ms here).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_EXPORT = re.compile(r"export\s+")
_QUOTES = "'\"`"


class DotenvError(ValueError):
    """A syntax error; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse dotenv text into a mapping; raises ``DotenvError`` (a ``ValueError``) on a malformed line."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    result: dict[str, str] = {}
    pos = 0
    line = 1
    end = len(text)
    while pos < end:
        newline = text.find("\n", pos)
        stop = end if newline == -1 else newline
        stripped = text[pos:stop].strip()
        if not stripped or stripped.startswith("#"):
            pos, line = stop + 1, line + 1
            continue
        key, pos = _read_key(text, pos, stop, line)
        value, pos, used_lines = _read_value(text, pos, line)
        result[key] = value
        line += used_lines + 1
        pos += 1  # past the newline ending the entry
    return result


def _read_key(text: str, pos: int, stop: int, line: int) -> tuple[str, int]:
    """The key of the line starting at ``pos`` and the position just after its ``=``."""
    while text[pos] in " \t":
        pos += 1
    export = _EXPORT.match(text, pos, stop)
    starts = (export.end(), pos) if export else (pos,)  # "export = 1" defines a key named export
    for start in starts:
        match = _KEY.match(text, start, stop)
        if match is None:
            continue
        after = match.end()
        while after < stop and text[after] in " \t":
            after += 1
        if after < stop and text[after] == "=":
            return match.group(), after + 1
    raise DotenvError(line, f"expected KEY=VALUE, got {json.dumps(text[pos:stop].strip(), ensure_ascii=False)}")


def _read_value(text: str, pos: int, line: int) -> tuple[str, int, int]:
    """The value starting at ``pos``; returns it, the position of the line end, and the newlines crossed."""
    end = len(text)
    while pos < end and text[pos] in " \t":
        pos += 1
    if pos < end and text[pos] in _QUOTES:
        return _read_quoted(text, pos, line)
    stop = text.find("\n", pos)
    stop = end if stop == -1 else stop
    raw = text[pos:stop]
    hash_at = raw.find("#")
    if hash_at != -1:
        raw = raw[:hash_at]
    return raw.strip(), stop, 0


def _read_quoted(text: str, pos: int, line: int) -> tuple[str, int, int]:
    quote = text[pos]
    cursor = pos + 1
    end = len(text)
    while True:
        if cursor >= end:
            raise DotenvError(line, f"unterminated {quote} quote: the value never ends")
        char = text[cursor]
        if char == "\\" and cursor + 1 < end and text[cursor + 1] == quote:
            cursor += 2  # an escaped quote does not close the value (and keeps its backslash, as dotenv)
            continue
        if char == quote:
            break
        cursor += 1
    value = text[pos + 1 : cursor]
    crossed = value.count("\n")
    stop = text.find("\n", cursor)
    stop = end if stop == -1 else stop
    rest = text[cursor + 1 : stop].strip()
    if rest and not rest.startswith("#"):
        raise DotenvError(
            line + crossed, f"unexpected text after the closing {quote}: {json.dumps(rest, ensure_ascii=False)}"
        )
    if quote == '"':
        value = value.replace("\\n", "\n").replace("\\r", "\r")
    return value, stop, crossed


def load_dotenv(path: Path) -> dict[str, str]:
    """Read and parse a dotenv file; errors are ``ValueError`` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValueError(f"env file {path} not found") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"env file {path} is not UTF-8 text") from exc
    except OSError as exc:
        raise ValueError(f"cannot read env file {path}: {exc.strerror}") from exc
    try:
        return parse_dotenv(text)
    except DotenvError as exc:
        raise ValueError(f"env file {path}, {exc}") from exc
