"""YAML template kits (kits/NAME.yml): substitution rules and load-time checks."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from pipex.errors import Problem
from pipex.kits.resolve import kit_problems, resolve_step
from pipex.model.spec import CacheSpec, MountSpec, SetupSpec

GDAL = """
description: Run a GDAL command
params:
  run: {type: string, required: true}
  tag: {type: string, default: "3.9.0"}
  packages: {type: list, default: []}
  threads: {type: number, default: 2}
  online: {type: boolean, default: false}
  src: {type: string}
  label: {type: string}
step:
  image: "ghcr.io/osgeo/gdal:ubuntu-small-{{ params.tag }}"
  cmd: [sh, -c, "{{params.run}}", "{{ params.label }}", 7]
  env:
    GDAL_NUM_THREADS: "{{ params.threads }}"
    ONLINE: "{{ params.online }}"
    LABEL: "label={{ params.label }}"
  mounts: [{host: "{{ params.src }}", container: /app}]
  sources: [{host: data, container: /data}]
  caches:
    - {name: gdal, path: /cache, exclusive: "{{ params.online }}"}
    - {name: "c-{{ params.label }}", path: /labelled}
  setup:
    cmd: [apt-get, install, -y, "{{ params.packages }}"]
    caches: [{name: apt, path: /var/cache/apt, exclusive: true}]
    allowNetwork: true
  allowNetwork: "{{ params.online }}"
