"""Fan-out over a sub-pipeline (``matrix``/literal ``foreach`` on a ``pipeline:`` step): the whole child inlined
once per instance as ``etl[<key>].<child-id>`` (model/compose.py), then run, cached, mounted and addressed like
any step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pipex
from pipex.cli.app import app_for
from pipex.errors import PipelineError
from pipex.model.compose import mount_name, parts_of, scope_of
from pipex.testing import mock, run
from tests.cli.conftest import make_runner
from tests.subpipelines import input_mounts, ran, sub_project, write_child, write_parent
from tests.unit.engine.test_engine_support import creates

PARENT = """\
id: parent
steps:
  - id: download
    image: alpine:3.20
    cmd: [sh, -c, "echo d > /output/d"]
  - id: etl
    pipeline: ./etl/pipeline.yml
    inputs: [{step: download}]
    env: {REGION: "${{ matrix.region }}", SHARED: "1", MATRIX_REGION: hidden}
    matrix: {region: [eu, us]}
  - id: report
    image: alpine:3.20
    cmd: [ls, /input]
    inputs: [{step: etl}]
"""

CHILD = """\
id: etl
steps:
  - id: extract
    name: "extract ${{ matrix.region }}"
    image: alpine:3.20
    cmd: [sh, -c, "fetch --region ${{ matrix.region }} > /output/x"]
    env: {WHERE: "in-${{ matrix.region }}", SHARED: "2"}
  - id: load
    image: alpine:3.20
    cmd: [cat, /input/extract/x, /input/download/d]
    inputs: [{step: extract}]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return sub_project(tmp_path / "project", PARENT, CHILD, monkeypatch)


