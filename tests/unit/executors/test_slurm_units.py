"""The Slurm executor's pure parts: sbatch options from a step, the job script, the settings' round trip."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipex.engine.options import RunOptions
from pipex.errors import EngineError, UsageError
from pipex.executors.base import Copy, Task
from pipex.executors.slurm import _Job, sbatch_options
from pipex.executors.slurmconf import SlurmOptions
from pipex.executors.slurmscript import env_file, job_script
from pipex.model.project import ProjectConfig
from pipex.model.spec import SlurmSpec
from pipex.runtime.base import Bind, ContainerSpec, Resources


def task(**changes: object) -> Task:
    spec = ContainerSpec(
        image="alpine:3.20",
        cmd=("sh", "-c", "echo hi"),
        env={"A": "two words"},
        binds=(Bind(Path("/wd/ws/staging/R1/artifacts"), "/output", read_only=False),),
    )
    return dataclasses.replace(Task("step", spec, Path("/wd/ws/staging/R1")), **changes)  # type: ignore[arg-type]


def test_resources_and_timeout_become_sbatch_options() -> None:
    t = task(
        container=dataclasses.replace(task().container, resources=Resources(cpus=1.5, memory=100 * 2**20 + 1)),
        timeout=90.0,
    )
    job = _Job(Path("/wd/ws/staging/R1/.slurm"), "pipex-step")
    opts = SlurmOptions(partition="gpu", account="lab", extra_args=("--exclusive",))
    assert sbatch_options(t, job, opts) == [
        "--job-name=pipex-step",
        "--output=/wd/ws/staging/R1/.slurm/job.out",
        "--chdir=/wd/ws/staging/R1/.slurm",
        "--no-requeue",
        "--partition=gpu",
        "--account=lab",
        "--cpus-per-task=2",
        "--mem=101M",
        "--time=3",  # 90 s + the 60 s margin for the container's start, in whole minutes
        "--exclusive",
    ]


def test_a_step_s_own_partition_and_args_win() -> None:
    t = task(slurm=SlurmSpec(partition="short", extra_args=("--gres=gpu:1",)))
    job = _Job(Path("/j"), "pipex-step")
    opts = SlurmOptions(partition="gpu", extra_args=("--exclusive",))
    assert sbatch_options(t, job, opts)[4:] == ["--partition=short", "--exclusive", "--gres=gpu:1"]


def test_the_script_traps_the_cancel_and_writes_the_exit_file_atomically() -> None:
    script = job_script(task(), Path("/wd/ws/staging/R1/.slurm"), "/run/user/1000")
    assert "trap gone TERM INT HUP" in script
    assert 'gone() { podman rm -f -t 0 "$name" >/dev/null 2>&1; exit 143; }' in script
    assert "podman run --rm --name pipex-R1 --pull=never --env-file /wd/ws/staging/R1/.slurm/env" in script
    assert "-v /wd/ws/staging/R1/artifacts:/output:rw --network=none --init alpine:3.20 sh -c 'echo hi'" in script
    assert "two words" not in script  # values only in the 0600 env file, never on a command line
    assert 'done_with() { printf "%s\\n" "$2" >"$J/$1.tmp" && mv -f "$J/$1.tmp" "$J/$1"; }' in script


def test_sources_use_create_copy_start() -> None:
    script = job_script(task(sources=(Copy(Path("/p/src"), "/src"),)), Path("/j"), None)
    assert "podman create --name pipex-R1" in script
    assert 'podman cp /p/src/. "$name":/src' in script
    assert 'podman start -a "$name"' in script


def test_a_value_with_a_line_break_is_refused() -> None:
    spec = dataclasses.replace(task().container, env={"A": "x\ny"})
    with pytest.raises(EngineError) as err:
        env_file(spec)
    assert err.value.message == "environment variable 'A' holds a line break, which a Slurm job cannot pass to podman"


def test_run_options_carry_the_executor_to_a_detached_run() -> None:
    options = RunOptions(executor="slurm", slurm=SlurmOptions(partition="p", poll_interval=0.5, extra_args=("-N1",)))
    assert RunOptions.from_json(options.to_json()) == options
    with pytest.raises(UsageError) as err:
        RunOptions(executor="k8s").check([])  # type: ignore[arg-type]
    assert err.value.message == 'unknown executor "k8s"'


def test_pipex_yml_slurm_settings() -> None:
    config = ProjectConfig.model_validate(
        {"executor": "slurm", "slurm": {"partition": "debug", "extraArgs": ["--qos=low"], "pollInterval": 1}}
    )
    assert (config.executor, config.slurm.partition, config.slurm.extra_args) == ("slurm", "debug", ["--qos=low"])
    assert config.slurm.poll_interval == 1.0