"""


@pytest.fixture
def gdal(project: Path) -> Path:
    (project / "data").mkdir()
    (project / "src").mkdir()
    (project / "kits").mkdir()
    (project / "kits" / "gdal.yml").write_text(GDAL)
    return project


def test_defaults_and_dropped_optionals(make, gdal: Path) -> None:
    pipeline = make({"uses": "gdal", "with": {"run": "gdalinfo --version"}})
    spec = resolve_step(pipeline.steps[0], pipeline)
    assert spec.image == "ghcr.io/osgeo/gdal:ubuntu-small-3.9.0"
    assert spec.cmd == ("sh", "-c", "gdalinfo --version", "7")
    assert dict(spec.env) == {"GDAL_NUM_THREADS": "2", "ONLINE": "false"}
    assert spec.mounts == ()
    assert spec.sources == (MountSpec(gdal / "data", "/data"),)
    assert spec.caches == (CacheSpec("gdal", "/cache", exclusive=False),)
    assert spec.setup == SetupSpec(
        ("apt-get", "install", "-y"),
        (CacheSpec("apt", "/var/cache/apt", exclusive=True),),
        allow_network=True,
    )
    assert spec.allow_network is False
    assert spec.kit is not None
    assert dict(spec.kit.params) == {
        "label": None,
        "online": False,
        "packages": [],
        "run": "gdalinfo --version",
        "src": None,
        "tag": "3.9.0",
        "threads": 2,
    }


def test_every_parameter_given(make, gdal: Path) -> None:
    params = {
        "run": "ogr2ogr",
        "tag": "3.8.5",
        "packages": ["jq", "curl"],
        "threads": 1.5,
        "online": True,
        "src": "src",
        "label": "L",
    }
    pipeline = make({"uses": "gdal", "with": params})
    spec = resolve_step(pipeline.steps[0], pipeline)
    assert spec.image == "ghcr.io/osgeo/gdal:ubuntu-small-3.8.5"
    assert spec.cmd == ("sh", "-c", "ogr2ogr", "L", "7")
    assert dict(spec.env) == {"GDAL_NUM_THREADS": "1.5", "ONLINE": "true", "LABEL": "label=L"}
    assert spec.mounts == (MountSpec(gdal / "src", "/app"),)
    assert spec.caches == (CacheSpec("gdal", "/cache", exclusive=True), CacheSpec("c-L", "/labelled"))
    assert spec.setup is not None
    assert spec.setup.cmd == ("apt-get", "install", "-y", "jq", "curl")
    assert spec.allow_network is True


def test_parameters_are_type_checked(make, gdal: Path) -> None:
    pipeline = make({"uses": "gdal", "with": {"threads": "2", "online": "true", "packages": "jq", "rn": "x"}})
    assert kit_problems(pipeline) == [
        Problem("steps[0].with.run", 'missing required parameter "run" of kit "gdal"'),
        Problem(
            "steps[0].with.packages",
            'packages must be a list of strings, not the string "jq"',
            "write packages: [jq]",
        ),
        Problem("steps[0].with.threads", 'threads must be a number, not the string "2"'),
        Problem(
            "steps[0].with.online",
            'online must be true or false, not the string "true"',
            "write online: true, without quotes",
        ),
        Problem("steps[0].with.rn", '"rn" is not a parameter of kit "gdal"; did you mean "run"?'),
    ]


def test_unset_parameter_in_a_required_place(make, project: Path) -> None:
    (project / "kits").mkdir()
    (project / "kits" / "t.yml").write_text(
        "params: {tag: {type: string}}\nstep: {image: 'x:{{ params.tag }}', cmd: [run]}\n"
    )
    assert kit_problems(make({"uses": "t"})) == [Problem("steps[0].with.tag", '"tag" is needed: step.image uses it')]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "params: {name: {}}\nstep: {image: x, cmd: ['{{ params.nme }}']}",
            'invalid kit "t" in kits/t.yml: step.cmd[0]: unknown placeholder "{{ params.nme }}": '
            'no parameter "nme"; did you mean "{{ params.name }}"?',
        ),
        (
            "step: {image: '{{ env.HOME }}', cmd: [x]}",
            'invalid kit "t" in kits/t.yml: step.image: unknown placeholder "{{ env.HOME }}": only '
            "{{ params.NAME }} is supported",
        ),
        (
            "params: {p: {type: list}}\nstep: {image: x, cmd: ['run {{ params.p }}']}",
            'invalid kit "t" in kits/t.yml: step.cmd[0]: list parameter "p" can only be a whole cmd item '
            '("{{ params.p }}")',
        ),
        (
            "params: {p: {type: list}}\nstep: {image: x, cmd: [x], env: {A: '{{ params.p }}'}}",
            'invalid kit "t" in kits/t.yml: step.env.A: list parameter "p" can only be a whole cmd item '
            '("{{ params.p }}")',
        ),
        (
            "params: {p: {}}\nstep: {image: x, cmd: [x], allowNetwork: '{{ params.p }}'}",
            'invalid kit "t" in kits/t.yml: step.allowNetwork: must be true, false or one boolean parameter',
        ),
        (
            "step: {image: x, cmd: [x], allowNetwork: 'yes'}",
            'invalid kit "t" in kits/t.yml: step.allowNetwork: must be true, false or one boolean parameter, '
            'not the string "yes"',
        ),
        (
            "step: {image: 'x:{{ params.a', cmd: [x]}",
            'invalid kit "t" in kits/t.yml: step.image: unclosed "{{": a placeholder is {{ params.NAME }}',
        ),
        (
            "params: {p: {required: true, default: a}}\nstep: {image: x, cmd: [x]}",
            'invalid kit "t" in kits/t.yml: params.p: a required parameter has no default',
        ),
        (
            "params: {p: {type: number, default: '1'}}\nstep: {image: x, cmd: [x]}",
            'invalid kit "t" in kits/t.yml: params.p: default the string "1" is not of type number',
        ),
        (
            "params: {p-q: {}}\nstep: {image: x, cmd: [x]}",
            'invalid kit "t" in kits/t.yml: params.p-q: a parameter name is letters, digits and _ '
            "(it is used as {{ params.NAME }})",
        ),
        (
            "step: {imgae: x, cmd: [x]}",
            'invalid kit "t" in kits/t.yml: step.imgae: unknown key "imgae"; did you mean "image"?; '
            "step.image: missing",
        ),
        (
            "params: {p: {type: text}}\nstep: {image: x, cmd: [x]}",
            "invalid kit \"t\" in kits/t.yml: params.p.type: input should be 'string', 'number', 'boolean' or 'list'",
        ),
        (
            "step: {image: x, cmd: []}",
            'invalid kit "t" in kits/t.yml: step.cmd: list should have at least 1 item after validation, not 0',
        ),
        (
            "step: [",
            'cannot load kit "t" from kits/t.yml: line 2, column 1: invalid YAML: did not find expected node '
            "content (while parsing a flow node)",
        ),
    ],
)
def test_template_load_errors(make, project: Path, text: str, message: str) -> None:
    (project / "kits").mkdir()
    (project / "kits" / "t.yml").write_text(dedent(text))
    assert kit_problems(make({"uses": "t"})) == [Problem("steps[0].uses", message)]
