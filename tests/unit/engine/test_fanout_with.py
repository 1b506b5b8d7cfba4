"""Fan-out values in ``with``: substituted per instance before the kit resolves the step, so whatever the kit
makes of a value (image tag, script path, mount, working dir, flag) is the instance's own — as the container got
it on the fake runtime — and so are the instance's fingerprint and the kit parameters it records."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

from pipex.engine.engine import Engine
from pipex.errors import KitError, PipelineError
from pipex.kits.check import load
from pipex.runtime.base import ContainerSpec
from pipex.runtime.fake import FakeRuntime
from pipex.testing import mock, run
from tests.unit.engine.test_engine_support import creates, meta, write


def _env(spec: ContainerSpec) -> dict[str, str]:
    return {k: v for k, v in spec.env.items() if k != "PIPEX_OUTPUT"}


def _binds(spec: ContainerSpec) -> dict[str, Path]:
    return {b.target: b.source for b in spec.binds if not b.target.startswith(("/input", "/output", "/pipex"))}


def _fingerprints(result: object, *steps: str) -> set[str]:
    return {meta(result, step)["fingerprint"] for step in steps}  # type: ignore[arg-type]


def _project(root: Path, *dirs: str, files: dict[str, str] | None = None) -> Path:
    for name in dirs:
        (root / name).mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_shell_kit_gets_each_instance_s_image_command_and_mount(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "data/eu", "data/us")
    path = write(
        root,
        """
        id: sh
        steps:
          - id: conv
            matrix: {region: [eu, us], tag: ["3.19", "3.20"]}
            uses: shell
            with:
              run: "convert --region ${{ matrix.region }}"
              image: "alpine:${{ matrix.tag }}"
              src: "data/${{ matrix.region }}"
        """,
    )
    rt = FakeRuntime(images=["alpine:3.19", "alpine:3.20"])
    r = run(path, workdir=tmp_path / "wd", runtime=rt, concurrency=1)
    assert r.status == "success"
    (eu,) = creates(rt, "conv[eu-3.19]")
    assert eu.image == "alpine:3.19"
    assert eu.cmd == ("sh", "-c", "convert --region eu")
    assert _binds(eu) == {"/app": root / "data" / "eu"}
    assert _env(eu) == {"MATRIX_REGION": "eu", "MATRIX_TAG": "3.19"}
    (us,) = creates(rt, "conv[us-3.20]")
    assert (us.image, us.cmd, _binds(us)) == (
        "alpine:3.20",
        ("sh", "-c", "convert --region us"),
        {"/app": root / "data" / "us"},
    )
    ids = ["conv[eu-3.19]", "conv[eu-3.20]", "conv[us-3.19]", "conv[us-3.20]"]
    assert len(_fingerprints(r, *ids)) == 4
    kit_parts = {meta(r, i)["fingerprintParts"]["kit"] for i in ids}
    assert len(kit_parts) == 4  # the kit's parameters in each fingerprint are the instance's values
    again = run(path, workdir=tmp_path / "wd", runtime=FakeRuntime(images=["alpine:3.19", "alpine:3.20"]))
    assert all(again.cached(i) for i in ids)


def test_python_kit_gets_each_item_s_script_and_version(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", files={"app/a.py": "", "app/b.py": ""})
    path = write(
        root,
        """
        id: py
        steps:
          - id: each
            foreach: [{script: a.py, py: "3.11"}, {script: b.py, py: "3.12"}]
            uses: python
            with: {script: "${{ item.script }}", version: "${{ item.py }}", src: app, install: false}
        """,
    )
    rt = FakeRuntime(images=["python:3.11-slim", "python:3.12-slim"])
    r = run(path, workdir=tmp_path / "wd", runtime=rt)
    assert r.status == "success"
    (a,) = creates(rt, "each[3.11-a.py]")
    assert (a.image, a.cmd) == ("python:3.11-slim", ("sh", "-c", "python /app/a.py"))
    assert _binds(a) == {"/app": root / "app"}
    (b,) = creates(rt, "each[3.12-b.py]")
    assert (b.image, b.cmd) == ("python:3.12-slim", ("sh", "-c", "python /app/b.py"))
    assert _env(b) == {"ITEM": '{"py":"3.12","script":"b.py"}'}
    assert len(_fingerprints(r, "each[3.11-a.py]", "each[3.12-b.py]")) == 2


def test_a_value_the_kit_refuses_is_an_error_when_the_pipeline_loads(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", files={"app/a.py": ""})
    path = write(
        root,
        """
        id: py
        steps:
          - id: each
            foreach: [a.py, c.py]
            uses: python
            with: {script: "${{ item }}", src: app, install: false}
        """,
    )
    with pytest.raises(PipelineError) as caught:
        load(path)
    assert [str(p) for p in caught.value.problems] == [
        'steps[0].with.script: instance each[c.py]: script "c.py" is not a file in src "app"'
    ]


def test_node_kit_over_an_upstream_output_resolves_each_item_at_run_time(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", files={"app/a.js": "", "app/b.js": ""})
    path = write(
        root,
        """
        id: nd
        steps:
          - {id: list, image: alpine:3.20, cmd: [list], outputs: [scripts]}
          - id: each
            foreach: steps.list.outputs.scripts
            inputs: [{step: list}]
            uses: node
            with: {script: "${{ item }}", src: app, install: false}
        """,
    )
    rt = FakeRuntime(images=["alpine:3.20", "node:24-alpine"])
    r = run(path, mocks=[mock("list", outputs={"scripts": ["a.js", "b.js"]})], workdir=tmp_path / "wd", runtime=rt)
    assert r.status == "success"
    (a,) = creates(rt, "each[a.js]")
    assert (a.image, a.cmd) == ("node:24-alpine", ("sh", "-c", "node /app/a.js"))
    (b,) = creates(rt, "each[b.js]")
    assert b.cmd == ("sh", "-c", "node /app/b.js")
    assert len(_fingerprints(r, "each[a.js]", "each[b.js]")) == 2
    assert meta(r, "each[a.js]")["fingerprintParts"]["kit"] != meta(r, "each[b.js]")["fingerprintParts"]["kit"]

    rt = FakeRuntime(images=["alpine:3.20", "node:24-alpine"])
    mocked = [mock("list", outputs={"scripts": ["a.js", "c.js"]})]
    bad = run(path, mocks=mocked, workdir=tmp_path / "wd2", runtime=rt)
    refused = bad.outcome("each[c.js]")  # only the instance the kit refused fails; the others run
    assert (refused.state, refused.reason) == ("failure", "kit")
    assert refused.message == 'steps[1].with.script: script "c.js" is not a file in src "app"'
    assert bad.outcome("each[a.js]").state == "success" and creates(rt, "each[c.js]") == []
    assert bad.outcome("each").message == (
        '1 of 2 instances failed; each[c.js]: steps[1].with.script: script "c.js" is not a file in src "app"'
    )
    assert bad.result.failure_source == "user"


CUSTOM_KIT = """
from pydantic import BaseModel, ConfigDict