def cli(args: list[str]) -> tuple[int, str, str]:
    result = make_runner().invoke(app_for(args, {}), args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_instance_runs_the_whole_child_with_its_values(project: Path) -> None:
    p = pipex.load()
    assert p.ids == ["download", "etl[eu].extract", "etl[eu].load", "etl[us].extract", "etl[us].load", "report"]
    eu = p.step("etl[eu].extract")
    assert eu.cmd == ["sh", "-c", "fetch --region eu > /output/x"]
    assert eu.name == "extract eu"
    # the parent's env (substituted) < MATRIX_* < the child step's own env (substituted)
    assert eu.env == {"REGION": "eu", "SHARED": "2", "MATRIX_REGION": "eu", "WHERE": "in-eu"}
    assert p.step("etl[us].load").env == {"REGION": "us", "SHARED": "1", "MATRIX_REGION": "us"}
    assert [i.step for i in p.step("etl[us].load").inputs] == ["etl[us].extract", "download"]
    assert [i.step for i in p.step("report").inputs] == ["etl[eu].load", "etl[us].load"]
    assert p.scopes["etl"].steps == ("etl[eu].extract", "etl[eu].load", "etl[us].extract", "etl[us].load")
    assert p.scopes["etl"].finals == ("etl[eu].load", "etl[us].load")
    assert p.scopes["etl[us]"].steps == ("etl[us].extract", "etl[us].load")
    assert p.root_of("etl[us].extract") == project / "etl"
    assert p.validate() == []
    assert "matrix:" in p.to_yaml() and "etl[eu]" not in p.to_yaml()  # written as authored


def test_ids_parse_with_keys_that_hold_dots() -> None:
    assert parts_of("etl[a.csv].extract") == ["etl[a.csv]", "extract"]
    assert scope_of("etl[a.csv].extract") == "etl[a.csv]" and scope_of("process[a.csv]") == ""
    assert scope_of("etl[eu].clean[x].dedupe") == "etl[eu].clean[x]" and scope_of("etl.extract") == "etl"
    assert mount_name("report", "etl[eu].load") == "etl/eu/load"
    assert mount_name("report", "etl[a.csv].load") == "etl/a.csv/load"
    assert mount_name("etl[eu].load", "etl[eu].extract") == "extract"
    assert mount_name("etl[eu].load", "download") == "download"
    assert mount_name("etl[eu].t", "etl[eu].sub[x].load") == "sub/x/load"
    # one instance of a fan-out step (paired) is mounted as its step, in a sub-pipeline too
    assert mount_name("etl.per[a.csv]", "etl.each[a.csv]") == "each"


def test_a_literal_foreach_gives_item_and_its_fields(project: Path) -> None:
    write_parent(
        project,
        PARENT.replace("    matrix: {region: [eu, us]}\n", "    foreach: [{name: a.csv, n: 1}, b.csv]\n").replace(
            '"${{ matrix.region }}"', '"${{ item.name }}"'
        ),
    )
    write_child(project, CHILD.replace("${{ matrix.region }}", "${{ item }}"))
    p = pipex.load()
    instances = ["etl[1-a.csv].extract", "etl[1-a.csv].load", "etl[b.csv].extract", "etl[b.csv].load"]
    assert p.ids == ["download", *instances, "report"]
    first = p.step("etl[1-a.csv].extract")
    assert first.env["ITEM"] == '{"n":1,"name":"a.csv"}' and first.env["REGION"] == "a.csv"
    assert first.cmd == ["sh", "-c", 'fetch --region {"n":1,"name":"a.csv"} > /output/x']
    assert p.step("etl[b.csv].extract").env["REGION"] == ""  # item.FIELD of a scalar item: nothing
    assert p.step("etl[b.csv].load").env["ITEM"] == "b.csv"


def test_a_child_steps_own_fan_out_wins_for_its_own_names(project: Path, tmp_path: Path) -> None:
    write_child(
        project,
        CHILD
        + "  - id: convert\n    image: alpine:3.20\n    matrix: {format: [csv], region: [mine]}\n"
        + '    cmd: ["${{ matrix.region }}-${{ matrix.format }}"]\n    inputs: [{step: load}]\n',
    )
    p = pipex.load()
    assert p.step("etl[eu].convert").cmd == ["${{ matrix.region }}-${{ matrix.format }}"]  # left to its instances
    done = run(p, workdir=tmp_path / "wd")
    assert done.status == "success"
    spec = creates(done.runtime, "etl[eu].convert[csv-mine]")[0]
    assert spec.cmd == ("mine-csv",) and spec.env["MATRIX_REGION"] == "mine"
    assert input_mounts(done.runtime, "report") == [
        "/input/etl/eu/convert/csv-mine",
        "/input/etl/us/convert/csv-mine",
    ]
    assert done.calls("etl[us].convert") == 1 and done.calls("etl") == 6
    one = run(p, target=["etl[us].convert[csv-mine]"], force=["etl[us].convert[csv-mine]"], workdir=tmp_path / "wd")
    assert [o.id for o in one.result.steps] == [
        "download",
        "etl[us].extract",
        "etl[us].load",
        "etl[us].convert",
        "etl[us].convert[csv-mine]",
    ]
    assert ran(one) == ["etl[us].convert", "etl[us].convert[csv-mine]"]  # the step, and its one instance


def test_dependents_fan_in_every_instances_final_steps_and_events_carry_the_instance_scope(
    project: Path, tmp_path: Path
) -> None:
    done = run(project, mocks=[mock("etl[eu].extract", files={"x": b"eu"})], workdir=tmp_path / "wd")
    assert done.status == "success"
    assert ran(done) == ["download", "etl[eu].extract", "etl[eu].load", "etl[us].extract", "etl[us].load", "report"]
    assert input_mounts(done.runtime, "report") == ["/input/etl/eu/load", "/input/etl/us/load"]
    assert input_mounts(done.runtime, "etl[eu].load") == ["/input/download", "/input/extract"]
    scopes = {(e.kind, e.step.id, e.to_json().get("scope")) for e in done.events if hasattr(e, "step")}
    assert ("step_end", "etl[eu].load", "etl[eu]") in scopes and ("step_start", "etl[us].extract", "etl[us]") in scopes
    assert ("step_end", "report", None) in scopes
    assert not any(e.to_json().get("group") for e in done.events if hasattr(e, "step"))  # not fan-out instances


def test_adding_removing_and_reordering_instances_runs_only_what_changed(project: Path, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    first = run(project, workdir=wd)
    assert first.status == "success"
    write_parent(project, PARENT.replace("[eu, us]", "[eu, us, asia]"))
    added = run(project, workdir=wd)
    assert ran(added) == ["etl[asia].extract", "etl[asia].load", "report"]  # report: one more instance to read
    write_parent(project, PARENT.replace("[eu, us]", "[asia, us, eu]"))
    reordered = run(project, workdir=wd)
    assert ran(reordered) == [] and reordered.status == "success"  # report reads the instances by key
    write_parent(project, PARENT.replace("[eu, us]", "[us]"))
    removed = run(project, workdir=wd)
    assert ran(removed) == ["report"] and removed.cached("etl[us].extract") and removed.cached("etl[us].load")


def test_target_and_force_address_the_sub_pipeline_an_instance_or_one_step(project: Path, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    whole = run(project, target=["etl"], workdir=wd)
    assert [o.id for o in whole.result.steps] == [
        "download",
        "etl[eu].extract",
        "etl[eu].load",
        "etl[us].extract",
        "etl[us].load",
    ]
    one = run(project, target=["etl[us]"], workdir=wd)
    assert [o.id for o in one.result.steps] == ["download", "etl[us].extract", "etl[us].load"]
    run(project, workdir=wd)
    forced = run(project, force=["etl[eu].extract"], workdir=wd)
    assert ran(forced) == ["etl[eu].extract"] and forced.cached("etl[eu].load")  # same artifacts: early cutoff
    every = run(project, force=["etl.extract"], workdir=wd)  # a child step's id without the key: every instance's
    assert ran(every) == ["etl[eu].extract", "etl[us].extract"]


def test_an_instance_the_sub_pipeline_does_not_make_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    for option in ("target", "force"):
        with pytest.raises(pipex.UsageError) as info:
            run(project, workdir=tmp_path / "wd", **{option: ["etl[asia]"]})  # type: ignore[arg-type]
        assert (info.value.message, info.value.hint) == (
            f'--{option}: sub-pipeline "etl" has no instance "asia"',
            "its instances: eu, us",
        )


def test_logs_inspect_and_show_take_an_instances_step_id(project: Path, tmp_path: Path) -> None:
    wd = str(tmp_path / "wd")
    done = run(project, mocks=[mock("etl[eu].extract", stdout=["from eu"])], workdir=wd)
    assert done.status == "success"
    assert cli(["logs", "parent", "etl[eu].extract", "--workdir", wd]) == (0, "from eu\n", "")
    code, out, err = cli(["--json", "inspect", "parent", "etl[us].load", "--workdir", wd])
    assert code == 0, err
    assert json.loads(out)["stepId"] == "etl[us].load"
    code, out, err = cli(["--json", "show", "parent", "--workdir", wd])
    shown = [row["step"] for row in json.loads(out)["steps"]]
    assert "etl[eu].extract" in shown and "etl[us].load" in shown


def test_unknown_names_inside_the_child_name_the_child_file_and_step(project: Path) -> None:
    write_child(project, CHILD.replace("fetch --region ${{ matrix.region }}", "fetch ${{ matrix.zone }} ${{ item }}"))
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[1].pipeline: etl/pipeline.yml: steps[0].cmd[2]: step "extract": ${{ matrix.zone }}: unknown matrix '
        "name (its names: region)",
        'steps[1].pipeline: etl/pipeline.yml: steps[0].cmd[2]: step "extract": ${{ item }}: the step has no '
        '"foreach" (nor has the sub-pipeline step "etl")',
    ]


def test_nested_fanned_sub_pipelines_see_every_enclosing_name(project: Path) -> None:
    write_child(
        project,
        "id: inner\nsteps:\n  - id: leaf\n    image: alpine:3.20\n"
        '    cmd: [echo, "${{ matrix.region }}/${{ matrix.part }}"]\n',
        "etl/inner/pipeline.yml",
    )
    write_child(project, CHILD + "  - id: inner\n    pipeline: ./inner\n    matrix: {part: [p1, p2]}\n")
    p = pipex.load()
    leaf = "etl[us].inner[p2].leaf"
    assert leaf in p.ids and p.step(leaf).cmd == ["echo", "us/p2"]
    assert p.step(leaf).env["MATRIX_REGION"] == "us" and p.step(leaf).env["MATRIX_PART"] == "p2"
    assert [i.step for i in p.step("report").inputs] == [
        "etl[eu].load",
        "etl[eu].inner[p1].leaf",
        "etl[eu].inner[p2].leaf",
        "etl[us].load",
        "etl[us].inner[p1].leaf",
        "etl[us].inner[p2].leaf",
    ]
    assert mount_name("report", leaf) == "etl/us/inner/p2/leaf"
    write_child(
        project,
        "id: inner\nsteps:\n  - id: leaf\n    image: alpine:3.20\n    cmd: [echo, '${{ matrix.nope }}']\n",
        "etl/inner/pipeline.yml",
    )
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[1].pipeline: etl/pipeline.yml: steps[2].pipeline: inner: steps[0].cmd[1]: step "leaf": '
        "${{ matrix.nope }}: unknown matrix name (its names: part, region)"
    ]


def test_include_cycles_path_escapes_and_key_clashes_are_still_caught(project: Path) -> None:
    write_child(project, "id: etl\nsteps:\n  - id: again\n    pipeline: ../pipeline.yml\n")
    with pytest.raises(PipelineError) as info:
        pipex.load()
    parent, child = project / "pipeline.yml", project / "etl" / "pipeline.yml"
    assert [str(p) for p in info.value.problems] == [
        f"steps[1].pipeline: etl/pipeline.yml: steps[0].pipeline: include cycle: {parent} → {child} → {parent} "
        "(a pipeline cannot include itself)"
    ]
    (project.parent / "outside.yml").write_text("id: o\nsteps: [{id: a, image: i, cmd: [x]}]\n", encoding="utf-8")
    write_parent(project, PARENT.replace("./etl/pipeline.yml", "../outside.yml"))
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        f"steps[1].pipeline: '../outside.yml' resolves to {project.parent / 'outside.yml'}, outside the project "
        f"directory {project} (sub-pipelines must stay inside the project)"
    ]
    write_child(project, CHILD.replace("matrix.region", "item"))
    clash = PARENT.replace("    matrix: {region: [eu, us]}\n", "    foreach: [a, {x: a}]\n").replace(
        "${{ matrix.region }}", "${{ item }}"
    )
    write_parent(project, clash)
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        "steps[1].foreach: two items make the instance key 'a' (make the items differ in text)"
    ]


