"""`show`, `logs`, `inspect`, `cat`, `export`, `list`: exact output on real workspaces made with the fake runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke
from tests.cli.wsfixtures import Demo, make_demo


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return make_demo(tmp_path)


def wd(demo: Demo) -> list[str]:
    return ["--workdir", str(demo.workdir)]


def test_show_lists_each_steps_last_run(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["show", "demo", *wd(demo)])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["STEP", "STATUS", "DURATION", "SIZE", "FINISHED", "RUN"]
    a, b = (line.split() for line in lines[1:])
    assert a[:2] == ["a", "success"] and a[3:5] == ["6", "B"] and a[-1] == demo.run_id("a")
    assert b[:2] == ["b", "failure"] and b[3:5] == ["0", "B"] and b[-1] == demo.run_id("b")
    assert len(lines) == 3


def test_show_json_has_numbers_and_last_success(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["--json", "show", "demo", *wd(demo)])
    data = json.loads(res.stdout)
    assert data["inUse"] is False and data["holder"] is None
    a, b = data["steps"]
    assert a["step"] == "a" and a["size"] == 6 and isinstance(a["durationMs"], int)
    assert a["lastSuccess"] == a["runId"] == demo.run_id("a")
    assert a["outputs"] == {"rows": 2}
    assert b == {
        "step": "b",
        "status": "failure",
        "runId": demo.run_id("b"),
        "durationMs": b["durationMs"],
        "size": 0,
        "finishedAt": demo.state()["steps"]["b"]["last"]["finishedAt"],
        "lastSuccess": None,
        "outputs": {},
    }


def test_show_of_an_empty_and_of_a_missing_workspace(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "wd" / "empty").mkdir(parents=True)
    res = invoke(["show", "empty", "--workdir", str(tmp_path / "wd")])
    assert res.stdout == 'no runs yet in workspace "empty"\n'
    assert json.loads(invoke(["show", "empty", "--json", "--workdir", str(tmp_path / "wd")]).stdout)["steps"] == []
    res = invoke(["show", "nope", "--workdir", str(tmp_path / "wd")])
    assert res.exit_code == 1
    assert res.stderr == (
        f'error: workspace "nope" does not exist in {tmp_path / "wd"}\n'
        "hint: `pipex list` shows the workspaces; `--workdir` selects another workdir\n"
    )


def test_logs_streams_and_errors(invoke: Invoke, demo: Demo) -> None:
    assert invoke(["logs", "demo", "a", *wd(demo)]).stdout == "hello\nworld\ncareful\n"
    assert invoke(["logs", "demo", "a", "-s", "stdout", *wd(demo)]).stdout == "hello\nworld\n"
    assert invoke(["logs", "demo", "a", "--stream", "stderr", *wd(demo)]).stdout == "careful\n"
    assert invoke(["logs", "demo", "b", *wd(demo)]).stdout == "boom\n"  # the failed last run
    res = invoke(["logs", "demo", "c", *wd(demo)])
    assert res.exit_code == 1
    assert res.stderr == (
        'error: step "c" has no runs in workspace "demo"\nhint: steps with runs: a, b (`pipex show demo`)\n'
    )
    res = invoke(["logs", "demo", "a", "-s", "all", *wd(demo)])
    assert res.exit_code == 2 and "'all' is not one of 'stdout', 'stderr', 'both'" in res.stderr


def test_logs_json_lines(invoke: Invoke, demo: Demo) -> None:
    res = invoke(["logs", "demo", "a", "--json", *wd(demo)])
    assert (res.exit_code, res.stderr) == (0, "")
    assert [json.loads(line) for line in res.stdout.splitlines()] == [
        {"stream": "stdout", "line": "hello"},
        {"stream": "stdout", "line": "world"},
        {"stream": "stderr", "line": "careful"},
    ]
    res = invoke(["--json", "logs", "demo", "a", "-s", "stderr", *wd(demo)])
    assert res.stdout == '{"stream": "stderr", "line": "careful"}\n'
    res = invoke(["logs", "demo", "a", "--json", "-f", *wd(demo)])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        "error: --follow prints the step's bytes as they come; it has no JSON form",
        "hint: drop --json",
    ]


def test_logs_of_an_earlier_attempt(invoke: Invoke, tmp_path: Path) -> None:
    from pipex.testing import mock, run

    (tmp_path / "pipeline.yml").write_text(
        'id: r\nsteps:\n  - id: s\n    image: alpine:3.20\n    cmd: ["true"]\n    retries: 1\n'
    )
    run(
        tmp_path, mocks=[mock("s", exit_code=1, stdout=["first"]), mock("s", stdout=["second"])], workdir=tmp_path / "w"
    )
    args = ["--workdir", str(tmp_path / "w")]
    assert invoke(["logs", "r", "s", "--attempt", "1", *args]).stdout == "first\n"
    assert invoke(["logs", "r", "s", "--attempt", "2", *args]).stdout == "second\n"
    assert invoke(["logs", "r", "s", *args]).stdout == "second\n"
    res = invoke(["logs", "r", "s", "--attempt", "3", *args])
    assert res.exit_code == 1
    run_id = json.loads((tmp_path / "w" / "r" / "state.json").read_text())["steps"]["s"]["last"]["runId"]
    assert res.stderr == (
        f"error: run {run_id} has no logs of attempt 3\n"
        "hint: earlier attempts kept: attempt-1; the run's own logs are attempt 2 (omit --attempt)\n"
    )


def test_logs_follow_without_a_live_run_prints_the_last_run(invoke: Invoke, demo: Demo) -> None:
    assert invoke(["logs", "demo", "a", "-f", *wd(demo)]).stdout == "hello\nworld\ncareful\n"
    res = invoke(["logs", "demo", "a", "-f", "--attempt", "1", *wd(demo)])
    assert res.exit_code == 2
    assert res.stderr == "error: --follow follows the live run; it cannot be combined with --attempt or --run\n"


def test_inspect_text_and_json(invoke: Invoke, demo: Demo) -> None:
    meta = json.loads((demo.ws / "runs" / demo.run_id("b") / "meta.json").read_text())
    res = invoke(["inspect", "demo", "b", "--json", *wd(demo)])
    assert json.loads(res.stdout) == meta
    text = invoke(["inspect", "demo", "b", *wd(demo)]).stdout
    assert text.splitlines()[:8] == [
        f"runId: {meta['runId']}",
        "stepId: b",
        "stepName: b",
        "status: failure",
        f"reason: {meta['reason']}",
        "message: null" if meta["message"] is None else f"message: {meta['message']}",
        "exitCode: 3",
        "attempt: 1",
    ]
    res = invoke(["inspect", "demo", "b", "--run", demo.run_id("a"), *wd(demo)])
    assert res.exit_code == 2
    assert res.stderr == (
        f'error: run {demo.run_id("a")} belongs to step "a", not "b"\n'
        f"hint: `pipex inspect demo a --run {demo.run_id('a')}`\n"
    )
    assert json.loads(invoke(["inspect", "demo", "a", "--json", *wd(demo)]).stdout)["outputs"] == {"rows": 2}
    assert "outputs:\n  rows: 2\n" in invoke(["inspect", "demo", "a", *wd(demo)]).stdout


def test_cat_lists_and_prints(invoke: Invoke, demo: Demo) -> None:
    assert invoke(["cat", "demo", "a", *wd(demo)]).stdout == "top.txt\nx/\nx/y.txt\n"
    assert invoke(["cat", "demo", "a", "x", *wd(demo)]).stdout == "x/y.txt\n"
    assert invoke(["cat", "demo", "a", "x/y.txt", *wd(demo)]).stdout == "yy"
    assert json.loads(invoke(["cat", "demo", "a", "--json", *wd(demo)]).stdout) == [
        {"path": "top.txt", "type": "file", "size": 4, "target": None},
        {"path": "x", "type": "dir", "size": 0, "target": None},
        {"path": "x/y.txt", "type": "file", "size": 2, "target": None},
    ]
    res = invoke(["cat", "demo", "a", "nothere.txt", *wd(demo)])
    assert res.exit_code == 1
    assert res.stderr == (
        'error: no artifact "nothere.txt"\n'
        "hint: `pipex cat demo a` lists the artifacts; links show as `name -> target`\n"
    )
    res = invoke(["cat", "demo", "b", *wd(demo)])
    assert res.exit_code == 1
    assert res.stderr == (
        f'error: step "b" has no successful run in workspace "demo" (its last run {demo.run_id("b")} ended '
        f"with failure)\nhint: add --run {demo.run_id('b')} to read that run\n"
    )
    assert invoke(["cat", "demo", "b", "--run", demo.run_id("b"), *wd(demo)]).stdout == ""
    assert invoke(["cat", "demo", "b", "--json", "--run", demo.run_id("b"), *wd(demo)]).stdout == "[]\n"


def test_cat_writes_binary_bytes_unchanged(invoke: Invoke, demo: Demo) -> None:
    blob = bytes(range(256)) * 3
    (demo.artifacts("a") / "blob.bin").write_bytes(blob)
    assert invoke(["cat", "demo", "a", "blob.bin", *wd(demo)]).stdout_bytes == blob


def test_export_copies_everything_and_never_overwrites(invoke: Invoke, demo: Demo, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    res = invoke(["export", "demo", "a", str(dest), *wd(demo)])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == f"exported 2 files (6 B) to {dest}\n"
    assert (dest / "top.txt").read_text() == "top\n" and (dest / "x" / "y.txt").read_bytes() == b"yy"
    (dest / "top.txt").write_text("mine")
    res = invoke(["export", "demo", "a", str(dest), *wd(demo)])
    assert res.exit_code == 2
    assert res.stderr == (
        f"error: {dest / 'top.txt'} already exists; nothing was copied\nhint: export into a new or empty directory\n"
    )
    assert (dest / "top.txt").read_text() == "mine"
    res = invoke(["export", "demo", "a", str(tmp_path / "one"), "--path", "x", "--json", *wd(demo)])
    assert json.loads(res.stdout) == {"dest": str(tmp_path / "one"), "files": 1, "bytes": 2, "links": 0, "skipped": []}
    assert (tmp_path / "one" / "y.txt").read_bytes() == b"yy"


def test_list_and_ls(invoke: Invoke, demo: Demo, tmp_path: Path) -> None:
    res = invoke(["list", *wd(demo)])
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["WORKSPACE", "RUNS", "CACHES", "SIZE", "IN", "USE"]
    assert lines[1].split()[:3] == ["demo", "2", "0"] and lines[1].endswith("  -")
    assert invoke(["ls", *wd(demo)]).stdout == res.stdout
    data = json.loads(invoke(["ls", "--json", *wd(demo)]).stdout)
    assert data == [{"name": "demo", "runs": 2, "caches": 0, "size": data[0]["size"], "inUse": False, "holder": None}]
    assert isinstance(data[0]["size"], int) and data[0]["size"] > 7
    empty = tmp_path / "none"
    assert invoke(["list", "--json", "--workdir", str(empty)]).stdout == "[]\n"
    assert invoke(["list", "--workdir", str(empty)]).stdout == f"no workspaces in {empty}\n"


def test_readers_see_a_busy_workspace_and_take_no_lock(invoke: Invoke, demo: Demo) -> None:
    from pipex.workspace.layout import Workspace
    from pipex.workspace.live import mark_staging

    ws = Workspace(demo.workdir, "demo")
    with ws.lock("pipex run"):
        staged = ws.new_staging("20990101T000000000Z-0000beef")
        mark_staging(staged, "b")
        res = invoke(["show", "demo", *wd(demo)])
        assert res.exit_code == 0
        first, *_rows, last = res.stdout.splitlines()
        assert first.startswith('workspace "demo" is in use by pid ') and "(pipex run, started " in first
        assert last.split() == ["b", "running", "-", "-", "-", "20990101T000000000Z-0000beef"]
        assert "a  " in res.stdout
        assert invoke(["cat", "demo", "a", "x/y.txt", *wd(demo)]).stdout == "yy"
        listed = json.loads(invoke(["list", "--json", *wd(demo)]).stdout)
        assert listed[0]["inUse"] is True and listed[0]["holder"]["command"] == "pipex run"


@pytest.mark.parametrize(
    "command", ["show", "logs", "inspect", "cat", "export", "list", "ls", "prune", "rm", "rm-step", "clean"]
)
def test_every_command_has_examples(invoke: Invoke, command: str) -> None:
    res = invoke([command, "--help"])
    assert res.exit_code == 0
    assert "Examples:" in res.stdout and f"pipex {command if command != 'ls' else 'l'}" in res.stdout


def test_graph_overlay_without_an_engine_shows_the_last_runs(invoke: Invoke, demo: Demo, tmp_path: Path) -> None:
    # No engine answers: a dry run cannot tell cached from changed, so the overlay says what the last run did.
    nowhere = f"unix://{tmp_path / 'no-engine.sock'}"
    res = invoke(["--host", nowhere, "graph", str(demo.project), "--format", "json", "--workspace", "demo", *wd(demo)])
    assert res.exit_code == 0, res.stderr
    states = {node["id"]: node.get("state") for node in json.loads(res.stdout)["nodes"]}
    assert states == {"a": "succeeded", "b": "failed"}


FANOUT = """
id: fo
steps:
  - id: convert
    matrix: {region: [eu, us]}
    image: alpine:3.20
    cmd: [convert]
