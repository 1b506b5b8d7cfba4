"""Fan-out on the fake runtime: matrix and foreach instances, keys, substitution, per-instance caching, fan-in,
maxParallel and failFast."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipex.engine.engine import Engine
from pipex.engine.events import StepStart, StepWouldRun
from pipex.engine.overlay import overlay_states
from pipex.errors import UsageError, WorkspaceNotFound
from pipex.kits.check import load
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import mock, run
from pipex.workspace import records
from pipex.workspace.layout import Workspace
from pipex.workspace.maintenance import remove_step
from pipex.workspace.reader import step_entry
from tests.unit.engine.test_engine_support import creates, of, write

MATRIX = """
id: mx
steps:
  - id: convert
    name: convert ${{ matrix.region }}
    matrix: {region: [eu, us], format: [csv, parquet]}
    image: alpine:3.20
    env: {TARGET: "${{ matrix.region }}.${{ matrix.format }}"}
    cmd: [sh, -c, "convert --region ${{ matrix.region }} --format $MATRIX_FORMAT"]
  - {id: merge, image: alpine:3.20, cmd: [merge], inputs: [{step: convert}]}
"""

FOREACH = """
id: fe
steps:
  - {id: list, image: alpine:3.20, cmd: [list], outputs: [files]}
  - id: process
    foreach: steps.list.outputs.files
    inputs: [{step: list}]
    image: alpine:3.20
    cmd: [sh, -c, "wc -l /input/list/${{ item }}"]
  - {id: merge, image: alpine:3.20, cmd: [merge], inputs: [{step: process}]}
"""


def _env(spec_env: object) -> dict[str, str]:
    assert isinstance(spec_env, dict)
    return {k: v for k, v in spec_env.items() if k != "PIPEX_OUTPUT"}


def test_a_matrix_runs_the_cross_product_in_file_order_with_values_substituted(tmp_path: Path) -> None:
    r = run(write(tmp_path / "p", MATRIX), workdir=tmp_path / "wd", concurrency=1)
    assert r.status == "success"
    made = creates(r.runtime)
    assert [s.labels["pipex.step"] for s in made] == [
        "convert[eu-csv]",
        "convert[eu-parquet]",
        "convert[us-csv]",
        "convert[us-parquet]",
        "merge",
    ]
    first = made[0]
    assert first.cmd == ("sh", "-c", "convert --region eu --format $MATRIX_FORMAT")
    assert _env(first.env) == {"TARGET": "eu.csv", "MATRIX_REGION": "eu", "MATRIX_FORMAT": "csv"}
    assert r.outcome("convert[us-csv]").name == "convert us"
    assert r.outcome("convert").state == "success"
    # fan-in: every instance at /input/convert/<key>/
    assert [b.target for b in made[-1].binds if b.read_only] == [
        "/input/convert/eu-csv",
        "/input/convert/eu-parquet",
        "/input/convert/us-csv",
        "/input/convert/us-parquet",
    ]
    assert r.result.metrics.ran == 5


def test_foreach_from_an_output_adding_removing_and_reordering_items(tmp_path: Path) -> None:
    path, wd = write(tmp_path / "p", FOREACH), tmp_path / "wd"
    first = run(path, mocks=[mock("list", outputs={"files": ["a.csv", "b.csv"]})], workdir=wd)
    assert first.ran("process[a.csv]") and first.ran("process[b.csv]")
    (spec,) = creates(first.runtime, "process[a.csv]")
    assert spec.cmd == ("sh", "-c", "wc -l /input/list/a.csv") and _env(spec.env) == {"ITEM": "a.csv"}

    added = run(path, mocks=[mock("list", outputs={"files": ["c.csv", "a.csv", "b.csv"]})], workdir=wd, force=["list"])
    assert added.ran("process[c.csv]") and added.cached("process[a.csv]") and added.cached("process[b.csv]")
    assert [s.labels["pipex.step"] for s in creates(added.runtime)] == ["list", "process[c.csv]", "merge"]

    reordered = run(
        path, mocks=[mock("list", outputs={"files": ["b.csv", "c.csv", "a.csv"]})], workdir=wd, force=["list"]
    )
    assert [s.labels["pipex.step"] for s in creates(reordered.runtime)] == ["list"]  # the fan-in is unchanged
    assert reordered.cached("merge")

    removed = run(path, mocks=[mock("list", outputs={"files": ["a.csv", "c.csv"]})], workdir=wd, force=["list"])
    assert removed.cached("process[a.csv]") and removed.cached("process[c.csv]")
    assert [s.labels["pipex.step"] for s in creates(removed.runtime)] == ["list", "merge"]


def test_object_items_give_field_substitution_and_readable_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: obj
        steps:
          - id: each
            foreach: [{region: eu, n: 1}, {region: us, n: 2}, "a b", ["x"]]
            image: alpine:3.20
            cmd: [sh, -c, "echo ${{ item.region }} ${{ item }}"]
        """,
    )
    r = run(path, workdir=tmp_path / "wd", concurrency=1)
    ids = [s.labels["pipex.step"] for s in creates(r.runtime)]
    assert ids[:2] == ["each[1-eu]", "each[2-us]"]
    assert ids[2].startswith("each[a-b-") and ids[3].startswith("each[x-")  # not safe as is: a slug and a hash
    (eu,) = creates(r.runtime, "each[1-eu]")
    assert eu.cmd == ("sh", "-c", 'echo eu {"n":1,"region":"eu"}')
    assert _env(eu.env) == {"ITEM": '{"n":1,"region":"eu"}'}