def test_the_graph_draws_a_fanned_sub_pipeline_once_with_its_count(project: Path) -> None:
    p = pipex.load()
    mermaid = p.graph("mermaid").splitlines()
    start = mermaid.index('    subgraph scope_etl["etl ×2"]')
    assert mermaid[start + 1 : start + 4] == [
        '        step_etl_extract["extract"]',  # the instances' names differ: the id's
        '        step_etl_load["load"]',
        "    end",
    ]
    assert "    step_etl_load --> step_report" in mermaid and mermaid.count("    step_etl_load --> step_report") == 1
    assert 'label="etl ×2";' in p.graph("dot")
    graph = json.loads(p.graph("json"))
    assert [n["id"] for n in graph["nodes"]] == ["download", "etl.extract", "etl.load", "report"]
    assert graph["instances"] == {"etl": 2}


def test_a_mock_without_the_key_scripts_the_step_in_every_instance(project: Path, tmp_path: Path) -> None:
    done = run(project, mocks=[mock("etl.extract", exit_code=3)], workdir=tmp_path / "wd")
    assert done.status == "failed"
    assert done.outcome("etl[eu].extract").state == "failure" and done.outcome("etl[us].extract").state == "failure"
    with pytest.raises(ValueError) as info:
        run(project, mocks=[mock("etl.extrct")], workdir=tmp_path / "wd")
    assert str(info.value) == 'mock("etl.extrct"): the pipeline has no step "etl.extrct"; did you mean "etl.extract"?'


