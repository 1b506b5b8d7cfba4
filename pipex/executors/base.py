"""The executor seam: where one attempt of one step runs, given its resolved container spec and staging dir.

The engine decides everything that is the same wherever a step runs — the fingerprint, the cache, the inputs to
mount, the container spec, the staging dir of the attempt (``runs/<id>/`` before its commit), the logs' files and
events, the timeout, the retries, the commit — and hands an executor one ``Task`` per attempt:

1. ``submit(task)`` prepares the attempt and returns an opaque handle (a container id; a batch job id);
2. ``run(handle, task, output, …)`` starts it if needed and blocks (in a worker thread) until it ends, handing
   its output to ``output`` as it arrives (and, for a batch executor, the job it submitted to ``placed``), and
   returns the ``Outcome`` (for a batch executor, with the node the job ran on);
3. ``stop(handle, kill=…)`` may come from any thread at any time (cancel, Ctrl-C, the step's timeout) and makes
   ``run`` return soon;
4. ``cleanup(handle)`` always follows, whatever happened (removes the container; cancels a leftover job).

``remove_tree``/``normalize_ownership`` act on staging dirs whose files a container wrote (possibly as another
uid), and ``info`` describes what the steps run on (recorded in ``meta.json``, asked only once a step runs).

A batch executor fits the same shape (Slurm, next): ``submit`` writes a job script into the staging dir (the
container command, its binds, its setup phase) and runs ``sbatch`` (one job per step instance); ``run`` waits
for the job to end — one ``squeue`` poll for all the jobs in flight, shared by every ``run`` waiting, not one
per step (never ``sacct``: without slurmdbd it answers nothing) — and decides the outcome from files the job
wrote into the staging dir (exit codes of the setup and run phases, the logs, handed to ``output`` when they
appear); a job gone without them raises an ``EngineError`` (a failure, reason ``engine``, retried); ``stop`` is
``scancel`` (gathered: one call for all the jobs a Ctrl-C stops); ``cleanup`` cancels a job that is still queued.
That is ``pipex.executors.slurm.SlurmExecutor``; the scheduler did not change for it.

What the seam carries for it: ``Task.timeout`` (the step's ``timeoutSec``, which the engine enforces: a batch
executor derives its job's time limit from it) and ``Executor.parallelism`` (attempts in flight when the run
gives no ``--concurrency``: ``None`` means this host's CPUs; a cluster queues far more).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pipex.model.spec import SlurmSpec
from pipex.runtime.base import ContainerSpec, LogChunk, RuntimeInfo

STOP_GRACE = 10.0  # seconds a stopped step gets to exit before it is killed


class Output(Protocol):
    """Where an attempt's output goes (the engine's log sink: files, events)."""

    def __call__(self, chunk: LogChunk) -> None: ...

    def flush_lines(self) -> None:
        """A phase ended: its last, unterminated line is complete."""


@dataclass(frozen=True, slots=True)
class Copy:
    """A host tree copied into the container before it starts (a step's ``sources``)."""

    host: Path
    container: str


@dataclass(frozen=True, slots=True)
class SetupPhase:
    """A step with ``setup``: the container is held (``ContainerSpec.hold``), the setup command runs first
    (inside ``exclusive()``, which holds the exclusive caches' locks and yields ``False`` when the attempt was
    interrupted while waiting for them), then ``run`` (the image's entrypoint + the step's command)."""

    cmd: tuple[str, ...]
    run: tuple[str, ...]
    drop_network: bool  # the setup had the network the run phase must not have
    exclusive: Callable[[], AbstractContextManager[bool]]


@dataclass(frozen=True, slots=True)
class Task:
    """One attempt of one step instance."""

    step: str
    container: ContainerSpec
    staging: Path  # the attempt's run dir: logs, artifacts (bound at the step's output path)
    sources: tuple[Copy, ...] = ()
    setup: SetupPhase | None = None
    slurm: SlurmSpec | None = None  # the step's own `slurm:` (partition, extraArgs): a Slurm executor reads it
    timeout: float | None = None  # the step's timeoutSec: the engine enforces it; a batch job's limit derives from it


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended. ``phase``: ``start`` — cancelled before it started; ``setup`` — the setup command
    failed with ``code`` (not interrupted); ``run`` — the step's command ended with ``code`` (``None``: stopped
    before it ran or without an exit code). ``node``: where it ran, when that is another machine than this one (a
    batch job's node, as the job reported it); the engine puts it on the step's end event and record."""

    code: int | None
    phase: Literal["start", "setup", "run"] = "run"
    setup_seconds: float = 0.0  # the setup phase's wall time (the report's timeline shows it)
    node: str | None = None  # None: this host (local), or a job that never said where it ran


class Executor(Protocol):
    @property
    def parallelism(self) -> int | None:
        """Attempts in flight when ``--concurrency`` is not given (``None``: this host's CPUs)."""
        ...

    @property
    def tells_started(self) -> bool:
        """Whether ``run`` calls ``started`` as soon as the container's mounts are made (the engine then lets a
        step mount an upstream run before that run is committed: engine/early.py)."""
        ...

    def info(self) -> RuntimeInfo: ...

    def submit(self, task: Task) -> str: ...

    def run(
        self,
        handle: str,
        task: Task,
        output: Output,
        *,
        cancelled: Callable[[], bool],
        interrupted: Callable[[], bool],
        placed: Callable[[str], None] | None = None,
        started: Callable[[], None] | None = None,
    ) -> Outcome:
        """Blocks until the attempt ends. ``cancelled``: the run is being cancelled; ``interrupted``: cancelled
        or timed out (both only read). ``placed``: told the attempt's job once a scheduler has it (a batch job
        id, which the engine puts on the step's events and record); an executor whose attempts are no job of
        anyone's (local) never calls it. ``started``: called once the container has started, its bind mounts made
        (only by an executor whose ``tells_started`` is true; the others return first)."""
        ...

    def stop(self, handle: str, *, kill: bool = False) -> None: ...

    def cleanup(self, handle: str) -> None: ...

    def remove_tree(self, path: Path) -> None: ...

    def normalize_ownership(self, path: Path, uid: int, gid: int, *, image: str) -> None: ...
