"""The run's timeline (a Gantt chart) as inline SVG: one row per step instance, from queued to end.

Each row is a thin bar from the moment the step was ready (its inputs settled) to its end, with its segments
drawn over it: queued (waiting for a slot), pull, setup, run, and for a retried step its failed attempts and
the delays between them. Cached and skipped steps are a tick where they were decided. Rows are sorted by
start, so the critical path reads as a staircase and idle slots as gaps. Linear in the number of segments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from pipex.report import fmt
from pipex.report.data import StepRow

LABEL_W = 190
CHART_W = 1000
AXIS_H = 22
PHASES = ("queued", "pull", "setup", "attempt", "delay", "run")
_NICE = (1, 2, 5)


def row_height(n: int) -> int:
    return 20 if n <= 200 else 14


def ticks(span_ms: int, target: int = 10) -> list[int]:
    """Round tick positions (1, 2 or 5 × 10^k ms apart), about ``target`` of them."""
    step = 1
    while True:
        for nice in _NICE:
            if span_ms / (nice * step) <= target:
                gap = nice * step
                return list(range(0, span_ms + 1, gap))
        step *= 10


def tick_label(ms: int, gap: int) -> str:
    """Sub-second gaps need decimals the terminal's durations do not show (``0.25s``)."""
    if gap >= 1000:
        return fmt.duration(ms)
    decimals = 3 if gap < 10 else 2 if gap < 100 else 1
    return f"{ms / 1000:.{decimals}f}s"


def _order(steps: Sequence[StepRow]) -> list[StepRow]:
    indexed = list(enumerate(steps))
    indexed.sort(key=lambda p: (p[1].ready_ms if p[1].ready_ms is not None else 1 << 62, p[0]))
    return [s for _, s in indexed]


def svg(steps: Sequence[StepRow], span_ms: int) -> str:
    rows = _order(steps)
    rh = row_height(len(rows))
    span = max(span_ms, 1)
    scale = CHART_W / span
    width = LABEL_W + CHART_W + 20
    height = AXIS_H + rh * len(rows) + 4

    def x(ms: int) -> float:
        return round(LABEL_W + min(max(ms, 0), span) * scale, 1)

    out = [
        f'<svg class="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="timeline">'
    ]
    marks = ticks(span)
    gap = marks[1] - marks[0] if len(marks) > 1 else span
    for t in marks:
        out.append(
            f'<line class="tick" x1="{x(t)}" y1="{AXIS_H - 4}" x2="{x(t)}" y2="{height}"/>'
            f'<text class="axis" x="{x(t) + 2}" y="{AXIS_H - 8}">{tick_label(t, gap)}</text>'
        )
    for i, step in enumerate(rows):
        y = AXIS_H + i * rh
        out.append(_row(step, y, rh, x))
    out.append("</svg>")
    return "".join(out)


def _row(step: StepRow, y: int, rh: int, x: Callable[[int], float]) -> str:
    t = step.timings
    title = (
        f"{step.id}: {step.outcome}"
        + (f" ({step.reason})" if step.reason else "")
        + f" — queued {fmt.duration(t.get('queuedMs', 0))}, pull {fmt.duration(t.get('pullingMs', 0))}, "
        f"setup {fmt.duration(t.get('setupMs', 0))}, run {fmt.duration(t.get('runningMs', 0))}"
    )
    label = step.id if len(step.id) <= 26 else step.id[:25] + "…"
    parts = [
        f'<g class="row o-{escape(step.outcome)}" data-step="{escape(step.id)}" data-outcome="{escape(step.outcome)}">',
        f"<title>{escape(title)}</title>",
        f'<text class="label" x="{LABEL_W - 8}" y="{y + rh - 5}">{escape(label)}</text>',
    ]
    mid = y + rh // 2
    if step.ready_ms is not None and step.end_ms is not None and not step.segments:
        # cached or skipped: decided, nothing ran
        cx = x(step.end_ms)
        parts.append(f'<rect class="tickmark" x="{cx - 2}" y="{y + 3}" width="4" height="{rh - 6}"/>')
    elif step.ready_ms is not None:
        end = step.end_ms if step.end_ms is not None else step.ready_ms
        parts.append(f'<line class="span" x1="{x(step.ready_ms)}" y1="{mid}" x2="{x(end)}" y2="{mid}"/>')
    for seg in step.segments:
        if seg.phase not in PHASES:
            continue
        x1, x2 = x(seg.start_ms), x(seg.end_ms)
        w = max(round(x2 - x1, 1), 1.0)
        pad = 5 if seg.phase in ("queued", "delay") else 2
        parts.append(f'<rect class="seg {seg.phase}" x="{x1}" y="{y + pad}" width="{w}" height="{rh - 2 * pad}"/>')
    parts.append("</g>")
    return "".join(parts)