def test_a_failing_instance_lets_the_others_finish_and_fails_the_step(tmp_path: Path) -> None:
    path = write(tmp_path / "p", MATRIX)
    r = run(path, mocks=[mock("convert[eu-parquet]", exit_code=1)], workdir=tmp_path / "wd", concurrency=1)
    assert r.status == "failed"
    assert r.failed("convert[eu-parquet]") and r.ran("convert[us-parquet]") and r.ran("convert[us-csv]")
    outcome = r.outcome("convert")
    assert outcome.state == "failure"
    assert outcome.message == "1 of 4 instances failed; convert[eu-parquet]: exited with code 1"
    assert r.skipped("merge", "dependency") and r.result.failed_steps == ("convert",)
    again = run(path, workdir=tmp_path / "wd")
    assert again.cached("convert[eu-csv]") and again.ran("convert[eu-parquet]") and again.ran("merge")


def test_fail_fast_starts_no_new_instance_after_a_failure(tmp_path: Path) -> None:
    path = write(tmp_path / "p", MATRIX.replace("    matrix:", "    failFast: true\n    matrix:"))
    r = run(path, mocks=[mock("convert[eu-csv]", exit_code=1)], workdir=tmp_path / "wd", concurrency=1)
    assert r.failed("convert[eu-csv]")
    assert [r.outcome(f"convert[{k}]").state for k in ("eu-parquet", "us-csv", "us-parquet")] == ["cancelled"] * 3
    assert [s.labels["pipex.step"] for s in creates(r.runtime)] == ["convert[eu-csv]"]


def test_max_parallel_bounds_the_instances_running_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "p", MATRIX.replace("    matrix:", "    maxParallel: 2\n    matrix:"))

    class Counting(FakeRuntime):
        def __init__(self) -> None:
            super().__init__()
            self.lock = threading.Lock()
            self.now = self.peak = 0

        def start(self, container: str) -> None:
            with self.lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            super().start(container)

        def wait(self, container: str, timeout: float | None = None) -> int | None:
            code = super().wait(container, timeout)
            if code is not None:
                with self.lock:
                    self.now -= 1
            return code

    rt = Counting()
    rt.script(step="convert", behaviour=Behaviour(delay=0.05))
    r = run(path, runtime=rt, workdir=tmp_path / "wd", concurrency=8)
    assert r.status == "success" and rt.peak == 2


