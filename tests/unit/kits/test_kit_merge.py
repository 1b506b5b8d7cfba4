"""Merging the user's step fields over a kit's output, the environment precedence, and raw steps."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from pipex.errors import KitError, PipelineError, Problem
from pipex.kits.resolve import resolve_step, resolve_steps
from pipex.model.spec import CacheSpec, InputSpec, KitRef, MountSpec, ResourcesSpec, SetupSpec, StepSpec

# A kit with an opinion on everything that can be merged.
FULL_KIT = """
from pydantic import BaseModel, ConfigDict

from pipex.kits import CacheSpec, PathPair, SetupSpec, StepTemplate


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Full:
    name = "full"
    params = Params

    def resolve(self, params, context):
        return StepTemplate(
            image="kit:1",
            cmd=("kit-run",),
            env={"A": "kit", "B": "kit", "C": "kit", "D": "kit"},
            mounts=[("data", "/data"), ("conf", "/conf")],
            sources=[PathPair("code", "/code")],
            caches=[CacheSpec("c1", "/c1"), CacheSpec("c2", "/c2", exclusive=True)],
            setup=SetupSpec(("kit-setup",), (CacheSpec("s1", "/s1"), CacheSpec("s2", "/s2")), True),
            allow_network=True,
        )


kit = Full()
"""


@pytest.fixture
def full(project: Path) -> Path:
    (project / "kits").mkdir()
    (project / "kits" / "full.py").write_text(FULL_KIT)
    for name in ("data", "conf", "code", "mine", "other"):
        (project / name).mkdir()
    return project


def one(make, step: dict, **kwargs) -> StepSpec:
    pipeline = make(step)
    return resolve_step(pipeline.steps[0], pipeline, **kwargs)


def test_kit_output_alone(make, full: Path) -> None:
    spec = one(make, {"uses": "full"})
    assert spec.image == "kit:1"
    assert spec.cmd == ("kit-run",)
    assert dict(spec.env) == {"A": "kit", "B": "kit", "C": "kit", "D": "kit"}
    assert spec.mounts == (MountSpec(full / "data", "/data"), MountSpec(full / "conf", "/conf"))
    assert spec.sources == (MountSpec(full / "code", "/code"),)
    assert spec.caches == (CacheSpec("c1", "/c1"), CacheSpec("c2", "/c2", exclusive=True))
    assert spec.setup == SetupSpec(("kit-setup",), (CacheSpec("s1", "/s1"), CacheSpec("s2", "/s2")), True)
    assert spec.allow_network is True
    assert spec.kit == KitRef("full", {})


def test_env_precedence_kit_cli_env_file_step(make, full: Path) -> None:
    (full / "step.env").write_text("B=file\nC=file\n")
    spec = one(
        make,
        {"uses": "full", "envFile": "step.env", "env": {"C": "step"}},
        cli_env={"A": "cli", "B": "cli", "E": "cli"},
    )
    assert dict(spec.env) == {"A": "cli", "B": "file", "C": "step", "D": "kit", "E": "cli"}
    assert list(spec.env) == ["A", "B", "C", "D", "E"]


def test_caches_merge_by_name_user_wins_in_place(make, full: Path) -> None:
    spec = one(make, {"uses": "full", "caches": [{"name": "c3", "path": "/c3"}, {"name": "c1", "path": "/mine"}]})
    assert spec.caches == (
        CacheSpec("c1", "/mine"),
        CacheSpec("c2", "/c2", exclusive=True),
        CacheSpec("c3", "/c3"),
    )


def test_mounts_and_sources_kit_first_then_user(make, full: Path) -> None:
    spec = one(
        make,
        {
            "uses": "full",
            "mounts": [{"host": "mine", "container": "/mine"}],
            "sources": [{"host": "other", "container": "/other"}],
        },
    )
    assert spec.mounts == (
        MountSpec(full / "data", "/data"),
        MountSpec(full / "conf", "/conf"),
        MountSpec(full / "mine", "/mine"),
    )
    assert spec.sources == (MountSpec(full / "code", "/code"), MountSpec(full / "other", "/other"))


def test_a_user_entry_on_a_kit_container_path_replaces_it(make, full: Path) -> None:
    spec = one(
        make,
        {
            "uses": "full",
            "mounts": [{"host": "mine", "container": "/code/"}],
            "sources": [{"host": "other", "container": "/data"}],
        },
    )
    assert spec.mounts == (MountSpec(full / "conf", "/conf"), MountSpec(full / "mine", "/code/"))
    assert spec.sources == (MountSpec(full / "other", "/data"),)


def test_setup_user_cmd_wins_caches_merge_network_kept(make, full: Path) -> None:
    spec = one(
        make,
        {
            "uses": "full",
            "setup": {
                "cmd": ["mine"],
                "caches": [{"name": "s2", "path": "/x"}, {"name": "s3", "path": "/s3"}],
            },
        },
    )
    assert spec.setup == SetupSpec(
        ("mine",), (CacheSpec("s1", "/s1"), CacheSpec("s2", "/x"), CacheSpec("s3", "/s3")), allow_network=True
    )


def test_setup_allow_network_is_the_users_when_set(make, full: Path) -> None:
    spec = one(make, {"uses": "full", "setup": {"cmd": ["mine"], "allowNetwork": False}})
    assert spec.setup is not None
    assert spec.setup.allow_network is False


def test_allow_network_is_the_users_when_set(make, full: Path) -> None:
    assert one(make, {"uses": "full", "allowNetwork": False}).allow_network is False
    assert one(make, {"uses": "shell", "with": {"run": "x"}, "allowNetwork": True}).allow_network is True
    assert one(make, {"uses": "shell", "with": {"run": "x"}}).allow_network is False


def test_user_setup_on_a_kit_without_setup(make) -> None:
    spec = one(
        make,
        {"uses": "shell", "with": {"run": "x"}, "setup": {"cmd": ["apk", "add", "jq"], "allowNetwork": True}},
    )
    assert spec.setup == SetupSpec(("apk", "add", "jq"), (), allow_network=True)


def test_kit_setup_kept_when_the_user_has_none(make) -> None:
    spec = one(make, {"uses": "shell", "with": {"run": "x", "packages": ["jq"]}})
    assert spec.setup is not None
    assert spec.setup.cmd[2].startswith("apt-get update && apt-get install -y --no-install-recommends jq")


def test_raw_step_maps_directly(make, project: Path) -> None:
    (project / "data").mkdir()
    (project / "vars.env").write_text("export K=file\nL='quoted'\n")
    step = {
        "name": "Raw step",
        "image": "alpine:3.20",
        "cmd": ["sh", "-c", "env"],
        "inputs": [{"step": "up", "copyToOutput": True}, {"step": "maybe", "optional": True}],
        "env": {"K": "step"},
        "envFile": "vars.env",
        "outputPath": "/out",
        "mounts": [{"host": "data", "container": "/data"}],
        "sources": [{"host": "data", "container": "/copy"}],
        "caches": [{"name": "c", "path": "/c", "exclusive": True}],
        "setup": {"cmd": ["true"], "caches": [{"name": "s", "path": "/s"}]},
        "if": 'env.X == "1"',
        "timeoutSec": 30,
        "retries": 2,
        "retryDelayMs": 10,
        "allowFailure": True,
        "allowNetwork": True,
        "resources": {"cpus": 1.5, "memory": "512m", "pids": 100},
    }
    spec = one(make, step, cli_env={"M": "cli", "K": "cli"})
    assert spec == StepSpec(
        id="s0",
        name="Raw step",
        image="alpine:3.20",
        cmd=("sh", "-c", "env"),
        env={"K": "step", "L": "quoted", "M": "cli"},
        inputs=(InputSpec("up", copy_to_output=True), InputSpec("maybe", optional=True)),
        output_path="/out",
        mounts=(MountSpec(project / "data", "/data"),),
        sources=(MountSpec(project / "data", "/copy"),),
        caches=(CacheSpec("c", "/c", exclusive=True),),
        setup=SetupSpec(("true",), (CacheSpec("s", "/s"),), allow_network=False),
        condition='env.X == "1"',
        timeout_sec=30,
        retries=2,
        retry_delay_ms=10,
        allow_failure=True,
        allow_network=True,
        resources=ResourcesSpec(1.5, "512m", 100),
    )


def test_raw_step_defaults(make) -> None:
    spec = one(make, {"image": "alpine", "cmd": ["true"]})
    assert spec == StepSpec(id="s0", name="s0", image="alpine", cmd=("true",))


def test_symlinked_host_path_is_resolved(make, project: Path) -> None:
    (project / "real").mkdir()
    (project / "link").symlink_to(project / "real")
    spec = one(make, {"image": "alpine", "cmd": ["true"], "mounts": [{"host": "link", "container": "/d"}]})
    assert spec.mounts == (MountSpec(project / "real", "/d"),)


def test_user_path_problems_are_pipeline_errors(make, project: Path) -> None:
    pipeline = make(
        {
            "image": "alpine",
            "cmd": ["true"],
            "mounts": [{"host": "gone", "container": "/d"}],
            "envFile": "x.env",
        }
    )
    with pytest.raises(PipelineError) as caught:
        resolve_step(pipeline.steps[0], pipeline)
    assert not isinstance(caught.value, KitError)
    assert caught.value.problems == (
        Problem("steps[0].mounts[0].host", f"host path 'gone' does not exist ({project}/gone)"),
        Problem("steps[0].envFile", f"host path 'x.env' does not exist ({project}/x.env)"),
    )


def test_env_file_must_stay_inside_the_pipeline_root(make, project: Path) -> None:
    (project / "sub").mkdir()
    (project / "top.env").write_text("A=1\n")
    pipeline = make({"image": "alpine", "cmd": ["true"], "envFile": "../top.env"})
    # The pipeline root is a subdirectory of the project: the env file is in the project, not in the root.
    pipeline = type(pipeline).create(id="p", name=None, steps=pipeline.steps, root=project / "sub", boundary=project)
    with pytest.raises(PipelineError) as caught:
        resolve_step(pipeline.steps[0], pipeline)
    assert caught.value.problems == (
        Problem(
            "steps[0].envFile",
            f"host path '../top.env' resolves to {project}/top.env, outside the project directory {project}/sub",
        ),
    )


def test_resolve_steps_resolves_all_and_collects_problems(make) -> None:
    pipeline = make({"uses": "shell", "with": {"run": "a"}}, {"image": "alpine", "cmd": ["b"]})
    assert [spec.cmd for spec in resolve_steps(pipeline)] == [("sh", "-c", "a"), ("b",)]
    broken = make({"uses": "shell", "with": {}}, {"uses": "nope"})
    with pytest.raises(KitError) as caught:
        resolve_steps(broken)
    assert [p.location for p in caught.value.problems] == ["steps[0].with.run", "steps[1].uses"]
    assert str(caught.value) == "invalid pipeline: 2 problems"


def test_kit_env_is_checked(make, project: Path) -> None:
    (project / "kits").mkdir()
    (project / "kits" / "bad.py").write_text(
        dedent(
            """
            from pydantic import BaseModel
            from pipex.kits import StepTemplate

            class P(BaseModel):
                pass

            class Bad:
                name = "bad"
                params = P

                def resolve(self, params, context):
                    caches = [{"name": "no way", "path": "/input/x"}]
                    return StepTemplate(image="", cmd=(), env={"A": 1}, caches=caches)

            kit = Bad()
            """
        )
    )
    pipeline = make({"uses": "bad"})
    with pytest.raises(KitError) as caught:
        resolve_step(pipeline.steps[0], pipeline)
    assert caught.value.problems == (
        Problem("steps[0].uses", 'kit "bad" produced an empty image'),
        Problem("steps[0].uses", 'kit "bad" produced a cmd that is not a non-empty list of strings'),
        Problem("steps[0].uses", 'kit "bad" produced env values that are not strings'),
        Problem("steps[0].uses", "kit \"bad\" produced cache name 'no way' (letters, digits, _ and - only)"),
        Problem("steps[0].uses", "container path '/input/x' is under /input, which pipex reserves for step inputs"),
    )
