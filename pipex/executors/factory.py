"""The executor of a run, built once from its options: the one place that knows the executors by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pipex.executors.base import Executor
from pipex.executors.slurmconf import SlurmOptions
from pipex.runtime.base import Runtime


def make_executor(
    kind: Literal["local", "slurm"],
    runtime: Runtime,
    slurm: SlurmOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> Executor:
    if kind == "slurm":
        from pipex.executors.slurm import SlurmExecutor  # start-up: only a Slurm run loads it

        return SlurmExecutor(runtime, slurm or SlurmOptions(), None if environ is None else dict(environ))
    from pipex.executors.local import LocalExecutor  # start-up: symmetric with the Slurm one

    return LocalExecutor(runtime)