def test_kit_parameters_of_child_steps_are_substituted(project: Path, tmp_path: Path) -> None:
    write_child(project, CHILD + '  - id: say\n    uses: shell\n    with: {run: "echo ${{ matrix.region }}"}\n')
    p = pipex.load()
    assert p.step("etl[us].say").with_ == {"run": "echo us"}
    done = run(p, workdir=tmp_path / "wd")
    assert creates(done.runtime, "etl[eu].say")[0].cmd == ("sh", "-c", "echo eu")


def test_a_gate_in_a_fanned_child_is_one_per_instance(project: Path, tmp_path: Path) -> None:
    write_child(project, CHILD + "  - id: ok\n    approval: {}\n    inputs: [{step: load}]\n")
    held = run(project, workdir=tmp_path / "wd")
    assert (held.status, held.result.waiting) == ("suspended", ("etl[eu].ok", "etl[us].ok"))
    half = run(project, approve=["etl[eu].ok"], workdir=tmp_path / "wd")
    assert (half.status, half.result.waiting) == ("suspended", ("etl[us].ok",))
    assert half.outcome("report").state == "pending" and half.cached("etl[eu].load")
    done = run(project, approve=["etl[us].ok"], workdir=tmp_path / "wd")
    assert done.status == "success" and done.ran("report")


