"""Sub-pipelines (``pipeline:`` steps): the child's steps inlined as ``<step>.<child>`` at load time (model/compose.py),
then run, cached, mounted and addressed like any step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pipex
from pipex.errors import PipelineError
from pipex.model.compose import mount_name, rescoped
from pipex.testing import mock, run
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
    env: {REGION: eu}
  - id: report
    image: alpine:3.20
    cmd: [ls, /input]
    inputs: [{step: etl}]
"""

CHILD = """\
id: etl
steps:
  - id: extract
    image: alpine:3.20
    cmd: [cat, /input/download/d]
    env: {LEVEL: "1"}
    mounts: [{host: data, container: /data}]
  - id: load
    image: alpine:3.20
    cmd: [cat, /input/extract/x]
    inputs: [{step: extract}]
    env: {REGION: us}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return sub_project(tmp_path / "project", PARENT, CHILD, monkeypatch, dirs=["etl/data"])


def test_the_child_is_inlined_with_prefixed_ids_inputs_and_env(project: Path) -> None:
    p = pipex.load()
    assert p.ids == ["download", "etl.extract", "etl.load", "report"]
    assert [i.step for i in p.step("etl.extract").inputs] == ["download"]
    assert [i.step for i in p.step("etl.load").inputs] == ["etl.extract", "download"]
    assert [i.step for i in p.step("report").inputs] == ["etl.load"]  # the child's final step
    assert p.step("etl.extract").env == {"REGION": "eu", "LEVEL": "1"}
    assert p.step("etl.load").env == {"REGION": "us"}  # the child's own env wins
    assert p.root_of("etl.extract") == project / "etl"
    assert p.scopes["etl"].finals == ("etl.load",)
    assert p.validate() == []
    assert "pipeline: ./etl/pipeline.yml" in p.to_yaml()  # written as authored


def test_mount_names_are_relative_to_the_readers_scope() -> None:
    assert mount_name("report", "etl.load") == "etl/load"
    assert mount_name("etl.load", "etl.extract") == "extract"
    assert mount_name("etl.load", "download") == "download"
    assert mount_name("etl.sub.a", "etl.prep") == "prep"
    assert mount_name("etl.t", "etl.sub.x") == "sub/x"


def test_child_steps_run_with_their_own_mounts_caching_and_scope(project: Path, tmp_path: Path) -> None:
    done = run(project, mocks=[mock("etl.extract", files={"x": b"1"})], workdir=tmp_path / "wd")
    assert done.status == "success"
    assert ran(done) == ["download", "etl.extract", "etl.load", "report"]
    assert input_mounts(done.runtime, "etl.extract") == ["/input/download"]
    assert input_mounts(done.runtime, "etl.load") == ["/input/download", "/input/extract"]
    assert input_mounts(done.runtime, "report") == ["/input/etl/load"]
    extract = creates(done.runtime, "etl.extract")[0]
    assert [b.source for b in extract.binds if b.target == "/data"] == [project / "etl" / "data"]
    scopes = {(e.kind, e.step.id, e.to_json().get("scope")) for e in done.events if hasattr(e, "step")}
    assert ("step_end", "etl.load", "etl") in scopes and ("step_end", "report", None) in scopes

    again = run(project, workdir=tmp_path / "wd")
    assert all(again.cached(s) for s in ("download", "etl.extract", "etl.load", "report"))


def test_target_and_force_name_a_whole_sub_pipeline_or_one_of_its_steps(project: Path, tmp_path: Path) -> None:
    done = run(project, target=["etl"], workdir=tmp_path / "wd")
    assert [o.id for o in done.result.steps] == ["download", "etl.extract", "etl.load"]
    run(project, workdir=tmp_path / "wd")
    forced = run(project, force=["etl.load"], workdir=tmp_path / "wd")
    assert forced.cached("etl.extract") and forced.ran("etl.load")
    assert forced.cached("report")  # etl.load made the same artifacts: early cutoff


def test_an_include_cycle_names_the_chain_of_files(project: Path) -> None:
    write_child(project, "id: etl\nsteps:\n  - id: again\n    pipeline: ../pipeline.yml\n")
    with pytest.raises(PipelineError) as info:
        pipex.load()
    parent, child = project / "pipeline.yml", project / "etl" / "pipeline.yml"
    assert [str(p) for p in info.value.problems] == [
        f"steps[1].pipeline: etl/pipeline.yml: steps[0].pipeline: include cycle: {parent} → {child} → {parent} "
        "(a pipeline cannot include itself)"
    ]


def test_a_sub_pipeline_outside_the_project_is_refused(project: Path) -> None:
    (project.parent / "outside.yml").write_text("id: o\nsteps: [{id: a, image: i, cmd: [x]}]\n", encoding="utf-8")
    write_parent(project, PARENT.replace("./etl/pipeline.yml", "../outside.yml"))
    with pytest.raises(PipelineError) as info:
        pipex.load()
    outside = project.parent / "outside.yml"
    assert [str(p) for p in info.value.problems] == [
        f"steps[1].pipeline: '../outside.yml' resolves to {outside}, outside the project directory {project} "
        "(sub-pipelines must stay inside the project)"
    ]


def test_a_sub_pipeline_step_has_no_container_fields_and_its_childs_problems_are_located(project: Path) -> None:
    write_parent(
        project,
        PARENT.replace("    pipeline: ./etl/pipeline.yml\n", "    pipeline: ./etl/pipeline.yml\n    image: alpine\n"),
    )
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[1].image: a sub-pipeline step ("pipeline") cannot set "image" '
        "(set it on the steps of the sub-pipeline's file)"
    ]
    write_parent(project, PARENT)
    write_child(project, CHILD.replace("[{step: extract}]", "[{step: extrct}]"))
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[1].pipeline: etl/pipeline.yml: steps[1].inputs[0].step: unknown step "extrct"; did you mean "extract"?'
    ]


def test_what_a_fan_out_over_a_sub_pipeline_cannot_do_is_a_validation_error_naming_it(project: Path) -> None:
    fanned = PARENT.replace(
        "    env: {REGION: eu}\n",
        "    env: {REGION: eu}\n    matrix: {region: [eu, us]}\n    maxParallel: 1\n"
        "  - id: etl2\n    pipeline: ./etl/pipeline.yml\n    foreach: steps.download.outputs.regions\n"
        "    inputs: [{step: download}]\n"
        "  - id: etl3\n    pipeline: ./etl/pipeline.yml\n    foreach: {step: etl}\n    inputs: [{step: etl}]\n",
    )
    write_parent(project, fanned)
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[1].maxParallel: "maxParallel" on a sub-pipeline step ("pipeline") is not supported yet (every '
        'instance of the child runs, within --concurrency; set "maxParallel" on the fan-out steps of the '
        "sub-pipeline's file)",
    ]  # steps[2] is inlined once its list is known; steps[3]'s pairing: test_subpipeline_dynamic.py


def test_an_input_passed_down_may_not_hide_a_child_step(project: Path) -> None:
    write_child(
        project, CHILD.replace("id: extract", "id: download").replace("[{step: extract}]", "[{step: download}]")
    )
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[1].inputs: input "download" would be mounted where the sub-pipeline\'s own step "download" is '
        "(/input/download) (rename one of them)"
    ]


def test_the_graph_draws_the_child_as_a_subgraph(project: Path) -> None:
    p = pipex.load()
    mermaid = p.graph("mermaid").splitlines()
    start = mermaid.index('    subgraph scope_etl["etl"]')
    assert mermaid[start + 1 : start + 4] == [
        '        step_etl_extract["extract"]',
        '        step_etl_load["load"]',
        "    end",
    ]
    assert "    step_step_etl_load --> step_report" not in mermaid and "    step_etl_load --> step_report" in mermaid
    assert 'subgraph "cluster_etl" {' in p.graph("dot")
    nodes = json.loads(p.graph("json"))["nodes"]
    assert [n.get("scope") for n in nodes] == [None, "etl", "etl", None]


def test_a_gate_inside_a_sub_pipeline_is_addressed_by_its_full_id(project: Path, tmp_path: Path) -> None:
    gated = CHILD + "  - id: ok\n    approval: {}\n    inputs: [{step: load}]\n"
    write_child(project, gated)
    held = run(project, workdir=tmp_path / "wd")
    assert (held.status, held.result.waiting) == ("suspended", ("etl.ok",))
    assert held.outcome("report").state == "pending"  # report reads etl's final step: the gate
    done = run(project, approve=["etl.ok"], workdir=tmp_path / "wd")
    assert done.status == "success" and done.cached("etl.load") and done.ran("report")


ROUTED_CHILD = """\
id: etl
steps:
  - id: check
    image: alpine:3.20
    cmd: [sh, -c, 'echo "route=a" >> "$PIPEX_OUTPUT"']
  - id: take-a
    image: alpine:3.20
    cmd: ["true"]
    inputs: [{step: check}]
    if: steps.check.outputs.route == "a"
  - id: take-b
    image: alpine:3.20
    cmd: ["true"]
    inputs: [{step: check}]
    if: steps['check'].outputs.route == "b"
  - id: list
    image: alpine:3.20
    cmd: ["true"]
  - id: each
    image: alpine:3.20
    cmd: [sh, -c, "echo ${{ item }}"]
    foreach: steps.list.outputs.files
    inputs: [{step: list}]
  - id: per
    image: alpine:3.20
    cmd: ["true"]
    foreach: {step: each}
    inputs: [{step: each}]
