"""The resolved, runtime-agnostic description of a step: what the engine executes.

A ``StepSpec`` is produced from a validated ``Step`` after kits are applied and the environment is merged
(kit defaults < ``--env-file`` < step ``envFile`` < step ``env``). Host paths are absolute and resolved.
Frozen dataclasses: they cross from the model into the engine and must not change on the way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Protocol


def frozen_map(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``data`` (keys sorted, so iteration order is canonical)."""
    return MappingProxyType(dict(sorted((data or {}).items())))


@dataclass(frozen=True, slots=True)
class InputSpec:
    step: str
    copy_to_output: bool = False
    optional: bool = False


@dataclass(frozen=True, slots=True)
class MountSpec:
    """``host`` is absolute and symlink-resolved; ``container`` is an absolute container path."""

    host: Path
    container: str


@dataclass(frozen=True, slots=True)
class CacheSpec:
    name: str
    path: str
    exclusive: bool = False


@dataclass(frozen=True, slots=True)
class SetupSpec:
    cmd: tuple[str, ...]
    caches: tuple[CacheSpec, ...] = ()
    allow_network: bool = False


@dataclass(frozen=True, slots=True)
class ResourcesSpec:
    cpus: float | None = None
    memory: str | None = None
    pids: int | None = None


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """A declared secret: its name and where its value comes from, never the value (the engine looks it up).

    ``ref``: the host variable (``env``), the absolute file (``file``) or the Podman secret (``podman``);
    ``origin``: the source as written (``env:VAR``, ``file:path``, ``podman:name``), for meta.json and messages.
    ``mount``: deliver as a read-only file there instead of the variable ``name``."""

    name: str
    source: Literal["env", "file", "podman"]
    ref: str
    origin: str
    mount: str | None = None
    affects_output: bool = False


@dataclass(frozen=True, slots=True)
class SlurmSpec:
    """A step's own Slurm placement: its partition (over ``.pipex.yml``'s) and sbatch arguments (after them)."""

    partition: str | None = None
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KitRef:
    """Which kit produced a step and its normalised parameters (part of the fingerprint)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=frozen_map)


class InstanceResolver(Protocol):
    """Resolves one instance of a kit step whose ``with`` holds ``${{ … }}``: the step with its values
    substituted in ``with`` and ``env``, then through its kit (an instance's image, command, mounts … are the
    kit's answer to its own values). Raises ``PipelineError``/``KitError`` when the kit refuses them."""

    def __call__(self, matrix: Mapping[str, Any] | None, item: Any, has_item: bool) -> StepSpec: ...


@dataclass(frozen=True, slots=True)
class FanOutSpec:
    """A step's ``matrix`` or ``foreach`` (exactly one of ``matrix``, ``items``, ``source``, ``paired``).

    ``resolve``: set for a kit step whose ``with`` holds ``${{ … }}`` (see ``InstanceResolver``); the step's
    own spec then has no image or command, each instance gets its own."""

    matrix: tuple[tuple[str, tuple[Any, ...]], ...] | None = None  # name → values, in file order
    items: tuple[Any, ...] | None = None  # a literal foreach list
    source: tuple[str, str] | None = None  # (step, output key): the items come from an upstream output
    paired: str | None = None  # foreach: {step: X}
    max_parallel: int | None = None
    fail_fast: bool = False
    resolve: InstanceResolver | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StepSpec:
    id: str
    name: str
    image: str
    cmd: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=frozen_map)
    inputs: tuple[InputSpec, ...] = ()
    output_path: str = "/output"
    mounts: tuple[MountSpec, ...] = ()
    sources: tuple[MountSpec, ...] = ()
    caches: tuple[CacheSpec, ...] = ()
    setup: SetupSpec | None = None
    condition: str | None = None
    timeout_sec: float | None = None
    retries: int = 0
    retry_delay_ms: int = 5000
    allow_failure: bool = False
    allow_network: bool = False
    resources: ResourcesSpec | None = None
    kit: KitRef | None = None
    secrets: tuple[SecretSpec, ...] = ()
    when: Literal["success", "failure", "always"] = "success"  # see pipex.engine.when
    gate: str | None = None  # an approval gate (its message, "" for none): no container (pipex.engine.gates)
    slurm: SlurmSpec | None = None  # where the step's job goes on Slurm: not part of the fingerprint
    outputs: tuple[str, ...] | None = None  # declared outputs (None: not declared, so none is required)
    fan_out: FanOutSpec | None = None  # matrix / foreach: the engine runs one instance per value
    # A sub-pipeline whose foreach reads an upstream output (its file, as written): no container; the engine inlines
    # its steps once the list is known (model/compose.py, "deferred")
    pipeline: str | None = None
    instance: str | None = None  # an instance's key (its id is ``<step>[<key>]``); None for a step itself
    group: str | None = None  # an instance's step id
    # Warnings produced while resolving (e.g. "install skipped: no requirements.txt in src").
    warnings: tuple[str, ...] = ()
