"""Finding kits: aliases, the kits/ directory, entry points, built-ins; load failures; unknown names."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from pipex.errors import Problem
from pipex.kits.resolve import kit_problems, resolve_step
from pipex.model.spec import StepSpec

# A kit that reports what it was given, so tests can see which kit ran and with what context.
ECHO_KIT = """
from pydantic import BaseModel, ConfigDict

from pipex.kits import StepTemplate


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    msg: str = "hi"


class Echo:
    name = "echo"
    params = Params

    def __init__(self, tag):
        self.tag = tag

    def resolve(self, params, context):
        return StepTemplate(
            image="echo:1",
            cmd=("echo", params.msg),
            env={"TAG": self.tag, "KIT_DIR": str(context.kit_dir), "STEP": context.step_id},
        )


kit = Echo("{tag}")
other = Echo("{tag}-other")
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text))
    return path


def echo(tag: str) -> str:
    return ECHO_KIT.replace("{tag}", tag)


def resolved(pipeline) -> StepSpec:
    return resolve_step(pipeline.steps[0], pipeline)


def test_alias_to_a_python_file(make, project: Path) -> None:
    write(project / "tools" / "geo.py", echo("alias-file"))
    spec = resolved(make({"uses": "geo", "with": {"msg": "x"}}, kits={"geo": "./tools/geo.py"}))
    assert spec.cmd == ("echo", "x")
    assert dict(spec.env) == {"TAG": "alias-file", "KIT_DIR": str(project / "tools"), "STEP": "s0"}
    assert spec.kit is not None
    assert spec.kit.name == "geo"
    assert dict(spec.kit.params) == {"msg": "x"}


def test_alias_to_a_python_file_attribute(make, project: Path) -> None:
    write(project / "tools" / "geo.py", echo("attr"))
    spec = resolved(make({"uses": "geo"}, kits={"geo": "tools/geo.py:other"}))
    assert spec.env["TAG"] == "attr-other"


def test_alias_to_a_module_attribute(make, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "lib" / "acme_kits_a" / "__init__.py", "")
    write(tmp_path / "lib" / "acme_kits_a" / "geo.py", echo("module"))
    monkeypatch.syspath_prepend(tmp_path / "lib")
    spec = resolved(make({"uses": "geo"}, kits={"geo": "acme_kits_a.geo:other"}))
    assert spec.env["TAG"] == "module-other"
    assert spec.env["KIT_DIR"] == str(tmp_path / "lib" / "acme_kits_a")
    spec = resolved(make({"uses": "geo2"}, kits={"geo2": "acme_kits_a.geo"}))
    assert spec.env["TAG"] == "module"


def test_kits_directory_module_package_and_template(make, project: Path) -> None:
    write(project / "kits" / "one.py", echo("file"))
    write(project / "kits" / "two" / "__init__.py", "from .impl import kit\n")
    write(project / "kits" / "two" / "impl.py", echo("package"))
    write(
        project / "kits" / "three.yml",
        """
        params:
          msg: {type: string, default: hi}
        step:
          image: three:1
          cmd: [echo, "{{ params.msg }}"]
        """,
    )
    pipeline = make({"uses": "one"}, {"uses": "two"}, {"uses": "three", "with": {"msg": "yo"}})
    specs = [resolve_step(step, pipeline) for step in pipeline.steps]
    assert specs[0].env["TAG"] == "file"
    assert specs[0].env["KIT_DIR"] == str(project / "kits")
    assert specs[1].env["TAG"] == "package"
    assert specs[1].env["KIT_DIR"] == str(project / "kits" / "two")
    assert specs[2].image == "three:1"
    assert specs[2].cmd == ("echo", "yo")


def test_kits_directory_is_next_to_pipex_yml_not_the_pipeline(make, project: Path) -> None:
    write(project / "kits" / "geo.py", echo("project"))
    pipeline = make({"uses": "geo"}, kits={})
    sub = project / "pipelines"
    sub.mkdir()
    moved = type(pipeline).create(
        id="p",
        name=None,
        steps=pipeline.steps,
        root=sub,
        boundary=project,
        config=pipeline.config,
        config_path=pipeline.config_path,
    )
    assert resolved(moved).env["TAG"] == "project"


def dist(tmp_path: Path, module: str, entry_points: str) -> Path:
    site = tmp_path / "site"
    write(site / f"{module}.py", echo("entry-point"))
    info = site / f"{module}_dist-1.0.dist-info"
    write(info / "METADATA", f"Metadata-Version: 2.1\nName: {module}-dist\nVersion: 1.0\n")
    write(info / "entry_points.txt", entry_points)
    return site


