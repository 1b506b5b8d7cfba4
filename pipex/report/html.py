"""The HTML report: one self-contained file — no URL, nothing fetched, works offline.

A Content-Security-Policy meta tag forbids every request (``default-src 'none'``) and allows only the page's
own script, by its hash, so even a string that escaped the escaping could not run. Every value from the record
or a log passes through ``html.escape``. The only script filters the steps table; the page works without it.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from pipex.report import fmt, graph, timeline
from pipex.report.data import RunData, StepRow

SCRIPT = """
(function () {
  var rows = document.querySelectorAll('#steps tbody tr.step');
  var shown = {};
  var query = document.getElementById('filter');
  function apply() {
    var q = query.value.toLowerCase();
    rows.forEach(function (r) {
      var ok = (shown[r.dataset.outcome] !== false) && (!q || r.dataset.step.toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      var tail = document.getElementById('tail-' + r.dataset.step);
      if (tail) { tail.hidden = !ok; }
    });
  }
  document.querySelectorAll('button.chip').forEach(function (b) {
    b.addEventListener('click', function () {
      var o = b.dataset.outcome;
      shown[o] = shown[o] === false;
      b.classList.toggle('off', shown[o] === false);
      apply();
    });
  });
  query.addEventListener('input', apply);
  document.body.classList.add('js');
})();
""".strip()

STYLE = """
:root { --ran:#2e7d32; --cached:#1565c0; --skipped:#9e9e9e; --failed:#c62828; --cancelled:#ef6c00;
  --waiting:#bdbdbd; --running:#f9a825; --ink:#212121; --muted:#666; --line:#e0e0e0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 20px; margin: 4px 0 12px; } h2 { font-size: 16px; margin: 28px 0 8px; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600; }
.s-success { background: var(--ran); } .s-failed, .s-timeout { background: var(--failed); }
.s-cancelled, .s-interrupted { background: var(--cancelled); } .s-running { background: var(--running); }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.summary dt { color: var(--muted); } dl.summary dd { margin: 0; overflow-wrap: anywhere; }
.failure { border-left: 4px solid var(--failed); background: #fdecea; padding: 8px 12px; margin: 12px 0; }
.scroll { overflow: auto; border: 1px solid var(--line); border-radius: 6px; max-height: 75vh; background: #fafafa; }
.legend span { display: inline-block; margin-right: 14px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px;
  margin-right: 4px; }
.o-ran { --c: var(--ran); } .o-cached { --c: var(--cached); } .o-skipped { --c: var(--skipped); }
.o-failed { --c: var(--failed); } .o-cancelled { --c: var(--cancelled); } .o-waiting { --c: var(--waiting); }
.o-running { --c: var(--running); }
.legend i.o-ran, .legend i.o-cached, .legend i.o-skipped, .legend i.o-failed, .legend i.o-cancelled,
.legend i.o-waiting, .legend i.o-running { background: var(--c); }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
.graph .node rect { fill: #fff; stroke: var(--c); stroke-width: 2; }
.graph .node.o-failed rect { fill: #fdecea; } .graph .node.o-ran rect { fill: #edf7ed; }
.graph .node.o-cached rect { fill: #e8f0fb; } .graph .node.o-skipped rect { fill: #f5f5f5; stroke-dasharray: 4 3; }
.graph .node.conditional rect { stroke-dasharray: 6 3; } .graph .node.more rect { fill: #eee; stroke-dasharray: 2 2; }
.graph .node.group rect { stroke-width: 4; } .graph .tag { fill: var(--muted); font-style: italic; }
.graph .edge { fill: none; stroke: #90a4ae; stroke-width: 1.4; } .graph .edge.optional { stroke-dasharray: 5 4; }
.graph .arrowhead { fill: #90a4ae; }
.timeline .label { text-anchor: end; font-size: 11px; } .timeline .axis { fill: var(--muted); font-size: 10px; }
.timeline .tick { stroke: #eceff1; } .timeline .span { stroke: var(--c); stroke-width: 1; opacity: .6; }
.timeline .seg.run { fill: var(--c); } .timeline .seg.queued { fill: #cfd8dc; }
.timeline .seg.pull { fill: #7e57c2; } .timeline .seg.setup { fill: #26a69a; }
.timeline .seg.attempt { fill: #e57373; } .timeline .seg.delay { fill: #eeeeee; stroke: #bdbdbd; }
.timeline .tickmark { fill: var(--c); }
.timeline .row:hover .label { font-weight: 700; }
i.seg-queued { background: #cfd8dc; } i.seg-pull { background: #7e57c2; } i.seg-setup { background: #26a69a; }
i.seg-attempt { background: #e57373; } i.seg-delay { background: #eee; border: 1px solid #bdbdbd; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f5f5f5; border-bottom: 1px solid var(--line); }
tbody tr.step { border-top: 1px solid var(--line); } td.num { text-align: right; white-space: nowrap; }
td.outcome { white-space: nowrap; font-weight: 600; color: var(--c); }
tr.tail td { padding-top: 0; } td code { overflow-wrap: normal; }
pre.tail { margin: 0 0 6px; padding: 6px 8px; background: #263238; color: #eceff1;
  border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto; }
.controls { margin: 6px 0; display: none; } body.js .controls { display: block; }
button.chip { border: 1px solid var(--c); background: #fff; color: var(--c); border-radius: 12px; padding: 1px 10px;
  margin-right: 4px; cursor: pointer; font: inherit; } button.chip.off { opacity: .35; }
input#filter { padding: 3px 8px; border: 1px solid #bbb; border-radius: 4px; margin-left: 8px; width: 220px; }
.muted { color: var(--muted); } .yes { color: var(--ran); } .no { color: var(--failed); }
""".strip()


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


CSP = (
    f"default-src 'none'; style-src 'unsafe-inline'; script-src '{_hash(SCRIPT)}'; base-uri 'none'; form-action 'none'"
)


def render(run: RunData) -> str:
    title = f"pipex run {run.run_id} · {run.pipeline_id}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style></head>",
        f'<body data-run="{escape(run.run_id)}" data-status="{escape(run.status)}">',
        _summary(run),
        _graph(run),
        _timeline(run),
        _table(run),
        f'<p class="muted">Generated by pipex {escape(run.pipex_version)} from the record '
        f"<code>{escape(run.workspace)}/pipeline-runs/{escape(run.run_id)}.json</code>.</p>",
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(run: RunData) -> str:
    symbol = fmt.STATUS_SYMBOL.get(run.status, "?")
    rows = [
        ("Pipeline", f"{escape(run.pipeline_id)}" + (f" — {escape(run.pipeline_name)}" if run.pipeline_name else "")),
        ("Workspace", escape(run.workspace)),
        ("Started", escape(run.started_at or "-")),
        ("Duration", escape(fmt.duration(run.duration_ms)) + (" (still running)" if run.live else "")),
        ("Steps", escape(fmt.counts_line(run.counts))),
        ("Peak parallelism", str(run.peak_parallelism)),
        ("Pipeline file", f"<code>{escape(run.pipeline_file or '-')}</code>"),
        ("File digest", f"<code>{escape(run.pipeline_digest or '-')}</code>"),
        ("Reproduce", f"<code>{escape(run.reproduce())}</code>"),
    ]
    failure = ""
    if run.status not in ("success", "running"):
        failed = ", ".join(f'<a href="#step-{escape(s)}">{escape(s)}</a>' for s in run.failed_steps)
        what = escape(run.error or run.status)
        kind = f" ({escape(run.failure_kind)})" if run.failure_kind else ""
        failure = (
            f'<div class="failure" id="failure"><strong>{escape(run.status)}{kind}:</strong> {what}'
            + (f"<br>Failed steps: {failed}" if failed else "")
            + "</div>"
        )
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<header><h1>{symbol} <span class="badge s-{escape(run.status)}" id="status">{escape(run.status)}</span> '
        f'pipex run <span class="mono">{escape(run.run_id)}</span></h1>'
        f'{failure}<dl class="summary">{items}</dl></header>'
    )


def _legend(extra: str = "") -> str:
    items = "".join(f'<span><i class="o-{o}"></i>{o}</span>' for o in fmt.SYMBOL)
    return f'<p class="legend">{items}{extra}</p>'


def _graph(run: RunData) -> str:
    note = ""
    if len(run.steps) > graph.MAX_PER_LAYER:
        note = (
            f'<p class="muted">Layers with more than {graph.MAX_PER_LAYER} steps show the first ones and one '
            "“+N more” node; the table lists every step.</p>"
        )
    return (
        f'<section id="graph-section"><h2>Graph</h2>{_legend()}{note}'
        f'<div class="scroll">{graph.svg(run.steps)}</div></section>'
    )


def _timeline(run: RunData) -> str:
    phases = "".join(
        f'<span><i class="seg-{p}"></i>{label}</span>'
        for p, label in (
            ("queued", "queued"),
            ("pull", "pulling"),
            ("setup", "setup"),
            ("attempt", "failed attempt"),
            ("delay", "retry delay"),
        )
    )
    return (
        '<section id="timeline-section"><h2>Timeline</h2>'
        f'<p class="legend">{phases}<span>run: coloured by outcome</span></p>'
        f'<div class="scroll">{timeline.svg(run.steps, run.span_ms)}</div></section>'
    )


def _limits(step: StepRow) -> str:
    if not step.limits:
        return '<span class="muted">-</span>'
    out = []
    for limit in step.limits:
        if limit.enforced is None:
            mark = ""
        elif limit.enforced:
            mark = ' <span class="yes" title="enforced">✓</span>'
        else:
            why = escape(limit.reason or "not enforced")
            mark = f' <span class="no" title="{why}">✗ not enforced</span>'
        out.append(f"{escape(limit.name)} {escape(limit.value)}{mark}")
    return "<br>".join(out)


def _table(run: RunData) -> str:
    chips = "".join(
        f'<button type="button" class="chip o-{o}" data-outcome="{o}">{fmt.SYMBOL[o]} {o} {run.counts[o]}</button>'
        for o in fmt.SYMBOL
        if run.counts.get(o)
    )
    head = (
        "<tr><th>Step</th><th>Outcome</th><th>Reason</th><th>Duration</th><th>Exit</th><th>Attempts</th>"
        "<th>Size</th><th>Outputs</th><th>Limits</th><th>Logs</th></tr>"
    )
    body = []
    for step in run.steps:
        body.append(_step_row(run, step))
        if step.tail or (step.failed and step.message):
            body.append(_tail_row(step))
    return (
        '<section id="steps-section"><h2>Steps</h2>'
        f'<div class="controls">{chips}<input id="filter" type="search" placeholder="filter steps by id"></div>'
        f'<p class="muted">Log commands take <code>--workdir {escape(run.workdir)}</code> '
        "when that is not your default workdir.</p>"
        f'<div class="scroll"><table id="steps"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table></div>'
        "</section>"
    )


def _step_row(run: RunData, step: StepRow) -> str:
    name = "" if step.name == step.id else f'<br><span class="muted">{escape(step.name)}</span>'
    # The message says it in words ("exited with code 3"); the bare reason ("exit", "dependency") otherwise.
    reason = step.message or step.reason or ""
    ran = step.outcome in ("ran", "failed", "cancelled") and step.started_at is not None
    outputs = ", ".join(f"{escape(k)}={escape(v)}" for k, v in step.outputs.items()) or '<span class="muted">-</span>'
    logs = run.logs_command(step)
    exit_code = "" if step.exit_code is None else str(step.exit_code)
    return (
        f'<tr class="step o-{escape(step.outcome)}" id="step-{escape(step.id)}" data-step="{escape(step.id)}" '
        f'data-outcome="{escape(step.outcome)}">'
        f'<td class="mono">{escape(step.id)}{name}</td>'
        f'<td class="outcome">{fmt.SYMBOL.get(step.outcome, "?")} {escape(step.outcome)}</td>'
        f"<td>{escape(reason)}</td>"
        f'<td class="num">{escape(fmt.duration(step.duration_ms)) if ran else ""}</td>'
        f'<td class="num">{exit_code}</td>'
        f'<td class="num">{step.attempts if step.attempts > 1 else ""}</td>'
        f'<td class="num">{escape(fmt.size(step.artifacts_size)) if step.step_run_id else ""}</td>'
        f"<td>{outputs}</td><td>{_limits(step)}</td>"
        f"<td>{f'<code>{escape(logs)}</code>' if logs else ''}</td></tr>"
    )


def _tail_row(step: StepRow) -> str:
    if step.tail:
        text = "\n".join(step.tail)
        what = f"last {len(step.tail)} lines of {escape(step.tail_stream)}"
    else:
        text = step.message or ""
        what = "message"
    return (
        f'<tr class="tail o-{escape(step.outcome)}" id="tail-{escape(step.id)}"><td></td><td colspan="9">'
        f'<details open><summary class="muted">{what}</summary><pre class="tail">{escape(text)}</pre></details>'
        "</td></tr>"
    )