def test_a_dry_run_lists_every_instances_steps(project: Path, tmp_path: Path) -> None:
    dry = run(project, dry_run=True, workdir=tmp_path / "wd")
    assert {o.id: o.state for o in dry.result.steps} == {
        "download": "would_run",
        "etl[eu].extract": "would_run",
        "etl[eu].load": "would_run",
        "etl[us].extract": "would_run",
        "etl[us].load": "would_run",
        "report": "would_run",
    }


def test_rm_step_and_logs_of_a_plain_id_never_take_a_fanned_sub_pipelines_steps_for_instances(
    project: Path, tmp_path: Path
) -> None:
    write_child(project, CHILD + "  - id: convert\n    image: alpine:3.20\n    cmd: [c]\n    matrix: {f: [csv]}\n")
    wd = str(tmp_path / "wd")
    assert run(project, mocks=[mock("etl.convert", stdout=["c"])], workdir=wd).status == "success"
    # a fan-out step in the child: its instances' logs, prefixed
    assert cli(["logs", "parent", "etl[eu].convert", "--workdir", wd]) == (0, "[etl[eu].convert[csv]] c\n", "")
    code, _, err = cli(["logs", "parent", "etl", "--workdir", wd])
    assert (code, err.splitlines()[0]) == (1, 'error: step "etl" has no runs in workspace "parent"')
    code, _, err = cli(["--json", "rm-step", "parent", "etl[eu].extract", "--workdir", wd])
    assert code == 0, err
    steps = {row["step"] for row in json.loads(cli(["--json", "show", "parent", "--workdir", wd])[1])["steps"]}
    assert "etl[eu].extract" not in steps and {"etl[us].extract", "etl[eu].convert[csv]"} <= steps
    again = run(project, workdir=wd)
    assert ran(again) == ["etl[eu].extract"]  # the same artifacts: nothing after it re-runs
