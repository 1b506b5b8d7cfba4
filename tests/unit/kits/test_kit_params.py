"""Kit parameter problems: each one located at steps[N].with.<param>, with a plain message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipex.errors import KitError, PipelineError, Problem
from pipex.kits.check import load
from pipex.kits.resolve import kit_problems, resolve_step

CASES: list[tuple[str, dict[str, Any], list[Problem]]] = [
    (
        "shell",
        {},
        [Problem("steps[0].with.run", 'missing required parameter "run" of kit "shell"')],
    ),
    (
        "shell",
        {"run": ""},
        [Problem("steps[0].with.run", "run must not be empty")],
    ),
    (
        "shell",
        {"run": 5},
        [Problem("steps[0].with.run", 'run must be a string: write run: "5"')],
    ),
    (
        "shell",
        {"run": "x", "packages": "curl jq"},
        [
            Problem(
                "steps[0].with.packages",
                'packages must be a list of strings, not the string "curl jq"',
                "write packages: [curl, jq]",
            )
        ],
    ),
    (
        "shell",
        {"run": "x", "packages": ["curl", "bad pkg; rm -rf /"]},
        [
            Problem(
                "steps[0].with.packages[1]",
                'packages[1] must be an apt package name, not "bad pkg; rm -rf /"',
            )
        ],
    ),
    (
        "shell",
        {"run": "x", "packages": [3]},
        [Problem("steps[0].with.packages[0]", 'packages[0] must be a string: write packages[0]: "3"')],
    ),
    (
        "shell",
        {"run": "x", "package": ["curl"]},
        [
            Problem(
                "steps[0].with.package",
                '"package" is not a parameter of kit "shell"; did you mean "packages"?',
            )
        ],
    ),
    (
        "shell",
        {"run": "x", "zzz": 1},
        [
            Problem(
                "steps[0].with.zzz",
                '"zzz" is not a parameter of kit "shell"',
                'kit "shell" takes: image, packages, run, src',
            )
        ],
    ),
    (
        "node",
        {"run": "x", "install": "false"},
        [
            Problem(
                "steps[0].with.install",
                'install must be true or false, not the string "false"',
                "write install: false, without quotes",
            )
        ],
    ),
    (
        "node",
        {"run": "x", "install": 1},
        [Problem("steps[0].with.install", "install must be true or false, not the number 1")],
    ),
    (
        "python",
        {"run": "x", "version": 3.12},
        [Problem("steps[0].with.version", 'version must be a string: write version: "3.12"')],
    ),
    (
        "node",
        {"run": "x", "version": 22},
        [Problem("steps[0].with.version", 'version must be a string: write version: "22"')],
    ),
    (
        "node",
        {"run": "x", "version": "22 lts"},
        [
            Problem(
                "steps[0].with.version",
                'version must be a valid image tag (letters, digits, "_", ".", "-"), not "22 lts"',
            )
        ],
    ),
    (
        "node",
        {"run": "x", "packageManager": "pnp"},
        [
            Problem(
                "steps[0].with.packageManager",
                'packageManager must be one of npm, pnpm, yarn, not "pnp"; did you mean "pnpm"?',
            )
        ],
    ),
    (
        "python",
        {"run": "x", "packageManager": "poetry"},
        [Problem("steps[0].with.packageManager", 'packageManager must be one of pip, uv, not "poetry"')],
    ),
    (
        "python",
        {"run": "x", "package_manager": "uv"},
        [
            Problem(
                "steps[0].with.package_manager",
                '"package_manager" is not a parameter of kit "python"; did you mean "packageManager"?',
            )
        ],
    ),
    (
        "node",
        {},
        [Problem("steps[0].with", 'kit "node" needs "script" or "run"')],
    ),
    (
        "python",
        {"script": "a.py", "run": "python a.py"},
        [Problem("steps[0].with", 'kit "python" takes "script" or "run", not both')],
    ),
    (
        "python",
        {"script": "/abs/a.py"},
        [
            Problem(
                "steps[0].with.script",
                'script must be a path relative to /app, without "..", not "/abs/a.py"',
            )
        ],
    ),
    (
        "node",
        {"script": "../a.js"},
        [Problem("steps[0].with.script", 'script must be a path relative to /app, without "..", not "../a.js"')],
    ),
    (
        "shell",
        {"run": None},
        [Problem("steps[0].with.run", "run must be a string, not null")],
    ),
    (
        "shell",
        {"run": ["echo", "hi"]},
        [Problem("steps[0].with.run", "run must be a string, not a list")],
    ),
    (
        "python",
        {"run": "x", "src": "nowhere"},
        [
            Problem(
                "steps[0].with.src",
                "host path 'nowhere' does not exist ({root}/nowhere)",
            )
        ],
    ),
    (
        "python",
        {"run": "x", "src": "/etc"},
        [Problem("steps[0].with.src", "host path '/etc' must be relative to the pipeline root {root}")],
    ),
    (
        "shell",
        {"run": "x", "src": "../outside"},
        [
            Problem(
                "steps[0].with.src",
                "host path '../outside' resolves to {parent}/outside, outside the project directory {root}",
            )
        ],
    ),
    (
        "shell",
        {"run": "x", "install": True},
        [
            Problem(
                "steps[0].with.install",
                '"install" is not a parameter of kit "shell"',
                'kit "shell" takes: image, packages, run, src',
            )
        ],
    ),
]


@pytest.mark.parametrize(("kit", "params", "expected"), CASES)
def test_parameter_problem(make, project: Path, kit: str, params: dict[str, Any], expected: list[Problem]) -> None:
    pipeline = make({"uses": kit, "with": params})
    fill = {"root": str(project), "parent": str(project.parent)}
    want = [Problem(p.location, p.message.format(**fill), p.hint) for p in expected]
    assert kit_problems(pipeline) == want


def test_several_problems_of_one_step_are_all_reported(make) -> None:
    pipeline = make({"uses": "node", "with": {"run": "x", "install": "yes", "variant": 3, "scrpt": "a"}})
    assert [p.location for p in kit_problems(pipeline)] == [
        "steps[0].with.variant",
        "steps[0].with.install",
        "steps[0].with.scrpt",
    ]


def test_script_missing_from_src(make, project: Path) -> None:
    (project / "app").mkdir()
    pipeline = make({"uses": "python", "with": {"script": "main.py", "src": "app"}})
    assert kit_problems(pipeline) == [Problem("steps[0].with.script", 'script "main.py" is not a file in src "app"')]


def test_src_must_be_a_directory(make, project: Path) -> None:
    (project / "main.py").write_text("")
    for kit in ("shell", "python", "node"):
        pipeline = make({"uses": kit, "with": {"run": "x", "src": "main.py"}})
        assert kit_problems(pipeline) == [
            Problem("steps[0].with.src", 'src "main.py" is a file; give the directory holding it')
        ]


def test_yaml_float_version_says_to_quote_it(project: Path) -> None:
    (project / "pipeline.yml").write_text(
        "id: p\nsteps:\n  - id: a\n    uses: python\n    with: {run: python -V, version: 3.10}\n"
    )
    with pytest.raises(PipelineError) as caught:
        load(project)
    assert caught.value.problems == (
        Problem(
            "steps[0].with.version",
            'version must be a string: write version: "3.10"',
            'YAML reads an unquoted 3.10 as the number 3.1; if you meant 3.1, write "3.1"',
        ),
    )


def test_problems_are_indexed_by_step_position(make) -> None:
    pipeline = make({"uses": "shell", "with": {"run": "ok"}}, {"uses": "shell", "with": {}})
    assert kit_problems(pipeline) == [Problem("steps[1].with.run", 'missing required parameter "run" of kit "shell"')]


def test_resolve_step_raises_kit_error_with_the_problems(make) -> None:
    pipeline = make({"uses": "shell", "with": {"run": "x", "packages": "curl"}})
    with pytest.raises(KitError) as caught:
        resolve_step(pipeline.steps[0], pipeline)
    assert str(caught.value) == (
        'invalid pipeline: steps[0].with.packages: packages must be a list of strings, not the string "curl" '
        "(write packages: [curl])"
    )
