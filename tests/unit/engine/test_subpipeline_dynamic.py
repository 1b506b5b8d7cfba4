"""A sub-pipeline step whose ``foreach`` reads an upstream output: its steps are known once the list is, and then
inlined into the same run exactly as the static form (a literal ``foreach``) inlines them (engine/subfanout.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pipex
from pipex.cli.main import main
from pipex.errors import PipelineError, UsageError
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import mock, run
from tests.subpipelines import input_mounts, ran, sub_project, write_child, write_parent
from tests.unit.engine.test_engine_support import creates

PARENT = """\
id: parent
steps:
  - id: list
    image: alpine:3.20
    cmd: [sh, -c, "list-regions"]
  - id: etl
    pipeline: ./etl/pipeline.yml
    inputs: [{step: list}]
    env: {REGION: "${{ item }}"}
    foreach: steps.list.outputs.regions
  - id: report
    image: alpine:3.20
    cmd: [ls, /input]
    inputs: [{step: etl}]
"""
STATIC = PARENT.replace("foreach: steps.list.outputs.regions", "foreach: [eu, us]")

CHILD = """\
id: etl
steps:
  - id: extract
    name: "extract ${{ item }}"
    image: alpine:3.20
    cmd: [sh, -c, "fetch --region ${{ item }} > /output/x"]
  - id: load
    image: alpine:3.20
    cmd: [cat, /input/extract/x, /input/list]
    inputs: [{step: extract}]
