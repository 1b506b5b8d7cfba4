"""`prune`, `rm`, `rm-step`, `clean`: what they delete, what they keep, and the workspace lock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Invoke
from tests.cli.wsfixtures import Demo, make_demo


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return make_demo(tmp_path)


def runs(demo: Demo) -> list[str]:
    return sorted(p.name for p in (demo.ws / "runs").iterdir())


def test_prune_keeps_the_last_success_after_a_later_failure(invoke: Invoke, demo: Demo) -> None:
    first_a = demo.run_id("a")
    demo.rerun(a={"files": {"top.txt": b"top2\n"}})  # a new success: the first run of a is no longer referenced
    second_a = demo.run_id("a")
    demo.rerun(a={"exit_code": 1})  # then a failure: lastSuccess stays second_a
    failed_a = demo.run_id("a")
    assert demo.run_id("a", "lastSuccess") == second_a
    before = runs(demo)
    res = invoke(["prune", "demo", "--json", "--workdir", str(demo.workdir)])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert first_a in data["removed"] and second_a not in data["removed"] and failed_a not in data["removed"]
    assert isinstance(data["bytes"], int) and data["bytes"] > 0
    kept = set(before) - set(data["removed"])
    assert kept == {second_a, failed_a, demo.run_id("b")}
    assert runs(demo) == sorted(kept)
    assert invoke(["cat", "demo", "a", "top.txt", "--workdir", str(demo.workdir)]).stdout == "top2\n"
    res = invoke(["prune", "demo", "--workdir", str(demo.workdir)])
    assert res.stdout == 'nothing to prune in workspace "demo"\n'


def test_prune_text(invoke: Invoke, demo: Demo) -> None:
    (demo.ws / "runs" / "20200101T000000000Z-deadbeef").mkdir()
    (demo.ws / "runs" / "20200101T000000000Z-deadbeef" / "f").write_bytes(b"12345")
    res = invoke(["prune", "demo", "--workdir", str(demo.workdir)])
    assert res.stdout == 'pruned 1 run (5 B) from workspace "demo"\n'


def test_prune_deletes_event_logs_of_detached_runs_but_the_latest_and_a_live_one(invoke: Invoke, demo: Demo) -> None:
    import fcntl
    import os

    events = demo.ws / "events"
    events.mkdir()
    old, live, latest = (f"2020010{i}T000000000Z-deadbee{i}" for i in (1, 2, 3))
    for run_id in (old, live, latest):
        (events / f"{run_id}.jsonl").write_bytes(b'{"event":"x"}\n')
        (events / f"{run_id}.log").write_bytes(b"")
    (events / "current").write_text(json.dumps({"runId": latest, "pid": 1}))
    (events / "notes.txt").write_text("not ours")
    fd = os.open(events / f"{live}.jsonl", os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a detached run that opened its log and has not taken the lock yet
    try:
        res = invoke(["prune", "demo", "--json", "--workdir", str(demo.workdir)])
    finally:
        os.close(fd)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == {"workspace": "demo", "removed": [], "eventLogs": 1, "bytes": 14, "instances": []}
    assert sorted(p.name for p in events.iterdir()) == sorted(
        ["current", "notes.txt", f"{live}.jsonl", f"{live}.log", f"{latest}.jsonl", f"{latest}.log"]
    )
    res = invoke(["prune", "demo", "--workdir", str(demo.workdir)])
    assert res.stdout == 'pruned 1 event log (14 B) from workspace "demo"\n'


def test_rm_step(invoke: Invoke, demo: Demo) -> None:
    run_b = demo.run_id("b")
    res = invoke(["rm-step", "demo", "b", "--workdir", str(demo.workdir)])
    assert res.exit_code == 0, res.stderr
    size = json.loads(invoke(["list", "--json", "--workdir", str(demo.workdir)]).stdout)[0]["size"]
    assert res.stdout.startswith('removed step "b" from workspace "demo": 1 run (') and res.stdout.endswith(" KB)\n")
    assert size > 0
    assert "b" not in demo.state()["steps"] and run_b not in runs(demo)
    res = invoke(["rm-step", "demo", "aa", "--workdir", str(demo.workdir)])
    assert res.exit_code == 1
    assert res.stderr == (
        'error: step "aa" has no runs in workspace "demo"; did you mean "a"?\nhint: `pipex show demo` lists its steps\n'
    )
    res = invoke(["rm-step", "demo", "a", "--json", "--workdir", str(demo.workdir)])
    data = json.loads(res.stdout)
    assert data["workspace"] == "demo" and data["step"] == "a" and len(data["removed"]) == 1 and data["bytes"] > 6
    assert not (demo.ws / "step-runs" / "a").exists()


def test_rm_checks_every_name_first(invoke: Invoke, demo: Demo, tmp_path: Path) -> None:
    (demo.workdir / "other").mkdir()
    res = invoke(["rm", "demo", "ghost", "other", "phantom", "--workdir", str(demo.workdir)])
    assert res.exit_code == 1
    assert res.stderr == (
        f'error: workspaces "ghost", "phantom" do not exist in {demo.workdir}; nothing was removed\n'
        "hint: `pipex list` shows the workspaces; `--workdir` selects another workdir\n"
    )
    assert demo.ws.is_dir() and (demo.workdir / "other").is_dir()
    res = invoke(["rm", "demo", "other", "-y", "--workdir", str(demo.workdir)])
    assert res.exit_code == 0
    assert res.stdout.startswith('removed workspaces "demo", "other" (')
    assert list(demo.workdir.iterdir()) == []


def test_maintenance_fails_fast_on_a_busy_workspace(invoke: Invoke, demo: Demo) -> None:
    from pipex.workspace.layout import Workspace

    (demo.workdir / "free").mkdir()
    before = runs(demo)
    with Workspace(demo.workdir, "demo").lock("pipex run"):
        for args in (["prune", "demo"], ["rm-step", "demo", "a"], ["rm", "free", "demo", "--yes"]):
            res = invoke([*args, "--workdir", str(demo.workdir)])
            assert res.exit_code == 4, args
            first, hint = res.stderr.splitlines()
            assert first.startswith('error: workspace "demo" is in use by pid ')
            assert first.endswith(")") and "(pipex run, started " in first
            assert hint == "hint: wait for it to finish, or stop it (`pipex cancel`) if it is a detached run"
        assert (demo.workdir / "free").is_dir()  # rm is all or nothing
        res = invoke(["clean", "--yes", "--workdir", str(demo.workdir)])
        assert res.exit_code == 0
        assert res.stdout.startswith("removed 1 workspace (") and res.stdout.endswith(" B)\n")
        assert res.stderr.startswith('kept workspace "demo": in use by pid ')
    assert runs(demo) == before and not (demo.workdir / "free").exists()
    res = invoke(["clean", "-y", "--json", "--workdir", str(demo.workdir)])
    data = json.loads(res.stdout)
    assert data["removed"] == ["demo"] and data["inUse"] == [] and data["bytes"] > 0
    assert list(demo.workdir.iterdir()) == []


def test_api_maintenance(demo: Demo) -> None:
    from pipex.engine.engine import Engine

    ws = Engine(demo.workdir).workspace("demo")
    assert ws.prune().names == ()
    run_b = demo.run_id("b")
    assert ws.remove_step("b").names == (run_b,)
    assert [s.step for s in ws.show().steps] == ["a"]
    assert "hello" in ws.logs("a", stream="stdout") and ws.inspect("a")["stepId"] == "a"
    assert ws.remove().names == ("demo",) and not demo.ws.exists()


FOREACH = """
id: fe
steps:
  - {id: list, image: alpine:3.20, cmd: [list], outputs: [files]}
  - id: process
    foreach: steps.list.outputs.files
    inputs: [{step: list}]
    image: alpine:3.20
    cmd: [sh, -c, "wc -l /input/list/${{ item }}"]
