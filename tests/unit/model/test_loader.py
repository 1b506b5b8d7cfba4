from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipex.errors import PipelineError
from pipex.model import ProjectConfig, load

RAW = "id: p\nsteps:\n  - id: a\n    image: alpine\n    cmd: [echo, hi]\n"


def write(path: Path, text: str = RAW) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["pipeline.yml", "pipeline.yaml", "pipeline.json"])
def test_a_directory_holds_one_of_three_names(tmp_path: Path, name: str) -> None:
    text = json.dumps({"id": "p", "steps": [{"id": "a", "image": "alpine", "cmd": ["true"]}]})
    write(tmp_path / name, text)
    pipeline = load(tmp_path, cwd=tmp_path)
    assert pipeline.source == tmp_path / name
    assert pipeline.root == tmp_path.resolve()


def test_discovery_order_prefers_yml_then_yaml_then_json(tmp_path: Path) -> None:
    write(tmp_path / "pipeline.json", '{"id": "from-json", "steps": []}')
    write(tmp_path / "pipeline.yaml", RAW.replace("id: p", "id: from-yaml"))
    assert load(cwd=tmp_path).id == "from-yaml"
    write(tmp_path / "pipeline.yml", RAW.replace("id: p", "id: from-yml"))
    assert load(None, cwd=tmp_path).id == "from-yml"


def test_a_directory_without_a_pipeline_names_it_and_the_three_names(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as info:
        load(tmp_path, cwd=tmp_path)
    assert info.value.message == (
        f"no pipeline file in {tmp_path}: looked for pipeline.yml, pipeline.yaml, pipeline.json"
    )
    assert info.value.hint == "pass the pipeline file's path, or run pipex in the directory holding it"


def test_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as info:
        load("nope.yml", cwd=tmp_path)
    assert info.value.message == f"no such pipeline file or directory: {tmp_path / 'nope.yml'}"


def test_any_other_extension_is_json(tmp_path: Path) -> None:
    file = write(tmp_path / "build.pipex", json.dumps({"id": "p", "steps": [{"id": "a", "uses": "x", "x": 1}]}))
    with pytest.raises(PipelineError) as info:
        load(file, cwd=tmp_path)
    assert info.value.problems[0].message == '"x" is not a step field'
    write(tmp_path / "yaml-in-disguise.txt", RAW)
    with pytest.raises(PipelineError) as info:
        load("yaml-in-disguise.txt", cwd=tmp_path)
    assert str(info.value.problems[0]) == "line 1, column 1: invalid JSON: Expecting value"


def test_the_error_names_the_file_relative_to_cwd(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "pipeline.yml", "id: p\nsteps: []\n")
    with pytest.raises(PipelineError) as info:
        load("sub", cwd=tmp_path)
    assert (
        info.value.message
        == "invalid pipeline in sub/pipeline.yml: steps: must not be empty: a pipeline needs at least one step"
    )
    assert info.value.source == "sub/pipeline.yml"
    assert info.value.exit_code == 2


def test_yaml_1_2_meanings_and_value_conversions(tmp_path: Path) -> None:
    text = (
        "name: Mon Pipeline\n"
        "x-common: &common {image: alpine}\n"
        "steps:\n"
        "  - name: Étape un\n"
        "    <<: *common\n"
        "    cmd: [sleep, 1.0, 2.5, 010]\n"
        "    env: {A: yes, B: true, C: 3, D: on, E: 0.5}\n"
    )
    pipeline = load(write(tmp_path / "pipeline.yml", text), cwd=tmp_path)
    assert pipeline.id == "mon-pipeline"
    step = pipeline.step("etape-un")
    assert step.image == "alpine"
    assert step.cmd == ["sleep", "1", "2.5", "10"]
    assert step.env == {"A": "yes", "B": "true", "C": "3", "D": "on", "E": "0.5"}


def test_the_boundary_is_cwd_or_the_root_when_the_file_is_outside(tmp_path: Path) -> None:
    project = tmp_path / "project"
    file = write(project / "pipes" / "pipeline.yml")
    inside = load(file, cwd=project)
    assert (inside.root, inside.boundary) == ((project / "pipes").resolve(), project.resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = load(file, cwd=elsewhere)
    assert (outside.root, outside.boundary) == ((project / "pipes").resolve(), (project / "pipes").resolve())


def test_host_paths_may_reach_up_to_cwd_but_not_beyond(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    text = RAW + "    mounts: [{host: ../data, container: /data}]\n"
    file = write(project / "pipes" / "pipeline.yml", text)
    assert load(file, cwd=project).steps[0].mounts[0].host == "../data"
    with pytest.raises(PipelineError) as info:
        load(file, cwd=tmp_path / "project" / "data")  # the file is outside cwd: the boundary is pipes/
    root = (project / "pipes").resolve()
    assert [str(p) for p in info.value.problems] == [
        f"steps[0].mounts[0].host: host path '../data' resolves to {project.resolve() / 'data'}, "
        f"outside the project directory {root}"
    ]


def test_the_project_config_comes_from_cwd(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    config = write(tmp_path / ".pipex.yml", "runtime: docker\n")
    pipeline = load(write(tmp_path / "pipeline.yml"), cwd=tmp_path)
    assert pipeline.config == ProjectConfig(runtime="docker")
    assert pipeline.config_path == config


def test_environ_is_kept_for_later_stages(tmp_path: Path) -> None:
    pipeline = load(write(tmp_path / "pipeline.yml"), cwd=tmp_path, environ={"A": "1"})
    assert pipeline.environ == {"A": "1"}


def test_a_utf8_bom_is_accepted_and_other_encodings_are_not(tmp_path: Path) -> None:
    file = tmp_path / "pipeline.yml"
    file.write_bytes(b"\xef\xbb\xbf" + RAW.encode())
    assert load(file, cwd=tmp_path).id == "p"
    file.write_bytes(RAW.replace("hi", "h\xe9").encode("latin-1"))
    with pytest.raises(PipelineError) as info:
        load(file, cwd=tmp_path)
    assert info.value.message == f"cannot read {file}: not UTF-8 text"


def test_an_empty_json_file_is_the_empty_pipeline_error(tmp_path: Path) -> None:
    write(tmp_path / "pipeline.json", "  \n")
    with pytest.raises(PipelineError) as info:
        load(cwd=tmp_path)
    assert info.value.message == (
        "invalid pipeline in pipeline.json: the pipeline file is empty "
        "(a pipeline needs an `id` or a `name`, and a list of `steps`)"
    )