from pipex.kits import StepTemplate


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    data: str
    tag: str
    mode: str = "fast"


class Tool:
    name = "tool"
    params = Params

    def resolve(self, params, context):
        return StepTemplate(
            image=f"tool:{params.tag}",
            cmd=("sh", "-c", "cd /work && run"),
            env={"MODE": params.mode},
            mounts=[(params.data, "/work")],
        )


kit = Tool()
"""

TEMPLATE_KIT = """
params:
  tag: {type: string, required: true}
  flags: {type: list, default: []}
step:
  image: "gdal:{{ params.tag }}"
  cmd: [gdalinfo, "{{ params.flags }}"]
"""


def test_custom_and_template_kits_get_each_instance_s_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(
        tmp_path / "p",
        "in/eu",
        "in/us",
        files={".pipex.yml": "kits: {}\n", "kits/tool.py": CUSTOM_KIT, "kits/gdal.yml": TEMPLATE_KIT},
    )
    monkeypatch.chdir(root)
    path = write(
        root,
        """
        id: ck
        steps:
          - id: tool
            matrix: {region: [eu, us]}
            uses: tool
            with: {data: "in/${{ matrix.region }}", tag: "v-${{ matrix.region }}", mode: "${{ matrix.region }}"}
          - id: info
            foreach: [{tag: "3.9", flag: --stats}, {tag: "3.10", flag: --json}]
            uses: gdal
            with: {tag: "${{ item.tag }}", flags: ["-q", "${{ item.flag }}"]}
        """,
    )
    rt = FakeRuntime(images=["tool:v-eu", "tool:v-us", "gdal:3.9", "gdal:3.10"])
    r = run(path, workdir=tmp_path / "wd", runtime=rt)
    assert r.status == "success"
    (us,) = creates(rt, "tool[us]")
    assert (us.image, _binds(us), _env(us)) == (
        "tool:v-us",
        {"/work": root / "in" / "us"},
        {"MODE": "us", "MATRIX_REGION": "us"},
    )
    (stats,) = creates(rt, "info[stats-5b7a851b-3.9]")
    assert (stats.image, stats.cmd) == ("gdal:3.9", ("gdalinfo", "-q", "--stats"))
    (js,) = creates(rt, "info[json-ec8dcf83-3.10]")
    assert (js.image, js.cmd) == ("gdal:3.10", ("gdalinfo", "-q", "--json"))
    assert len(_fingerprints(r, "tool[eu]", "tool[us]")) == 2


def test_an_item_value_is_substituted_once(tmp_path: Path) -> None:
    """An upstream item holding ``${{ … }}`` text reaches the kit as that text, never substituted again."""
    path = write(
        tmp_path / "p",
        """
        id: once
        steps:
          - {id: list, image: alpine:3.20, cmd: [list], outputs: [items]}
          - id: each
            foreach: steps.list.outputs.items
            inputs: [{step: list}]
            uses: shell
            with: {run: "echo '${{ item }}'"}
            env: {SEEN: "${{ item }}"}
        """,
    )
    item = "${{ item }}x"
    r = run(path, mocks=[mock("list", outputs={"items": [item]})], workdir=tmp_path / "wd")
    (spec,) = [s for s in creates(r.runtime) if s.labels["pipex.step"].startswith("each[")]
    assert spec.cmd == ("sh", "-c", f"echo '{item}'")
    assert _env(spec) == {"SEEN": item, "ITEM": item}


def test_unknown_names_in_with_are_validation_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: bad
        steps:
          - id: conv
            matrix: {region: [eu]}
            uses: shell
            with: {run: "echo ${{ matrix.zone }}", packages: [curl, "${{ item.x }}"]}
        """,
    )
    with pytest.raises(PipelineError) as caught:
        load(path)
    assert [str(p) for p in caught.value.problems] == [
        "steps[0].with.run: ${{ matrix.zone }}: unknown matrix name (its names: region)",
        'steps[0].with.packages[1]: ${{ item.x }}: the step has no "foreach"',
    ]