def test_dry_run_of_a_foreach_on_an_output_not_known_yet(tmp_path: Path) -> None:
    path = write(tmp_path / "p", FOREACH)
    r = run(path, workdir=tmp_path / "wd", dry_run=True)
    (would,) = of(r, StepWouldRun, "process")
    assert would.reasons == ("depends on steps.list.outputs.files (not known before list runs)",)
    run(path, mocks=[mock("list", outputs={"files": ["a.csv"]})], workdir=tmp_path / "wd")
    again = run(path, workdir=tmp_path / "wd", dry_run=True)
    assert again.cached("process[a.csv]") and again.cached("process")


def test_an_output_that_is_not_a_list_fails_the_step(tmp_path: Path) -> None:
    path = write(tmp_path / "p", FOREACH)
    r = run(path, mocks=[mock("list", outputs={"files": "a.csv"})], workdir=tmp_path / "wd")
    assert r.failed("process") and r.outcome("process").message == "steps.list.outputs.files is not a list"
    assert r.outcome("process").reason == "foreach"


def test_force_one_instance_or_all(tmp_path: Path) -> None:
    path, wd = write(tmp_path / "p", MATRIX), tmp_path / "wd"
    run(path, workdir=wd)
    one = run(path, workdir=wd, force=["convert[us-csv]"])
    assert [s.labels["pipex.step"] for s in creates(one.runtime)] == ["convert[us-csv]"]
    every = run(path, workdir=wd, force=["convert"], concurrency=1)
    assert len(creates(every.runtime)) == 4
    starts = of(every, StepStart)
    assert [e.step.id for e in starts] == [
        "convert[eu-csv]",
        "convert[eu-parquet]",
        "convert[us-csv]",
        "convert[us-parquet]",
    ]


def test_target_one_instance_runs_it_and_its_dependencies_only(tmp_path: Path) -> None:
    path, wd = write(tmp_path / "p", PAIRED), tmp_path / "wd"
    one = run(path, workdir=wd, target=["transform[us]"], concurrency=1)
    assert one.status == "success"
    # through the paired fan-out: its own extract instance, not the other region's, and not merge
    assert [s.labels["pipex.step"] for s in creates(one.runtime)] == ["extract[us]", "transform[us]"]
    every = run(path, workdir=wd, target=["transform"], concurrency=1)
    assert [s.labels["pipex.step"] for s in creates(every.runtime)] == ["extract[eu]", "transform[eu]"]
    # a target that reads the whole step keeps it whole (merge: its first run; the transforms: cached)
    both = run(path, workdir=wd, target=["extract[eu]", "merge"], force=["extract"], concurrency=1)
    assert [s.labels["pipex.step"] for s in creates(both.runtime)] == ["extract[eu]", "extract[us]", "merge"]


def test_target_an_instance_that_does_not_exist_fails_its_step(tmp_path: Path) -> None:
    r = run(write(tmp_path / "p", MATRIX), workdir=tmp_path / "wd", target=["convert[eu-xml]"])
    assert r.failed("convert") and r.outcome("convert").reason == "target"
    assert r.outcome("convert").message == (
        "--target: no instance eu-xml of convert; its instances: eu-csv, eu-parquet, us-csv, us-parquet"
    )
    assert creates(r.runtime) == []


def test_an_instance_of_an_unknown_or_plain_step_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        run(write(tmp_path / "p", MATRIX), workdir=tmp_path / "wd", target=["convrt[eu-csv]"])
    assert caught.value.message == '--target: unknown step "convrt[eu-csv]"; did you mean "convert[eu-csv]"?'
    with pytest.raises(UsageError) as caught:
        run(write(tmp_path / "p", MATRIX), workdir=tmp_path / "wd", force=["merge[eu-csv]"])
    assert (
        caught.value.message == '--force: "merge" has no instances (no matrix or foreach): "merge[eu-csv]" names none'
    )
    assert caught.value.hint == "name the step: --force merge"


PAIRED = """
id: pair
steps:
  - id: extract
    matrix: {region: [eu, us]}
    image: alpine:3.20
    cmd: [extract]
  - id: transform
    foreach: {step: extract}
    inputs: [{step: extract}]
    image: alpine:3.20
    cmd: [sh, -c, "transform ${{ item }}"]
  - {id: merge, image: alpine:3.20, cmd: [merge], inputs: [{step: transform}]}
"""