"""
STEPS = ["list", "etl", "etl[eu].extract", "etl[eu].load", "etl[us].extract", "etl[us].load", "report"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return sub_project(tmp_path / "project", PARENT, CHILD, monkeypatch)


def regions(*names: str, exit_code: int = 0) -> pipex.testing.Mock:
    return mock("list", outputs={"regions": list(names)}, exit_code=exit_code)


def fingerprints(wd: Path) -> dict[str, str]:
    state = json.loads((wd / "parent" / "state.json").read_text(encoding="utf-8"))
    return {sid: entry["lastSuccess"]["fingerprint"] for sid, entry in state["steps"].items()}


def test_the_loaded_pipeline_keeps_the_step_until_the_list_is_known(project: Path) -> None:
    p = pipex.load()
    assert p.ids == ["list", "etl", "report"]
    assert [i.step for i in p.step("report").inputs] == ["etl"]
    assert p.validate() == []


def test_a_list_output_runs_the_whole_child_per_item_with_the_static_forms_ids_values_and_fan_in(
    project: Path, tmp_path: Path
) -> None:
    done = run(project, mocks=[regions("eu", "us")], workdir=tmp_path / "wd")
    assert done.status == "success"
    assert [o.id for o in done.result.steps] == STEPS  # the sub-pipeline step, then its steps, as a fan-out's
    assert ran(done) == STEPS  # the sub-pipeline step counts as run with its steps, as a fan-out step does
    eu = creates(done.runtime, "etl[eu].extract")[0]
    assert list(eu.cmd) == ["sh", "-c", "fetch --region eu > /output/x"]  # type: ignore[arg-type]
    assert {"REGION": "eu", "ITEM": "eu"}.items() <= dict(eu.env).items()
    assert input_mounts(done.runtime, "etl[us].load") == ["/input/extract", "/input/list"]
    assert input_mounts(done.runtime, "report") == ["/input/etl/eu/load", "/input/etl/us/load"]
    assert done.result.metrics.ran == 6  # its steps, each once; the sub-pipeline step stands for them
    kinds = [e.kind for e in done.events]
    assert kinds.count("pipeline_start") == 1 and kinds.count("pipeline_end") == 1 and kinds[-1] == "pipeline_end"
    scopes = {(e.kind, e.step.id, e.to_json().get("scope")) for e in done.events if hasattr(e, "step")}
    assert ("step_end", "etl[eu].load", "etl[eu]") in scopes and ("step_end", "report", None) in scopes
    assert not any(e.step.id == "etl" for e in done.events if hasattr(e, "step"))
    (record,) = (tmp_path / "wd" / "parent" / "pipeline-runs").iterdir()
    written = json.loads(record.read_text(encoding="utf-8"))
    assert [s["id"] for s in written["steps"]] == [s for s in STEPS if s != "etl"]
    assert written["status"] == "success" and written["counts"]["ran"] == 6


def test_the_same_list_as_a_literal_gives_the_same_steps_and_fingerprints(project: Path, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    dynamic = run(project, mocks=[regions("us", "eu")], workdir=wd)
    assert dynamic.status == "success"
    before = fingerprints(wd)
    write_parent(project, STATIC)
    static = run(project, mocks=[regions("us", "eu")], workdir=wd)
    assert [o.id for o in static.result.steps] == [s for s in STEPS if s != "etl"]
    assert ran(static) == [] and static.status == "success"  # every step cached: the same fingerprints
    assert fingerprints(wd) == before
    assert set(before) == {s for s in STEPS if s != "etl"}


def test_a_changed_list_runs_only_the_new_instances(project: Path, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    assert run(project, mocks=[regions("eu", "us")], workdir=wd).status == "success"
    again = run(project, mocks=[regions("eu", "us")], workdir=wd)
    assert ran(again) == [] and again.cached("etl[eu].load")
    added = run(project, mocks=[regions("asia", "eu", "us")], workdir=wd, force=["list"])
    assert ran(added) == ["list", "etl", "etl[asia].extract", "etl[asia].load", "report"]
    assert input_mounts(added.runtime, "report") == ["/input/etl/asia/load", "/input/etl/eu/load", "/input/etl/us/load"]
    removed = run(project, mocks=[regions("us")], workdir=wd, force=["list"])
    assert ran(removed) == ["list", "report"] and removed.cached("etl[us].load") and removed.cached("etl")


def test_force_of_the_sub_pipeline_forces_its_steps_once_known(project: Path, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    assert run(project, mocks=[regions("eu")], workdir=wd).status == "success"
    forced = run(project, mocks=[regions("eu")], workdir=wd, force=["etl"])
    assert ran(forced) == ["etl", "etl[eu].extract", "etl[eu].load"] and forced.cached("report")


def test_a_failed_source_skips_the_sub_pipeline_and_its_readers(project: Path, tmp_path: Path) -> None:
    done = run(project, mocks=[regions("eu", exit_code=1)], workdir=tmp_path / "wd")
    assert done.status == "failed" and done.result.failed_step == "list"
    assert [(o.id, o.state, o.reason) for o in done.result.steps] == [
        ("list", "failure", "exit"),
        ("etl", "skipped", "dependency"),
        ("report", "skipped", "dependency"),
    ]


def test_what_the_list_cannot_make_fails_the_step_and_an_empty_list_skips_it(project: Path, tmp_path: Path) -> None:
    missing = run(project, mocks=[mock("list")], workdir=tmp_path / "a")
    assert missing.outcome("etl").message == "steps.list.outputs.regions was not written (foreach needs a list)"
    assert missing.skipped("report", "dependency")
    text = run(project, mocks=[mock("list", outputs={"regions": "eu"})], workdir=tmp_path / "b")
    assert text.outcome("etl").message == "foreach needs a list, steps.list.outputs.regions is str"
    assert text.outcome("etl").reason == "foreach"
    items = [{"a": "x", "b": "y"}, {"k": "x-y"}]
    clash = run(project, mocks=[mock("list", outputs={"regions": items})], workdir=tmp_path / "c")
    assert clash.outcome("etl").message == "two items make the instance key 'x-y' (make the items differ in text)"
    empty = run(project, mocks=[regions()], workdir=tmp_path / "d")
    assert empty.skipped("etl", "condition") and empty.skipped("report", "condition")
    assert empty.status == "success"


def test_a_failing_child_step_fails_the_sub_pipeline_step_for_it(project: Path, tmp_path: Path) -> None:
    done = run(project, mocks=[regions("eu", "us"), mock("etl[us].extract", exit_code=3)], workdir=tmp_path / "wd")
    assert done.status == "failed"
    etl = done.outcome("etl")
    assert (etl.state, etl.reason) == ("failure", "instances")
    assert etl.message == "1 of 4 steps failed; etl[us].extract: exited with code 3"
    assert done.skipped("etl[us].load", "dependency") and done.skipped("report", "dependency")
    assert done.ran("etl[eu].load")


def test_a_dry_run_says_the_instances_are_not_known_yet_then_lists_them_once_the_list_is(
    project: Path, tmp_path: Path
) -> None:
    wd = tmp_path / "wd"
    dry = run(project, dry_run=True, workdir=wd)
    assert [(o.id, o.state) for o in dry.result.steps] == [
        ("list", "would_run"),
        ("etl", "would_run"),
        ("report", "would_run"),
    ]
    would = next(e for e in dry.events if e.kind == "step_would_run" and e.step.id == "etl")
    assert would.reasons == ("depends on steps.list.outputs.regions (not known before list runs)",)
    assert run(project, mocks=[regions("eu")], workdir=wd).status == "success"
    known = run(project, dry_run=True, workdir=wd)  # list is cached: its list is known, so are the steps
    assert [(o.id, o.state) for o in known.result.steps] == [
        ("list", "cached"),
        ("etl", "cached"),
        ("etl[eu].extract", "cached"),
        ("etl[eu].load", "cached"),
        ("report", "cached"),
    ]


def test_the_cli_shows_the_steps_as_they_become_known(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(step="list", behaviour=Behaviour(outputs='regions=["eu"]\n'))
    with pytest.raises(SystemExit) as exited:
        main(["--no-color", "run", "--dry-run", "--workdir", str(tmp_path / "wd")], runtime=rt)
    assert exited.value.code == 0
    assert "? etl  would run (depends on steps.list.outputs.regions (not known before list runs))\n" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exited:
        main(["--no-color", "run", "--workdir", str(tmp_path / "wd")], runtime=rt)
    out = capsys.readouterr().err
    assert exited.value.code == 0
    assert "✓ etl[eu].load  " in out and "✓ succeeded in " in out and ": 4 ran, 0 cached, 0 failed, 0 skipped\n" in out


def test_only_at_the_top_level_and_never_paired(project: Path) -> None:
    write_child(
        project,
        "id: inner\nsteps:\n  - id: list\n    image: alpine:3.20\n    cmd: [x]\n"
        "  - id: etl\n    pipeline: ./etl/pipeline.yml\n    inputs: [{step: list}]\n"
        "    foreach: steps.list.outputs.regions\n",
        "inner.yml",
    )
    write_parent(project, "id: parent\nsteps:\n  - id: outer\n    pipeline: ./inner.yml\n")
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[0].pipeline: inner.yml: a sub-pipeline step with "foreach" from an upstream output is not supported '
        'inside a sub-pipeline yet (give it a literal list or a "matrix", or move it to the top-level pipeline)'
    ]


def test_target_and_force_of_one_instance_take_effect_once_the_list_is_known(project: Path, tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    one = run(project, mocks=[regions("eu", "us")], workdir=wd, target=["etl[us]"])
    assert [o.id for o in one.result.steps] == ["list", "etl", "etl[us].extract", "etl[us].load"]
    assert ran(one) == ["list", "etl", "etl[us].extract", "etl[us].load"]
    assert run(project, mocks=[regions("eu", "us")], workdir=wd).status == "success"
    forced = run(project, mocks=[regions("eu", "us")], workdir=wd, force=["etl[us]"])
    assert ran(forced) == ["etl", "etl[us].extract", "etl[us].load"]  # the same artifacts: report stays cached
    none = run(project, mocks=[regions("eu", "us")], workdir=wd, target=["etl[asia]"])
    etl = none.outcome("etl")
    assert (etl.state, etl.reason) == ("failure", "target")
    assert etl.message == "--target: no instance asia of etl; its instances: eu, us"


PAIRED = """\
id: parent
steps:
  - id: each
    image: alpine:3.20
    matrix: {region: [eu, us]}
    cmd: [sh, -c, "x ${{ matrix.region }}"]
  - id: etl
    pipeline: ./etl/pipeline.yml
    inputs: [{step: each}]
    foreach: {step: each}
    env: {REGION: "${{ item }}"}
  - id: report
    image: alpine:3.20
    cmd: [ls, /input]
    inputs: [{step: etl}]