def test_parameters_without_placeholders_are_still_checked_when_items_come_later(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p",
        """
        id: later
        steps:
          - {id: list, image: alpine:3.20, cmd: [list], outputs: [files]}
          - id: each
            foreach: steps.list.outputs.files
            inputs: [{step: list}]
            uses: python
            with: {script: "${{ item }}", vesion: "3.12"}
        """,
    )
    with pytest.raises(PipelineError) as caught:
        load(path)
    assert [str(p) for p in caught.value.problems] == [
        'steps[1].with.vesion: "vesion" is not a parameter of kit "python"; did you mean "version"?'
    ]
    assert json.loads(json.dumps([p.location for p in caught.value.problems])) == ["steps[1].with.vesion"]


def test_each_run_of_a_loaded_pipeline_asks_the_kit_again(tmp_path: Path) -> None:
    """The load's check is reused by the run that follows it, never by a later one: files the kit looks at
    may have changed in between."""
    root = _project(tmp_path / "p", files={"app/a.py": ""})
    path = write(
        root,
        """
        id: again
        steps:
          - id: each
            foreach: [a.py]
            uses: python
            with: {script: "${{ item }}", src: app, install: false}
        """,
    )
    pipeline = load(path)
    images = ["python:3.12-slim"]
    assert run(pipeline, workdir=tmp_path / "wd", runtime=FakeRuntime(images=images)).status == "success"
    (root / "app" / "a.py").unlink()
    with pytest.raises(KitError) as caught:  # as for any kit step: the run checks its pipeline again
        run(pipeline, workdir=tmp_path / "wd", runtime=FakeRuntime(images=images))
    assert [str(p) for p in caught.value.problems] == [
        'steps[0].with.script: instance each[a.py]: script "a.py" is not a file in src "app"'
    ]