"""


def test_a_childs_conditions_and_foreach_read_its_own_steps_by_their_inlined_ids(project: Path) -> None:
    # Without the rewrite the child's `steps.check` named no step of the run: both branches were skipped and the
    # per-item steps never fanned out, silently.
    write_child(project, ROUTED_CHILD)
    loaded = pipex.load()
    assert loaded.step("etl.take-a").if_ == 'steps["etl.check"].outputs.route == "a"'
    assert loaded.step("etl.take-b").if_ == 'steps["etl.check"].outputs.route == "b"'
    assert loaded.step("etl.each").foreach == 'steps["etl.list"].outputs.files'
    foreach = loaded.step("etl.per").foreach
    assert not isinstance(foreach, str | list) and foreach is not None and foreach.step == "etl.each"

    result = run(
        loaded,
        mocks=[mock("etl.check", outputs={"route": "b"}), mock("etl.list", outputs={"files": ["x.csv", "y.csv"]})],
        workdir=project / "w",
    )
    assert result.status == "success"
    assert result.skipped("etl.take-a", "condition") and result.ran("etl.take-b")
    assert [o.id for o in result.result.steps if o.id.startswith(("etl.each[", "etl.per["))] == [
        "etl.each[x.csv]",
        "etl.each[y.csv]",
        "etl.per[x.csv]",
        "etl.per[y.csv]",
    ]
    assert result.calls("etl.each") == 2 and result.calls("etl.per") == 2


def test_rescoping_rewrites_only_references_to_the_childs_own_steps() -> None:
    ids = frozenset({"extract", "check"})
    assert rescoped('steps.extract.outputs.k == "a"', "etl.", ids) == 'steps["etl.extract"].outputs.k == "a"'
    assert rescoped("steps['check'].status == 'success'", "etl.", ids) == "steps[\"etl.check\"].status == 'success'"
    # a string literal, a field called "steps", an id not of the child, a text that does not parse: as written
    assert rescoped('"steps.extract" == env.X', "etl.", ids) == '"steps.extract" == env.X'
    assert rescoped("env.steps.extract", "etl.", ids) == "env.steps.extract"
    assert rescoped("steps.download.status", "etl.", ids) == "steps.download.status"
    assert rescoped("steps.extract ===", "etl.", ids) == "steps.extract ==="
    # nested: the inner sub-pipeline's already-inlined ids are prefixed once more
    inner = rescoped("steps.dedupe.outputs.n > 0", "clean.", frozenset({"dedupe"}))
    assert rescoped(inner, "etl.", frozenset({"clean.dedupe"})) == 'steps["etl.clean.dedupe"].outputs.n > 0'
