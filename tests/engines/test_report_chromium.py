"""Reports of real runs, opened in headless Chromium: every step with its outcome, non-empty SVGs, no request.

A pipeline with a retried step, a setup phase, a failure writing hostile bytes, a dependency skip and a
condition skip runs twice on rootful Podman (`pipex run --report`, the CLI end to end): the first report shows
steps that ran, the second the same steps cached. Chromium is driven over the DevTools protocol
(tests/env/chromium.py), which lists every request the page makes; the screenshots are kept under
`.test-env/` (report-screenshot.png, report-screenshot-cached.png). Without `chromium` the tests skip, and
with CI=true they fail (Debian's `chromium` is installed by `tests/env/setup.sh packages`). A detached and a
cancelled run leave their records too (`pipex runs`, `pipex report --format tsv`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engines.test_engine_harness import Driver, engine_params, make_driver
from tests.env import chromium
from tests.env.registry import REPO

SHOTS = REPO / ".test-env"

PIPELINE = r"""
id: report-demo
steps:
  - id: fetch
    image: alpine:3.20
    cmd: [sh, -c, "printf 'city,rain\nBergen,2250\nLima,6\n' > /output/data.csv; sleep 0.4"]
  - id: parse
    image: alpine:3.20
    inputs: [{step: fetch}]
    retries: 1
    retryDelayMs: 300
    caches: [{name: tries, path: /cache}]
    cmd:
      - sh
      - -c
      - >-
        n=$(cat /cache/n 2>/dev/null || echo 0); echo $((n+1)) > /cache/n; echo attempt $n >&2;
        [ $n -ge 1 ] && cp /input/fetch/data.csv /output/ && sleep 0.3
  - id: stats
    image: alpine:3.20
    inputs: [{step: parse}]
    cmd: [sh, -c, "wc -l < /input/parse/data.csv > /output/lines.txt; sleep 0.5"]
  - id: warm-up
    image: alpine:3.20
    setup: {cmd: [sh, -c, "sleep 0.4; echo ready > /tmp/ready"]}
    cmd: [sh, -c, "cat /tmp/ready > /output/state.txt"]
  - id: render
    image: alpine:3.20
    inputs: [{step: parse}, {step: stats}]
    cmd:
      - sh
      - -c
      - >-
        echo rendering; echo '<script>alert(1)</script>' >&2;
        printf '\033[31mno map tiles\033[0m\n' >&2; exit 3
  - id: publish
    image: alpine:3.20
    inputs: [{step: render}]
    cmd: [sh, -c, "echo never"]
  - id: notify
    image: alpine:3.20
    if: env.NOTIFY == '1'
    cmd: [sh, -c, "echo never"]
"""

FIRST = {
    "fetch": "ran",
    "parse": "ran",
    "stats": "ran",
    "warm-up": "ran",
    "render": "failed",
    "publish": "skipped",
    "notify": "skipped",
}
SECOND = {**FIRST, "fetch": "cached", "parse": "cached", "stats": "cached", "warm-up": "cached"}

FACTS = """JSON.stringify({
  js: document.body.classList.contains('js'),
  status: document.body.dataset.status,
  scripts: document.scripts.length,
  rows: [...document.querySelectorAll('#steps tr.step')].map(r => [r.dataset.step, r.dataset.outcome]),
  nodes: [...document.querySelectorAll('svg.graph g.node')].map(g => [g.dataset.step, g.dataset.outcome]),
  bars: [...document.querySelectorAll('svg.timeline g.row')].map(g => [g.dataset.step, g.dataset.outcome]),
  svgs: [...document.querySelectorAll('svg')].map(s => [s.getAttribute('class'), s.getBBox().width,
                                                         s.getBBox().height, s.childElementCount]),
  segments: [...document.querySelectorAll('svg.timeline g.row')].map(g =>
    [g.dataset.step, [...g.querySelectorAll('rect.seg')].map(r => r.classList[1])]),
  tail: (document.querySelector('#tail-render pre') || {}).textContent,
  links: [...document.querySelectorAll('[href],[src]')].map(e => e.getAttribute('href') || e.getAttribute('src')),
})"""


@pytest.fixture(scope="module", params=engine_params(("rootful_podman",)))
def reports(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The two reports: of the first run (steps ran) and of the second (the same steps cached)."""
    if chromium.binary() is None:
        message = "headless Chromium: no `chromium` on PATH (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the report tests must run)", pytrace=False)
        pytest.skip(message)
    with make_driver(request, request.param, tmp_path_factory.mktemp("report")) as driver:
        project = driver.project(PIPELINE, name="project")
        yield run_with_report(driver, project, "first.html"), run_with_report(driver, project, "second.html")


def run_with_report(driver: Driver, project: Path, name: str) -> Path:
    out = driver.base / name
    done = driver.cli(["run", str(project), "--report", str(out)], cwd=project, timeout=300)
    assert done.returncode == 1, done.stderr  # render fails, on purpose
    assert f"report written to {out} (" in done.stderr
    return out