def test_entry_point(make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = dist(tmp_path, "ep_kits_a", "[pipex.kits]\nepgeo = ep_kits_a:other\nepmod = ep_kits_a\n")
    monkeypatch.syspath_prepend(site)
    spec = resolved(make({"uses": "epgeo"}))
    assert spec.env["TAG"] == "entry-point-other"
    assert spec.env["KIT_DIR"] == str(site)
    assert resolved(make({"uses": "epmod"})).env["TAG"] == "entry-point"


def test_resolution_order(make, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = dist(tmp_path, "ep_kits_b", "[pipex.kits]\nshell = ep_kits_b:kit\nlocal = ep_kits_b:kit\n")
    monkeypatch.syspath_prepend(site)
    # An installed package's kit shadows the built-in of the same name.
    assert resolved(make({"uses": "shell"})).env["TAG"] == "entry-point"
    # kits/ beats entry points; an alias beats kits/.
    write(project / "kits" / "local.py", echo("kits-dir"))
    write(project / "kits" / "shell.py", echo("kits-dir-shell"))
    assert resolved(make({"uses": "local"})).env["TAG"] == "kits-dir"
    assert resolved(make({"uses": "shell"})).env["TAG"] == "kits-dir-shell"
    write(project / "aliased.py", echo("alias"))
    assert resolved(make({"uses": "local"}, kits={"local": "./aliased.py"})).env["TAG"] == "alias"
    # kits/NAME/__init__.py before kits/NAME.py before kits/NAME.yml.
    write(project / "kits" / "local" / "__init__.py", echo("kits-package"))
    assert resolved(make({"uses": "local"})).env["TAG"] == "kits-package"


def test_without_pipex_yml_kits_are_looked_for_in_the_current_directory(
    make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    write(elsewhere / "kits" / "geo.py", echo("cwd"))
    pipeline = make({"uses": "geo"})
    monkeypatch.chdir(elsewhere)
    assert resolved(pipeline).env["TAG"] == "cwd"


def test_chaining_with_context_use(make, project: Path) -> None:
    write(
        project / "kits" / "wrap.py",
        """
        from pydantic import BaseModel
        from pipex.kits import StepTemplate

        class P(BaseModel):
            cmd: str

        class Wrap:
            name = "wrap"
            params = P

            def resolve(self, params, context):
                base = context.use("shell", {"run": params.cmd, "packages": ["jq"]})
                assert context.resolve_kit("shell").name == "shell"
                return StepTemplate(image=base.image, cmd=base.cmd, setup=base.setup, env={"WRAPPED": "1"})

        kit = Wrap()
        """,
    )
    spec = resolved(make({"uses": "wrap", "with": {"cmd": "jq -n 1"}}))
    assert spec.image == "debian:bookworm-slim"
    assert spec.cmd == ("sh", "-c", "jq -n 1")
    assert spec.setup is not None
    assert spec.env == {"WRAPPED": "1"}


def test_modules_are_loaded_once_per_process_until_the_file_changes(make, project: Path) -> None:
    counter = project / "count"
    source = echo("v1") + f"\nwith open({str(counter)!r}, 'a') as f:\n    f.write('x')\n"
    path = write(project / "kits" / "geo.py", source)
    pipeline = make({"uses": "geo"}, {"uses": "geo"})
    assert [s.env["TAG"] for s in (resolve_step(step, pipeline) for step in pipeline.steps)] == ["v1", "v1"]
    kit_problems(pipeline)
    assert counter.read_text() == "x"
    path.write_text(source.replace('Echo("v1")', 'Echo("v2-changed")'))
    assert resolved(pipeline).env["TAG"] == "v2-changed"
    assert counter.read_text() == "xx"


# ---- failures ---------------------------------------------------------------------------------------------


def problems_of(make, uses: str, **kwargs) -> list[Problem]:
    return kit_problems(make({"uses": uses}, **kwargs))


def test_unknown_kit_suggests_and_says_where_it_looked(make, project: Path) -> None:
    assert problems_of(make, "shel") == [
        Problem(
            "steps[0].uses",
            'unknown kit "shel"; did you mean "shell"?',
            f"looked for: kits/shel/__init__.py, kits/shel.py, kits/shel.yml in {project} "
            '(no .pipex.yml, so no aliases); installed entry points "pipex.kits"; '
            "the built-in kits node, python, shell",
        )
    ]


def test_unknown_kit_suggests_local_and_alias_names(make, project: Path) -> None:
    write(project / "kits" / "geodata.py", echo("x"))
    [problem] = problems_of(make, "geodat", kits={"rasterize": "./r.py"})
    assert problem.message == 'unknown kit "geodat"; did you mean "geodata"?'
    assert problem.hint is not None
    assert problem.hint.startswith(f"looked for: an alias in {project / '.pipex.yml'}; kits/geodat/__init__.py")
    [problem] = problems_of(make, "rasterise", kits={"rasterize": "./r.py"})
    assert problem.message == 'unknown kit "rasterise"; did you mean "rasterize"?'


def test_unknown_kit_without_suggestion(make) -> None:
    [problem] = problems_of(make, "zzzzzz")
    assert problem.message == 'unknown kit "zzzzzz"'


def test_a_name_that_is_a_path_is_never_loaded(make, project: Path) -> None:
    write(project / "evil.py", echo("evil"))
    [problem] = problems_of(make, "../evil")
    assert problem.message == 'unknown kit "../evil"'


def test_load_failure_names_the_file_and_the_exception(make, project: Path) -> None:
    write(project / "kits" / "geo.py", "import json\nraise RuntimeError('no GDAL here')\n")
    write(project / "kits" / "shell.py", "def broken(:\n")
    assert problems_of(make, "geo") == [
        Problem("steps[0].uses", 'cannot load kit "geo" from kits/geo.py: RuntimeError: no GDAL here')
    ]
    # No silent fall-through to the built-in of the same name.
    assert problems_of(make, "shell") == [
        Problem(
            "steps[0].uses",
            'cannot load kit "shell" from kits/shell.py: SyntaxError: invalid syntax (shell.py, line 1)',
        )
    ]


def test_module_without_kit_attribute(make, project: Path) -> None:
    write(project / "kits" / "geo.py", "x = 1\n")
    assert problems_of(make, "geo") == [
        Problem(
            "steps[0].uses",
            'cannot load kit "geo" from kits/geo.py: it has no attribute "kit"',
            "define kit = an object with name, params and resolve (see pipex.kits.Kit)",
        )
    ]


def test_kit_that_is_a_class_or_not_a_kit(make, project: Path) -> None:
    write(project / "kits" / "cls.py", "class Geo:\n    name = 'geo'\n\nkit = Geo\n")
    write(project / "kits" / "noparams.py", "class Geo:\n    name = 'geo'\n    params = dict\n\nkit = Geo()\n")
    assert problems_of(make, "cls") == [
        Problem(
            "steps[0].uses",
            'cannot load kit "cls" from kits/cls.py: Geo is a class',
            "expose an instance: kit = Geo()",
        )
    ]
    assert problems_of(make, "noparams") == [
        Problem(
            "steps[0].uses",
            'cannot load kit "noparams" from kits/noparams.py: its params is not a pydantic model class',
            "a kit has name, params and resolve (see pipex.kits.Kit)",
        )
    ]


def test_alias_to_a_missing_file(make, project: Path) -> None:
    assert problems_of(make, "geo", kits={"geo": "./kits/gone.py"}) == [
        Problem(
            "steps[0].uses",
            f'kit alias "geo" in {project / ".pipex.yml"} points to ./kits/gone.py, which does not exist',
            f"paths in kits: are relative to {project}",
        )
    ]


def test_empty_alias(make, project: Path) -> None:
    assert problems_of(make, "geo", kits={"geo": " "}) == [
        Problem(
            "steps[0].uses",
            f'kit alias "geo" in {project / ".pipex.yml"} is empty',
            "give a .py file, a .yml template or package.module:attr",
        )
    ]


def test_alias_to_a_missing_module(make) -> None:
    assert problems_of(make, "geo", kits={"geo": "no_such_pkg_xyz.kits:geo"}) == [
        Problem(
            "steps[0].uses",
            'cannot load kit "geo" from module no_such_pkg_xyz.kits: ModuleNotFoundError: No module named '
            "'no_such_pkg_xyz'",
        )
    ]


def test_entry_point_that_fails_to_load(make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = dist(tmp_path, "ep_kits_c", "[pipex.kits]\nbroken = ep_kits_c:missing_attr\n")
    monkeypatch.syspath_prepend(site)
    assert problems_of(make, "broken") == [
        Problem(
            "steps[0].uses",
            'cannot load kit "broken" from entry point "broken = ep_kits_c:missing_attr" '
            "of ep_kits_c-dist 1.0: AttributeError: module 'ep_kits_c' has no attribute 'missing_attr'",
        )
    ]


def test_kit_that_raises_while_resolving(make, project: Path) -> None:
    write(
        project / "kits" / "geo.py",
        """
        from pydantic import BaseModel
        from pipex.kits import KitParamError

        class P(BaseModel):
            zone: int = 0

        class Geo:
            name = "geo"
            params = P

            def resolve(self, params, context):
                if params.zone > 60:
                    raise KitParamError("zone must be 1 to 60", loc=("zone",), hint="UTM zones")
                return {}["boom"]

        kit = Geo()
        """,
    )
    assert kit_problems(make({"uses": "geo", "with": {"zone": 99}})) == [
        Problem("steps[0].with.zone", "zone must be 1 to 60", "UTM zones")
    ]
    assert kit_problems(make({"uses": "geo"})) == [
        Problem("steps[0].uses", "kit \"geo\" (kits/geo.py) failed: KeyError: 'boom'", "this is a bug in the kit")
    ]


def test_custom_kit_host_path_is_checked_and_blamed_on_its_parameter(make, project: Path) -> None:
    write(
        project / "kits" / "geo.py",
        """
        from pydantic import BaseModel
        from pipex.kits import StepTemplate

        class P(BaseModel):
            data: str

        class Geo:
            name = "geo"
            params = P

            def resolve(self, params, context):
                return StepTemplate(image="g", cmd=("g",), mounts=[(params.data, "/data"), ("../x", "/x")])

        kit = Geo()
        """,
    )
    assert kit_problems(make({"uses": "geo", "with": {"data": "nope"}})) == [
        Problem("steps[0].with.data", f"host path 'nope' does not exist ({project}/nope)"),
        Problem(
            "steps[0].uses",
            f"host path '../x' resolves to {project.parent}/x, outside the project directory {project}",
        ),
    ]
