"""What the scheduler hands the step runner, and what comes back."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

from pipex.engine.digest import Heavy
from pipex.engine.early import EarlyArtifacts
from pipex.engine.events import StepRef, StepStatus
from pipex.engine.mask import Masker
from pipex.engine.options import LogEvents
from pipex.executors.base import Executor
from pipex.model.spec import StepSpec
from pipex.runtime.base import ImageRef, Resources, RuntimeInfo, SecretMount
from pipex.workspace.layout import Workspace

if TYPE_CHECKING:
    from pipex.store import Store


@dataclass(frozen=True, slots=True)
class UpstreamInput:
    step: str
    run_id: str
    artifacts: Path  # runs/<runId>/artifacts of the upstream's committed run
    digest: str
    copy_to_output: bool = False
    name: str | None = None  # under /input/, when not the step id (a sub-pipeline's step: model/compose.py)
    instance: str | None = None  # fan-in: one instance of a fan-out step, mounted at /input/<step>/<key>
    # A run not committed yet (early.py): ``artifacts`` and ``digest`` are known once ``settled``; until then
    # the attempt mounts what ``early.pin()`` gives.
    early: EarlyArtifacts | None = None

    def settled(self) -> UpstreamInput:
        """This input once its run is recorded (blocks until then; raises what kept it from being recorded)."""
        if self.early is None:
            return self
        digest, artifacts = self.early.wait()
        return dataclasses.replace(self, digest=digest, artifacts=artifacts, early=None)

    @property
    def mounted_as(self) -> str:
        # ``step`` may name one instance (``convert[eu]``, paired fan-out): it is mounted as its step
        base = self.name or (self.step.rpartition("[")[0] if self.step.endswith("]") else self.step)
        return f"/input/{base}" if self.instance is None else f"/input/{base}/{self.instance}"


@dataclass(frozen=True, slots=True)
class Provided:
    """A settled upstream step whose artifacts exist."""

    run_id: str
    digest: str
    outputs: Mapping[str, Any] = field(default_factory=dict)  # what the run wrote to $PIPEX_OUTPUT
    # a fan-out step: (key, run id, artifacts digest) of each instance a dependent mounts (fan-in)
    instances: tuple[tuple[str, str, str], ...] = ()
    early: EarlyArtifacts | None = None  # handed over before its commit (early.py): ``digest`` is "" until then


@dataclass(frozen=True, slots=True)
class Release:
    """How a step's runner hands its artifacts over before they are digested (early.py): ``to(artifacts,
    outputs)`` once the digest has ``bytes`` bytes to read (thread-safe; the scheduler decides who starts)."""

    bytes: int
    to: Callable[[EarlyArtifacts, Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class StepPlan:
    spec: StepSpec
    image: ImageRef
    inputs: tuple[UpstreamInput, ...]
    fingerprint: str
    fingerprint_parts: Mapping[str, str]
    limits: Resources = field(default_factory=Resources)
    resources: Mapping[str, Any] = field(default_factory=dict)  # meta.json: each limit and whether it is enforced
    manifests: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # mounts/sources file lists (explain)
    release: Release | None = None  # its artifacts may be handed to dependents before its commit
    # A step started on inputs not recorded yet (early.py): its fingerprint is ``settle(plan)``'s, computed once
    # they are (``fingerprint`` is "" until then); blocks, raises what kept an input from being recorded.
    settle: Callable[[StepPlan], StepPlan] | None = None


@dataclass(frozen=True, slots=True)
class StepRun:
    status: StepStatus
    exit_code: int | None
    reason: str | None  # exit | setup | timeout | image | engine | cancelled
    run_id: str
    attempt: int
    started: float
    duration: float
    artifacts_digest: str | None = None
    artifacts_size: int = 0
    message: str | None = None
    tail: tuple[str, ...] = ()
    setup_seconds: float = 0.0  # the final attempt's setup phase
    outputs: Mapping[str, Any] = field(default_factory=dict)  # what the step wrote to $PIPEX_OUTPUT
    job: str | None = None  # the final attempt's batch job, when the executor submitted one
    node: str | None = None  # the machine the final attempt ran on, when the executor said (a batch job's node)


class ArtifactsDigest(Protocol):
    def __call__(self, path: Path, version: int, heavy: Heavy | None = None) -> tuple[str, int]:
        """(digest, size) of an artifacts tree in a digest format; ``heavy``: see ``digest.Heavy``."""
        ...


Emit = Callable[..., None]
# emit_lines(step, attempt, stream, lines): one StepLog per line, in order, for all the lines of a chunk at once
EmitLines = Callable[[StepRef, int, Literal["stdout", "stderr"], list[str]], None]


class Running:
    """Attempts now running (their executor handles: container ids, job ids), so a cancel can stop them all from
    another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, str] = {}
        # creates asked for (a create that failed may still have made one): a run that asked for none needs no
        # clean-up sweep at its end
        self.creates = 0

    def creating(self) -> None:
        with self._lock:
            self.creates += 1

    def add(self, step: str, container: str) -> None:
        with self._lock:
            self._ids[container] = step

    def discard(self, container: str) -> None:
        with self._lock:
            self._ids.pop(container, None)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._ids)


@dataclass(slots=True)
class StepContext:
    executor: Executor  # where the steps' containers run: the engine never asks which one
    workspace: Workspace
    run_id: str  # the engine run (events); each step run has its own id
    emit: Emit  # emit(EventClass, step=StepRef, attempt=…, **fields): thread-safe
    cancel: threading.Event
    running: Running
    tree_digest: ArtifactsDigest
    labels: Callable[[str, str], dict[str, str]]  # (step run id, step id) → container labels
    pipex_version: str = "0"
    logs: LogEvents = True  # emit StepLog events: all, none, or each chunk's last line
    stdout: BinaryIO | None = None  # also copy the steps' raw stdout here (exec --ephemeral)
    stderr: BinaryIO | None = None  # and their raw stderr here
    invoking_uid: int = 0
    invoking_gid: int = 0
    emit_lines: EmitLines | None = None  # thread-safe; None: the runner emits StepLog events one by one
    store: Store | None = None  # the shared cache (cacheStore): read on a local miss, written after a success
    secrets: Mapping[str, tuple[SecretMount, ...]] = field(default_factory=dict)  # step id → its secrets
    masker: Masker | None = None  # every secret value of the run, masked in step output and messages

    @property
    def info(self) -> RuntimeInfo:
        """Asked for only when a step runs: a fully cached run never pays for the engine's info call (slow on
        Podman); the backends cache the answer."""
        return self.executor.info()