def facts(path: Path, shot: str) -> tuple[dict[str, Any], chromium.Page]:
    with chromium.open_page(path) as page:
        data: dict[str, Any] = json.loads(page.evaluate(FACTS))
        page.screenshot(SHOTS / shot)
    return data, page


def check_page(data: dict[str, Any], page: chromium.Page, path: Path, expected: dict[str, str]) -> None:
    assert data["js"] is True  # the page's own script ran under its CSP (allowed by hash)
    assert data["status"] == "failed"
    assert dict(data["rows"]) == expected and len(data["rows"]) == len(expected)
    assert dict(data["nodes"]) == expected
    assert dict(data["bars"]) == expected
    svgs = {cls: (w, h, n) for cls, w, h, n in data["svgs"]}
    for cls in ("graph", "timeline"):
        width, height, children = svgs[cls]
        assert width > 100 and height > 50 and children >= len(expected), (cls, svgs[cls])
    # No request left the page: the only one is the page itself, and nothing links outside it.
    assert page.requests == [path.absolute().as_uri()]
    assert not [m for m in page.console if "Content Security Policy" in m], page.console
    assert all(link.startswith("#") for link in data["links"]), data["links"]
    # The failure's stderr is shown as text: the hostile line is text, the terminal colours are gone.
    assert data["scripts"] == 1
    assert data["tail"].splitlines() == ["<script>alert(1)</script>", "no map tiles"]


def test_report_of_a_run_that_ran_steps(reports: tuple[Path, Path]) -> None:
    first, _ = reports
    data, page = facts(first, "report-screenshot.png")
    check_page(data, page, first, FIRST)
    segments = dict(data["segments"])
    assert segments["parse"].count("attempt") == 1 and "delay" in segments["parse"]  # retried once
    assert "setup" in segments["warm-up"] and "run" in segments["warm-up"]
    assert "run" in segments["stats"] and segments["notify"] == []
    assert (SHOTS / "report-screenshot.png").stat().st_size > 10_000


def test_report_of_the_same_run_cached(reports: tuple[Path, Path]) -> None:
    _, second = reports
    data, page = facts(second, "report-screenshot-cached.png")
    check_page(data, page, second, SECOND)
    segments = dict(data["segments"])
    assert segments["fetch"] == [] and "run" in segments["render"]


def test_a_report_of_1000_steps_opens_quickly(tmp_path: Path) -> None:
    """No engine needed: a synthetic record of 1,000 step instances, rendered and opened."""
    if chromium.binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("headless Chromium: no `chromium` on PATH (CI=true: the report tests must run)", pytrace=False)
        pytest.skip("headless Chromium: no `chromium` on PATH (apt-get install chromium)")
    from pipex.report import render
    from pipex.workspace.layout import Workspace
    from tests.unit.report.test_report import big_record

    ws = Workspace(tmp_path / "wd", "big")
    page_file = tmp_path / "big.html"
    page_file.write_text(render(ws, big_record(ws)))
    started = time.monotonic()
    with chromium.open_page(page_file) as page:
        loaded = time.monotonic() - started
        data = json.loads(page.evaluate(FACTS))
        page.screenshot(SHOTS / "report-1000-screenshot.png", height=1400)
    assert loaded < 10, loaded  # typically about a second, browser start included
    assert len(data["rows"]) == 1000 and len(data["bars"]) == 1000
    assert 0 < len(data["nodes"]) <= 1000 and data["js"] is True
    assert page.requests == [page_file.as_uri()]


DETACHED = """
id: bg
steps:
  - {id: one, image: alpine:3.20, cmd: [sh, -c, "sleep 0.5; echo one > /output/x"]}
  - {id: two, image: alpine:3.20, inputs: [{step: one}], cmd: [sh, -c, "echo two > /output/y"]}
"""


@pytest.fixture(params=engine_params(("rootful_podman",)))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    with make_driver(request, request.param, tmp_path) as made:
        yield made


def test_detached_and_cancelled_runs_are_recorded_too(driver: Driver) -> None:
    project = driver.project(DETACHED)
    started = driver.cli(["run", "-d", "-w", "bg"], cwd=project)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    assert driver.cli(["attach", "bg"], cwd=project).returncode == 0
    slow = driver.project(DETACHED.replace("sleep 0.5", "sleep 60"))
    assert driver.cli(["run", "-d", "-w", "bg", "--force"], cwd=slow).returncode == 0
    cancelled = driver.cli(["cancel", "bg"], cwd=slow)
    assert cancelled.returncode == 0, cancelled.stderr
    runs = json.loads(driver.cli(["runs", "bg", "--json"], cwd=project).stdout)
    assert [r["status"] for r in runs] == ["cancelled", "success"]
    assert runs[1]["runId"] == run_id and runs[1]["counts"]["ran"] == 2
    assert runs[0]["counts"]["cancelled"] == 2  # one stopped, two never started
    tsv = driver.cli(["report", "bg", "--run", run_id, "--format", "tsv"], cwd=project)
    assert [line.split("\t")[:4] for line in tsv.stdout.splitlines()[1:]] == [
        ["one", "one", "-", "ran"],
        ["two", "two", "-", "ran"],
    ]
