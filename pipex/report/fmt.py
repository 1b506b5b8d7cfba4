"""Small formatting shared by the report's renderers: durations, sizes, outcome symbols."""

from __future__ import annotations

_UNITS = ("KB", "MB", "GB", "TB")

# The symbol of each outcome (the same as the terminal's: ✓ ran, = cached, - skipped, ✗ failed).
SYMBOL = {
    "ran": "✓",
    "cached": "=",
    "skipped": "-",
    "failed": "✗",
    "cancelled": "⊘",
    "waiting": "·",
    "running": "▶",
}
STATUS_SYMBOL = {
    "success": "✓",
    "failed": "✗",
    "timeout": "✗",
    "cancelled": "⊘",
    "interrupted": "⊘",
    "suspended": "⏸",  # approval gates wait
    "running": "▶",
}


def duration(ms: int | None) -> str:
    """``0.4s``, ``12.3s``, ``2m03s``, ``1h02m`` (as the terminal shows them); ``-`` when unknown."""
    return "-" if ms is None else duration_seconds(ms / 1000)


def duration_seconds(seconds: float) -> str:
    """The same from seconds (the terminal's reporters)."""
    seconds = max(seconds, 0.0)
    if round(seconds, 1) < 60:
        return f"{seconds:.1f}s"
    total = round(seconds)
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    total = round(seconds / 60)
    return f"{total // 60}h{total % 60:02d}m"


def size(n: int) -> str:
    """``512 B``, ``3.4 KB``, ``12.0 MB`` (powers of 1024)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1024
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def counts_line(counts: dict[str, int], sep: str = " · ") -> str:
    """``5 ran · 12 cached · 1 skipped`` (+ failed, cancelled, waiting, running when there are any)."""
    parts = [f"{counts.get(k, 0)} {k}" for k in ("ran", "cached", "skipped")]
    parts += [f"{counts[k]} {k}" for k in ("failed", "cancelled", "waiting", "running") if counts.get(k)]
    return sep.join(parts)