def test_paired_fan_out_gives_each_instance_only_its_own(tmp_path: Path) -> None:
    path, wd = write(tmp_path / "p", PAIRED), tmp_path / "wd"
    r = run(path, mocks=[mock("extract", files={"x": "1"})], workdir=wd, concurrency=1)
    assert r.status == "success"
    made = {s.labels["pipex.step"]: s for s in creates(r.runtime)}
    assert list(made) == ["extract[eu]", "extract[us]", "transform[eu]", "transform[us]", "merge"]
    eu = made["transform[eu]"]
    assert eu.cmd == ("sh", "-c", "transform eu")
    (bind,) = [b for b in eu.binds if b.read_only]
    assert bind.target == "/input/extract" and bind.source.parent.name == r.outcome("extract[eu]").run_id
    assert [b.target for b in made["merge"].binds if b.read_only] == ["/input/transform/eu", "/input/transform/us"]
    # a change to one extract instance re-runs only its own transform
    again = run(path, mocks=[mock("extract[us]", files={"x": "2"})], workdir=wd, force=["extract[us]"])
    # (transform[us] writes the same bytes as before: merge stays cached, early cutoff)
    assert [s.labels["pipex.step"] for s in creates(again.runtime)] == ["extract[us]", "transform[us]"]


def test_the_run_record_lists_instances_in_their_group_with_outputs(tmp_path: Path) -> None:
    path = write(tmp_path / "p", MATRIX)
    run(path, mocks=[mock("convert", outputs={"rows": 1})], workdir=tmp_path / "wd", concurrency=1)
    record = records.read(Workspace(tmp_path / "wd", "mx"))
    steps = {s["id"]: s for s in record["steps"]}
    assert sorted(steps) == [
        "convert[eu-csv]",
        "convert[eu-parquet]",
        "convert[us-csv]",
        "convert[us-parquet]",
        "merge",
    ]
    assert {s["group"] for s in steps.values()} == {"convert", None}
    assert steps["convert[eu-csv]"]["group"] == "convert" and steps["merge"]["group"] is None
    assert steps["convert[us-csv]"]["outputs"] == {"rows": 1} and steps["convert[us-csv]"]["outcome"] == "ran"


def test_rm_step_removes_one_instance_or_all(tmp_path: Path) -> None:
    path, wd = write(tmp_path / "p", MATRIX), tmp_path / "wd"
    first = run(path, workdir=wd)
    ws = Workspace(wd, "mx")
    one = remove_step(ws, "convert[eu-csv]")
    assert one.names == (first.outcome("convert[eu-csv]").run_id,)
    every = remove_step(ws, "convert")
    assert len(every.names) == 3 and not any(s.startswith("convert") for s in ws.state().steps)
    again = run(path, workdir=wd)
    assert len([s for s in creates(again.runtime) if s.labels["pipex.step"].startswith("convert[")]) == 4


def test_reading_a_fan_out_step_names_its_instances(tmp_path: Path) -> None:
    run(write(tmp_path / "p", MATRIX), workdir=tmp_path / "wd")
    ws = Workspace(tmp_path / "wd", "mx")
    with pytest.raises(WorkspaceNotFound) as caught:
        step_entry(ws, "convert")
    assert caught.value.message == (
        'step "convert" ran as 4 instances: convert[eu-csv], convert[eu-parquet], convert[us-csv], convert[us-parquet]'
    )
    assert caught.value.hint == "name one, quoted for the shell: 'convert[eu-csv]'"
    assert step_entry(ws, "convert[us-csv]").status == "success"


def test_the_graph_overlay_shows_a_fan_out_step_as_its_worst_instance(tmp_path: Path) -> None:
    path, wd = write(tmp_path / "p", MATRIX), tmp_path / "wd"
    first = run(path, workdir=wd)
    engine = Engine(workdir=wd, runtime=first.runtime)
    pipeline = load(path)
    assert overlay_states(engine, pipeline, Workspace(wd, "mx")) == {"convert": "cached", "merge": "cached"}
    remove_step(Workspace(wd, "mx"), "convert[us-csv]")
    assert overlay_states(engine, pipeline, Workspace(wd, "mx"))["convert"] == "changed"