"""


def test_prune_forgets_the_instances_whose_item_the_last_run_no_longer_made(invoke: Invoke, tmp_path: Path) -> None:
    from pipex.testing import mock, run

    (tmp_path / "pipeline.yml").write_text(FOREACH)
    args = ["--workdir", str(tmp_path / "w")]

    def listing(*files: str, **how: Any) -> Any:
        return run(tmp_path, mocks=[mock("list", outputs={"files": list(files)})], workdir=tmp_path / "w", **how)

    first = listing("a", "b", "c")
    b_run = first.outcome("process[b]").run_id
    # narrowed by --target 'process[a]': that run does not say b and c are gone
    listing("a", force=["list"], target=["process[a]"])
    assert json.loads(invoke(["prune", "fe", "--json", *args]).stdout)["instances"] == []
    # a failed run neither
    run(tmp_path, mocks=[mock("list", exit_code=1)], workdir=tmp_path / "w", force=["list"])
    assert json.loads(invoke(["prune", "fe", "--json", *args]).stdout)["instances"] == []
    listing("a", "c", force=["list"])
    assert listing("a", "b", "c", force=["list"]).cached("process[b]")  # until prune, the item comes back cached
    listing("a", "c", force=["list"])
    data = json.loads(invoke(["prune", "fe", "--json", *args]).stdout)
    assert data["instances"] == ["process[b]"] and b_run in data["removed"]
    state = json.loads((tmp_path / "w" / "fe" / "state.json").read_text())["steps"]
    assert sorted(state) == ["list", "process[a]", "process[c]"]
    assert invoke(["prune", "fe", *args]).stdout == 'nothing to prune in workspace "fe"\n'
    # the item back: it runs again (its cache entry went with it), the others stay cached
    again = listing("a", "b", "c", force=["list"])
    assert {o.id: o.state for o in again.result.steps} == {
        "list": "success",
        "process": "success",
        "process[a]": "cached",
        "process[b]": "success",
        "process[c]": "cached",
    }
