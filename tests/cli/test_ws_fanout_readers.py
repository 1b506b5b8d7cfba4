"""`cat` and `inspect` of a fan-out step's plain id read every instance (as `logs` and `export` do); `step[key]`
reads one. Workspaces are made with the fake runtime; messages are asserted verbatim."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import Invoke

FANOUT = """
id: fo
steps:
  - id: convert
    matrix: {region: [eu, us]}
    image: alpine:3.20
    cmd: [convert]
"""


@pytest.fixture
def fan_out(tmp_path: Path) -> list[str]:
    from pipex.testing import mock, run

    (tmp_path / "pipeline.yml").write_text(FANOUT)
    mocks = [
        mock("convert[eu]", files={"out/x.csv": "eu\n", "only-eu.txt": "E\n"}),
        mock("convert[us]", files={"out/x.csv": "us!"}),
    ]
    run(tmp_path, mocks=mocks, workdir=tmp_path / "w", concurrency=1)
    return ["--workdir", str(tmp_path / "w")]


def _artifacts(tmp_path: Path, instance: str) -> Path:
    state = json.loads((tmp_path / "w" / "fo" / "state.json").read_text())
    run_id = state["steps"][instance]["lastSuccess"]["runId"]
    return tmp_path / "w" / "fo" / "runs" / run_id / "artifacts"


def test_cat_lists_every_instance_under_its_header(invoke: Invoke, fan_out: list[str]) -> None:
    res = invoke(["cat", "fo", "convert", *fan_out])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ("==> convert[eu] <==\nonly-eu.txt\nout/\nout/x.csv\n\n==> convert[us] <==\nout/\nout/x.csv\n")
    assert invoke(["cat", "fo", "convert", "out", *fan_out]).stdout == (
        "==> convert[eu] <==\nout/x.csv\n\n==> convert[us] <==\nout/x.csv\n"
    )
    listed = json.loads(invoke(["cat", "fo", "convert", "--json", *fan_out]).stdout)
    assert [(one["step"], [e["path"] for e in one["entries"]]) for one in listed] == [
        ("convert[eu]", ["only-eu.txt", "out", "out/x.csv"]),
        ("convert[us]", ["out", "out/x.csv"]),
    ]
    assert listed[1]["entries"][1] == {"path": "out/x.csv", "type": "file", "size": 3, "target": None}


def test_cat_prints_path_from_every_instance_as_head_does(invoke: Invoke, fan_out: list[str]) -> None:
    res = invoke(["cat", "fo", "convert", "out/x.csv", *fan_out])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == "==> convert[eu] <==\neu\n\n==> convert[us] <==\nus!"
    assert res.stderr == ""
    assert invoke(["cat", "fo", "convert[us]", "out/x.csv", *fan_out]).stdout == "us!"  # one instance: its bytes


def test_cat_names_the_instances_without_path(invoke: Invoke, fan_out: list[str]) -> None:
    res = invoke(["cat", "fo", "convert", "only-eu.txt", *fan_out])
    assert res.exit_code == 0
    assert res.stdout == "==> convert[eu] <==\nE\n"
    assert res.stderr == 'warning: no artifact "only-eu.txt" in 1 of 2 instances of "convert": convert[us]\n'
    res = invoke(["cat", "fo", "convert", "nope.csv", *fan_out])
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr == (
        'error: no artifact "nope.csv" in any of the 2 instances of "convert": convert[eu], convert[us]\n'
        "hint: `pipex cat fo convert` lists each instance's artifacts\n"
    )


def test_cat_of_a_fan_out_step_refuses_unsafe_paths_before_printing(
    invoke: Invoke, fan_out: list[str], tmp_path: Path
) -> None:
    res = invoke(["cat", "fo", "convert", "../state.json", *fan_out])
    assert res.exit_code == 2
    assert res.stderr == (
        'error: path "../state.json" contains ".."; it would leave the step\'s artifacts\n'
        "hint: `pipex cat fo convert` lists the artifacts; links show as `name -> target`\n"
    )
    # a link one instance planted: nothing is printed, not even the other instance's file
    us = _artifacts(tmp_path, "convert[us]")
    (us / "out" / "x.csv").unlink()
    (us / "out").rmdir()
    os.symlink("/etc", us / "out")
    res = invoke(["cat", "fo", "convert", "out/x.csv", *fan_out])
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (
        'error: convert[us]: "out" is a symlink (-> /etc); pipex never follows links a step wrote\n'
        "hint: `pipex cat fo convert[us]` lists the artifacts; links show as `name -> target`\n"
    )
    listing = invoke(["cat", "fo", "convert", *fan_out])  # listed as a link, never followed
    assert listing.stdout.endswith("==> convert[us] <==\nout -> /etc\n")


def test_inspect_gives_every_instance_s_record(invoke: Invoke, fan_out: list[str], tmp_path: Path) -> None:
    records = json.loads(invoke(["inspect", "fo", "convert", "--json", *fan_out]).stdout)
    assert [r["stepId"] for r in records] == ["convert[eu]", "convert[us]"]
    assert records[1] == json.loads((_artifacts(tmp_path, "convert[us]").parent / "meta.json").read_text())
    text = invoke(["inspect", "fo", "convert", *fan_out]).stdout
    documents = list(yaml.safe_load_all(text))
    assert [d["stepId"] for d in documents] == ["convert[eu]", "convert[us]"]
    assert text.count("\n---\n") == 1 and text.startswith(f"runId: {records[0]['runId']}\nstepId: convert[eu]\n")
    one = json.loads(invoke(["inspect", "fo", "convert[us]", "--json", *fan_out]).stdout)
    assert one == records[1]  # one instance: its record, not a list


def test_an_instance_without_a_successful_run_is_named(invoke: Invoke, tmp_path: Path) -> None:
    from pipex.testing import mock, run

    (tmp_path / "pipeline.yml").write_text(FANOUT)
    mocks = [mock("convert[eu]", files={"a.txt": "A"}), mock("convert[us]", exit_code=3)]
    run(tmp_path, mocks=mocks, workdir=tmp_path / "w")
    args = ["--workdir", str(tmp_path / "w")]
    res = invoke(["cat", "fo", "convert", *args])
    assert res.exit_code == 0
    assert res.stdout == "==> convert[eu] <==\na.txt\n"
    assert res.stderr == 'warning: no successful run in 1 of 2 instances of "convert": convert[us]\n'
    statuses = [r["status"] for r in json.loads(invoke(["inspect", "fo", "convert", "--json", *args]).stdout)]
    assert statuses == ["success", "failure"]  # inspect reads the last run, failed or not


def test_show_of_one_step_lists_a_fan_out_step_s_instances(invoke: Invoke, fan_out: list[str], tmp_path: Path) -> None:
    (tmp_path / "plain.yml").write_text("id: fo\nsteps:\n  - {id: other, image: alpine:3.20, cmd: [x]}\n")
    from pipex.testing import run

    run(tmp_path / "plain.yml", workdir=tmp_path / "w")
    everything = [r["step"] for r in json.loads(invoke(["show", "fo", "--json", *fan_out]).stdout)["steps"]]
    assert sorted(everything) == ["convert[eu]", "convert[us]", "other"]
    res = invoke(["show", "fo", "convert", *fan_out])
    assert res.exit_code == 0, res.stderr
    assert [line.split()[:2] for line in res.stdout.splitlines()] == [
        ["STEP", "STATUS"],
        ["convert[eu]", "success"],
        ["convert[us]", "success"],
    ]
    records = json.loads(invoke(["show", "fo", "convert", "--json", *fan_out]).stdout)["steps"]
    assert [(r["step"], r["status"]) for r in records] == [("convert[eu]", "success"), ("convert[us]", "success")]
    assert [r["step"] for r in json.loads(invoke(["show", "fo", "other", "--json", *fan_out]).stdout)["steps"]] == [
        "other"
    ]
    res = invoke(["show", "fo", "convrt", *fan_out])
    assert res.exit_code == 1
    assert res.stderr == (
        'error: step "convrt" has no runs in workspace "fo"; did you mean "convert"?\n'
        "hint: steps with runs: convert[eu], convert[us], other (`pipex show fo`)\n"
    )