"""


def _fan_out(tmp_path: Path) -> list[str]:
    from pipex.testing import mock, run

    (tmp_path / "pipeline.yml").write_text(FANOUT)
    mocks = [
        mock("convert[eu]", stdout=["one", "two"], stderr=["warn"], files={"out/x.csv": "eu"}),
        mock("convert[us]", stdout=["three"], files={"out/x.csv": "us!"}),
    ]
    run(tmp_path, mocks=mocks, workdir=tmp_path / "w", concurrency=1)
    return ["--workdir", str(tmp_path / "w")]


def test_logs_of_a_fan_out_step_prints_every_instance_prefixed(invoke: Invoke, tmp_path: Path) -> None:
    args = _fan_out(tmp_path)
    assert invoke(["logs", "fo", "convert", *args]).stdout == (
        "[convert[eu]] one\n[convert[eu]] two\n[convert[eu]] warn\n[convert[us]] three\n"
    )
    assert invoke(["logs", "fo", "convert", "-s", "stderr", *args]).stdout == "[convert[eu]] warn\n"
    assert invoke(["logs", "fo", "convert[us]", *args]).stdout == "three\n"  # one instance: its bytes, unchanged
    lines = [json.loads(line) for line in invoke(["logs", "fo", "convert", "--json", *args]).stdout.splitlines()]
    assert lines == [
        {"step": "convert[eu]", "stream": "stdout", "line": "one"},
        {"step": "convert[eu]", "stream": "stdout", "line": "two"},
        {"step": "convert[eu]", "stream": "stderr", "line": "warn"},
        {"step": "convert[us]", "stream": "stdout", "line": "three"},
    ]
    res = invoke(["logs", "fo", "convert", "-f", *args])
    assert res.exit_code == 2
    assert res.stderr == "error: step \"convert\" ran as 2 instances; -f follows one\nhint: e.g. 'convert[eu]'\n"


def test_export_of_a_fan_out_step_copies_each_instance_into_its_key(invoke: Invoke, tmp_path: Path) -> None:
    args = _fan_out(tmp_path)
    dest = tmp_path / "dest"
    res = invoke(["export", "fo", "convert", str(dest), *args])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == f"exported 2 files (5 B) to {dest}\n"
    assert (dest / "eu" / "out" / "x.csv").read_text() == "eu"
    assert (dest / "us" / "out" / "x.csv").read_text() == "us!"
    # a key's directory that is there already: nothing is copied, not even the other instance
    again = tmp_path / "again"
    (again / "us").mkdir(parents=True)
    (again / "us" / "keep").write_text("")
    res = invoke(["export", "fo", "convert", str(again), *args])
    assert res.exit_code == 2
    assert res.stderr == (
        f"error: {again / 'us'} already exists; nothing was copied\nhint: export into a new directory\n"
    )
    assert sorted(p.name for p in again.iterdir()) == ["us"]
    one = invoke(["export", "fo", "convert", str(tmp_path / "one"), "--path", "out/x.csv", *args])
    assert one.exit_code == 0, one.stderr
    assert (tmp_path / "one" / "us" / "x.csv").read_text() == "us!"