"""


def test_a_paired_sub_pipeline_runs_the_child_per_instance_each_reading_its_own(project: Path, tmp_path: Path) -> None:
    write_parent(project, PAIRED)
    write_child(project, CHILD.replace("/input/list", "/input/each"))
    wd = tmp_path / "wd"
    dry = run(project, dry_run=True, workdir=wd)
    assert dry.outcome("etl").reason == "depends on the instances of each"
    done = run(project, workdir=wd)
    assert done.status == "success"
    assert [o.id for o in done.result.steps] == ["each", "each[eu]", "each[us]", *STEPS[1:]]
    for key in ("eu", "us"):
        spec = creates(done.runtime, f"etl[{key}].load")[0]
        each = [b for b in spec.binds if b.target == "/input/each"]
        assert len(each) == 1 and each[0].source.parent.name == done.outcome(f"each[{key}]").run_id
        assert dict(spec.env)["ITEM"] == key and dict(spec.env)["REGION"] == key
    assert input_mounts(done.runtime, "report") == ["/input/etl/eu/load", "/input/etl/us/load"]
    again = run(project, workdir=wd)
    assert ran(again) == []


def test_a_sub_pipeline_pairs_only_with_a_fan_out_step(project: Path) -> None:
    bad = PAIRED.replace("    matrix: {region: [eu, us]}\n    cmd: [sh", "    cmd: [sh").replace(
        "  - id: report\n",
        "  - id: again\n    pipeline: ./etl/pipeline.yml\n    inputs: [{step: etl}]\n"
        "    foreach: {step: etl}\n  - id: report\n",
    )
    write_parent(project, bad)
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == ['steps[1].foreach.step: step "each" has no matrix or foreach']
    write_parent(project, bad.replace("    cmd: [sh", "    matrix: {region: [a]}\n    cmd: [sh", 1))
    with pytest.raises(PipelineError) as info:
        pipex.load()
    assert [str(p) for p in info.value.problems] == [
        'steps[2].foreach.step: "etl" is a sub-pipeline: a step cannot pair with its instances (read it whole '
        '(inputs: [{step: etl}]) or give this step the same "matrix")'
    ]


def test_force_and_approve_take_its_steps_by_id_target_says_they_do_not_exist_yet(
    project: Path, tmp_path: Path
) -> None:
    write_child(
        project,
        CHILD.replace("    inputs: [{step: extract}]\n", "    inputs: [{step: extract}, {step: ok}]\n")
        + "  - id: ok\n    approval: {message: go?}\n    inputs: [{step: extract}]\n",
    )
    wd = tmp_path / "wd"
    held = run(project, mocks=[regions("eu", "us")], workdir=wd, approve=["etl[us].ok"])
    assert held.status == "suspended" and held.result.waiting == ("etl[eu].ok",)
    assert held.ran("etl[us].load") and not held.ran("etl[eu].load")
    forced = run(project, mocks=[regions("eu", "us")], workdir=wd, approve=["etl[eu].ok"], force=["etl.extract"])
    assert forced.status == "success"
    assert ran(forced) == [  # extract forced in every instance; us's load: the same inputs, cached
        "etl",
        "etl[eu].extract",
        "etl[eu].load",
        "etl[eu].ok",
        "etl[us].extract",
        "etl[us].ok",
        "report",
    ]
    assert forced.cached("etl[us].load")
    with pytest.raises(UsageError) as info:
        run(project, mocks=[regions("eu")], workdir=wd, target=["etl[us].load"])
    assert (info.value.message, info.value.hint) == (
        '--target: the steps of sub-pipeline "etl" are known only once it runs: "etl[us].load"',
        "name the sub-pipeline or one of its instances: --target etl, --target 'etl[KEY]'",
    )
