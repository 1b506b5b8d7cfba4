"""The ``Reporter`` protocol and the formatting every reporter shares.

A reporter receives a run's events in order (``handle``) and is closed once (``close``), also when the run
ends with an exception, so it can restore the terminal. Output lines are built as ``Line``s — tuples of
``(text, style)`` pieces — so one description serves the plain text of CI logs and the colours of a terminal,
without importing ``rich`` for the plain case.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from pipex.engine.events import Event, LogLines
from pipex.report import fmt

Piece = tuple[str, str]  # (text, style); style "" is unstyled, else space-separated SGR names below
Line = tuple[Piece, ...]

_UNITS = ("KB", "MB", "GB", "TB", "PB")

# The few styles reporters use, as SGR parameters: no rich needed to colour a line.
_SGR = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}
# CSI/OSC escape sequences, then any other C0 control but tab: a container's output must not move the cursor.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROLS = dict.fromkeys([*range(9), *range(10, 32), 127], None)

if TYPE_CHECKING:
    from pipex.engine.options import LogEvents


class Reporter(Protocol):
    """Renders a run's events; ``close`` ends the output (idempotent, also after a ``PipelineEnd``)."""

    @property
    def wants_logs(self) -> LogEvents:
        """Which StepLog events it shows (all, none, or each chunk's last line); the engine leaves out the
        others (they cost per line)."""
        ...

    def handle(self, event: Event) -> None: ...

    def handle_lines(self, lines: LogLines) -> None:
        """The ``StepLog`` events of one chunk, whole (the CLI asks the engine for them so: no object per line);
        the same output as ``handle`` of each of ``lines.events()``."""
        ...

    def close(self) -> None: ...


def human_size(size: int) -> str:
    """``512 B``, ``3.4 KB``, ``12.0 MB`` (powers of 1024, like ``du -h`` and podman)."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """``0.4s``, ``12.3s``, ``2m03s``, ``1h02m`` — the report's wording (one formatter for both)."""
    return fmt.duration_seconds(seconds)


def count(n: int) -> str:
    """``9,812``: thousands separated, so big counts read at a glance."""
    return f"{n:,}"


def sanitize(text: str) -> str:
    """``text`` without escape sequences or control characters (they would corrupt a live terminal view)."""
    if text.isprintable():
        return text
    return _ESCAPES.sub("", text).translate(_CONTROLS)


def plain(line: Line) -> str:
    return "".join(text for text, _ in line)


def ansi(line: Line) -> str:
    """``line`` with SGR colour codes (one reset per styled piece)."""
    out = []
    for text, style in line:
        codes = ";".join(_SGR[name] for name in style.split()) if style and text else ""
        out.append(f"\x1b[{codes}m{text}\x1b[0m" if codes else text)
    return "".join(out)


def render(line: Line, *, color: bool) -> str:
    return ansi(line) if color else plain(line)
