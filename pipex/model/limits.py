"""A step's resource limits as numbers: the one grammar of ``cpus``, ``memory`` and ``pids``.

``pipex validate`` and every run parse with these functions, so a limit that validates is a limit the engine gets
(they used to disagree: ``512MIB`` failed validation yet ran, ``1k`` validated yet was refused at run time).

The memory grammar: a number (``2``, ``1.5``, ``.5``), optional blanks, then an optional unit, case-insensitive:
``b``, or ``k m g t`` (binary: ``1g`` = 1024³ bytes) optionally followed by ``b``, ``i`` or ``ib`` (``512m``,
``2GB``, ``1Gi``, ``512MiB``). At least 6 MiB: engines refuse less.
"""

from __future__ import annotations

import math
import re

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_MEMORY = re.compile(r"(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?:(?P<unit>[kmgt])(?:ib?|b)?|(?P<bytes>b))?", re.IGNORECASE)
MIN_MEMORY = 6 * 1024**2  # engines refuse less than 6 MiB
MEMORY_HINT = 'a number with an optional unit: "512m", "2g", "1GiB"'


def memory_size(text: str) -> int | None:
    """The bytes ``text`` names (surrounding blanks allowed), or ``None`` when it is not a memory size."""
    match = _MEMORY.fullmatch(text.strip())
    if match is None:
        return None
    return int(float(match["number"]) * _UNITS[(match["unit"] or "").lower()])


def parse_cpus(value: object) -> float:
    """CPUs as a float > 0 (``1``, ``1.5``, ``"0.5"``)."""
    if isinstance(value, bool):
        raise ValueError(f"cpus must be a number of CPUs greater than 0, like 1.5 (got {value!r})")
    try:
        cpus = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"cpus must be a number of CPUs greater than 0, like 1.5 (got {value!r})") from None
    if not math.isfinite(cpus) or cpus <= 0:
        raise ValueError(f"cpus must be a number of CPUs greater than 0, like 1.5 (got {value!r})")
    return cpus


def parse_memory(value: object) -> int:
    """Memory in bytes: an int of bytes, or a size string (see ``memory_size``)."""
    example = 'like "512m", "2g" or a number of bytes'
    if isinstance(value, bool):
        raise ValueError(f"memory must be a size {example} (got {value!r})")
    if isinstance(value, int):
        size: int | None = value
    elif isinstance(value, str):
        size = memory_size(value)
    else:
        size = None
    if size is None:
        raise ValueError(f"memory must be a size {example} (got {value!r})")
    if size < MIN_MEMORY:
        raise ValueError(f"memory must be at least 6m, the least an engine accepts (got {value!r})")
    return size


def parse_pids(value: object) -> int:
    """The most processes the container may have: an int > 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"pids must be a whole number greater than 0, like 512 (got {value!r})")
    return value