def test_many_refused_instances_are_counted_not_all_listed(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "app")
    path = write(
        root,
        """
        id: many
        steps:
          - id: each
            matrix: {n: [1, 2, 3, 4, 5]}
            uses: python
            with: {script: "s${{ matrix.n }}.py", src: app, install: false}
        """,
    )
    with pytest.raises(PipelineError) as caught:
        load(path)
    assert [str(p) for p in caught.value.problems] == [
        'steps[0].with.script: instance each[1]: script "s1.py" is not a file in src "app"',
        'steps[0].with.script: instance each[2]: script "s2.py" is not a file in src "app"',
        'steps[0].with.script: instance each[3]: script "s3.py" is not a file in src "app"',
        "steps[0].with: and 2 more instances with problems",
    ]


# Appends each name it is asked about to calls.log in the project: how often the kit ran, seen from outside.
COUNTING_KIT = """
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pipex.kits import StepTemplate


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str


class Counting:
    name = "counting"
    params = Params

    def resolve(self, params, context):
        with open(Path(context.root) / "calls.log", "a") as log:
            log.write(params.name + "\\n")
        return StepTemplate(image="alpine:3.20", cmd=("echo", params.name))


kit = Counting()
"""


def test_the_run_after_a_load_reuses_the_load_s_resolutions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p", files={".pipex.yml": "kits: {}\n", "kits/counting.py": COUNTING_KIT})
    monkeypatch.chdir(root)
    path = write(
        root,
        """
        id: once
        steps:
          - id: each
            foreach: [a, b, c]
            uses: counting
            with: {name: "${{ item }}"}
        """,
    )
    calls = root / "calls.log"
    pipeline = load(path)
    assert calls.read_text().split() == ["a", "b", "c"]  # the load's check asks the kit about every instance
    engine = Engine(workdir=tmp_path / "wd", runtime=FakeRuntime(images=["alpine:3.20"]))
    assert engine.run_sync(pipeline).status == "success"
    assert calls.read_text().split() == ["a", "b", "c"]  # the run took the load's answers
    assert engine.run_sync(pipeline, force=True).status == "success"
    assert calls.read_text().split() == ["a", "b", "c"] * 2  # a later run asks again


def test_a_loaded_pipeline_still_pickles_and_deep_copies(tmp_path: Path) -> None:
    # What the load resolved stays behind (the kits' code does not pickle): the copy resolves afresh.
    path = write(
        tmp_path / "p",
        """
        id: copied
        steps:
          - id: each
            foreach: [a, b]
            uses: shell
            with: {run: "echo ${{ item }}"}
        """,
    )
    pipeline = load(path)
    for copied in (pickle.loads(pickle.dumps(pipeline)), copy.deepcopy(pipeline)):
        assert copied == pipeline
        done = run(copied, workdir=tmp_path / "wd", runtime=FakeRuntime(images=["alpine:3.20"]), force=True)
        # the instances run in parallel: their containers are created in either order
        assert sorted(spec.cmd for spec in creates(done.runtime)) == [("sh", "-c", "echo a"), ("sh", "-c", "echo b")]
