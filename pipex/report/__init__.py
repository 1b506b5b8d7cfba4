"""Reports of pipeline runs: a self-contained HTML page (summary, graph, timeline, steps), JSON and TSV.

Reads only the workspace (the pipeline-run records and the step runs' logs); never the engine::

    from pipex.report import render
    html = render(workspace, run_id=None, fmt="html")   # the newest run; "json" and "tsv" too
"""

from __future__ import annotations

from typing import Literal

from pipex.errors import UsageError
from pipex.workspace.layout import Workspace

Format = Literal["html", "json", "tsv"]
FORMATS: tuple[Format, ...] = ("html", "json", "tsv")


def check_format(fmt: str) -> Format:
    for known in FORMATS:
        if fmt == known:
            return known
    raise UsageError(f'unknown report format "{fmt}"', hint="use html, json or tsv")


def render(ws: Workspace, run_id: str | None = None, fmt: str = "html") -> str:
    """The report of a recorded run (``None``: the newest) in ``fmt``."""
    # start-up: `pipex report` loads only the renderer of the format it writes
    from pipex.report import data

    chosen = check_format(fmt)
    run = data.load(ws, run_id)
    if chosen == "html":
        from pipex.report.html import render as html  # start-up: see above

        return html(run)
    from pipex.report import tables  # start-up: see above

    return tables.to_json(run) if chosen == "json" else tables.to_tsv(run)
