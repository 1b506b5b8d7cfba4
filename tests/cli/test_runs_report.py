"""`pipex runs`, `pipex report`, `prune --keep-runs` and `run --report` on workspaces made with the fake runtime."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.cli.wsfixtures import Demo, make_demo

LINE = re.compile(r"^(\d{8}T\d{9}Z-[0-9a-f]{8})  (.) (\w+)\s+ (\S+)  (.*)$")


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    """Two recorded runs: the demo's (a ran, b failed), then a forced re-run where both succeed."""
    made = make_demo(tmp_path)
    made.rerun(b={})
    return made


def wd(demo: Demo) -> list[str]:
    return ["--workdir", str(demo.workdir)]


def test_runs_lists_newest_first_one_line_each(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["runs", "demo", *wd(demo)])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2
    newest, oldest = (LINE.match(line) for line in lines)
    assert newest and oldest, lines
    assert newest.group(1) > oldest.group(1)
    assert newest.group(2, 3, 5) == ("✓", "success", "2 ran · 0 cached · 0 skipped")
    assert oldest.group(2, 3, 5) == ("✗", "failed", "1 ran · 0 cached · 0 skipped · 1 failed")
    assert re.fullmatch(r"\d+\.\ds", newest.group(4))


def test_runs_json_and_limit(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["runs", "demo", "--json", "--limit", "1", *wd(demo)])
    [only] = json.loads(res.stdout)
    assert set(only) == {"runId", "pipeline", "status", "startedAt", "durationMs", "counts", "failureKind", "error"}
    assert only["status"] == "success" and only["pipeline"] == "demo" and only["counts"]["ran"] == 2


def test_runs_of_a_workspace_without_records(invoke: Invoke, demo: Demo) -> None:
    (demo.ws / "pipeline-runs").rename(demo.ws / "elsewhere")
    res = invoke(["runs", "demo", *wd(demo)])
    assert res.exit_code == 0 and res.stdout == ""
    assert res.stderr == 'no recorded runs in workspace "demo"\n'


def test_runs_of_a_missing_workspace_fails_with_a_hint(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["runs", "nope", *wd(demo)])
    assert res.exit_code == 1
    assert res.stderr.startswith(f'error: workspace "nope" does not exist in {demo.workdir}')


def test_report_writes_report_html_by_default(invoke: Invoke, demo: Demo, workdir: Path) -> None:
    res = invoke(["report", "demo", *wd(demo)])
    assert res.exit_code == 0, res.stderr
    page = (workdir / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'data-status="success"' in page
    assert re.fullmatch(r"report written to report\.html \(\d+\.\d KB\)\n", res.stderr)


def test_report_of_an_earlier_run_as_tsv_on_stdout(invoke: Invoke, demo: Demo) -> None:
    oldest = json.loads(invoke(["runs", "demo", "--json", *wd(demo)]).stdout)[-1]["runId"]
    res = invoke(["report", "demo", "--run", oldest, "--format", "tsv", *wd(demo)])
    assert res.exit_code == 0, res.stderr
    rows = [line.split("\t") for line in res.stdout.splitlines()]
    assert rows[0][:4] == ["step", "name", "group", "outcome"]
    assert [r[:4] for r in rows[1:]] == [["a", "a", "-", "ran"], ["b", "b", "-", "failed"]]


def test_report_json_to_a_file_quietly(invoke: Invoke, demo: Demo, workdir: Path) -> None:
    res = invoke(["-q", "report", "demo", "--format", "json", "-o", "out.json", *wd(demo)])
    assert res.exit_code == 0 and res.stderr == ""
    assert json.loads((workdir / "out.json").read_text())["status"] == "success"


def test_report_errors_are_one_line_with_a_fix(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["report", "demo", "--format", "pdf", *wd(demo)])
    assert res.exit_code == 2
    assert res.stderr == 'error: unknown report format "pdf"\nhint: use html, json or tsv\n'
    res = invoke(["report", "demo", "--run", "20261204T101500123Z-1a2b3c4d", *wd(demo)])
    assert res.exit_code == 1
    assert res.stderr == (
        'error: pipeline run "20261204T101500123Z-1a2b3c4d" is not recorded in workspace "demo"\n'
        "hint: `pipex runs demo` lists the recorded runs\n"
    )


def test_prune_keep_runs_trims_the_records(invoke: Invoke, demo: Demo) -> None:
    newest = json.loads(invoke(["runs", "demo", "--json", *wd(demo)]).stdout)[0]["runId"]
    res = invoke(["prune", "demo", "--keep-runs", "1", "--json", *wd(demo)])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert len(data["records"]) == 1 and data["records"][0] < newest
    assert [r["runId"] for r in json.loads(invoke(["runs", "demo", "--json", *wd(demo)]).stdout)] == [newest]
    res = invoke(["prune", "demo", "--keep-runs", "0", *wd(demo)])
    assert res.stdout.startswith("pruned 1 run record (")


def test_run_report_refuses_a_dry_run(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["run", str(demo.project), "--dry-run", "--report", "r.html", *wd(demo)])
    assert res.exit_code == 2
    assert res.stderr == ("error: --report: a dry run records nothing\nhint: after a run: pipex report WS -o FILE\n")


def test_report_json_flag_is_the_json_format_on_stdout(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["--json", "report", "demo", *wd(demo)])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["reportVersion"] == 1 and [s["id"] for s in data["steps"]] == ["a", "b"]
