"""The contract between pipex and a kit: ``Kit``, what it receives (``KitContext``), what it returns
(``StepTemplate``), and how it reports a bad parameter (``KitParamError``).

A kit turns the validated ``with`` parameters of a step into an image, a command and the rest of a container
description. Host paths in a template are relative to the pipeline root, exactly as a user would write them in
the pipeline file: pipex resolves and checks them afterwards, so a kit cannot escape the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from pipex.model.spec import CacheSpec, SetupSpec, frozen_map

__all__ = [
    "CacheSpec",
    "Kit",
    "KitContext",
    "KitParamError",
    "PathPair",
    "SetupSpec",
    "StepTemplate",
]


class KitParamError(ValueError):
    """A parameter problem found by a kit's own code; ``loc`` is the path inside ``with`` (may be empty)."""

    def __init__(self, message: str, *, loc: tuple[str | int, ...] = (), hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint


@dataclass(frozen=True, slots=True)
class PathPair:
    """A host path relative to the pipeline root and where it appears in the container."""

    host: str
    container: str


def _pairs(items: Iterable[PathPair | tuple[str, str]]) -> tuple[PathPair, ...]:
    return tuple(item if isinstance(item, PathPair) else PathPair(*item) for item in items)


def _caches(items: Iterable[CacheSpec | Mapping[str, Any]]) -> tuple[CacheSpec, ...]:
    return tuple(item if isinstance(item, CacheSpec) else CacheSpec(**item) for item in items)


@dataclass(frozen=True, slots=True)
class StepTemplate:
    """What a kit produces. Lists are accepted and frozen into tuples, ``(host, container)`` pairs into
    ``PathPair``, cache mappings into ``CacheSpec``: kit authors may write plain data.

    ``allow_network`` ``None`` means "no opinion" (the run phase stays offline unless the user says so).
    """

    image: str
    cmd: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=frozen_map)
    mounts: tuple[PathPair, ...] = ()
    sources: tuple[PathPair, ...] = ()
    caches: tuple[CacheSpec, ...] = ()
    setup: SetupSpec | None = None
    allow_network: bool | None = None

    def __post_init__(self) -> None:
        # object.__setattr__: the documented way to normalise fields of a frozen dataclass.
        object.__setattr__(self, "cmd", tuple(self.cmd))
        object.__setattr__(self, "env", frozen_map(self.env))
        object.__setattr__(self, "mounts", _pairs(self.mounts))
        object.__setattr__(self, "sources", _pairs(self.sources))
        object.__setattr__(self, "caches", _caches(self.caches))
        if self.setup is not None:
            setup = self.setup
            frozen = SetupSpec(tuple(setup.cmd), _caches(setup.caches), setup.allow_network)
            object.__setattr__(self, "setup", frozen)


@runtime_checkable
class Kit(Protocol):
    """A kit: a ``name``, a pydantic model of its ``with`` parameters, and ``resolve``.

    ``params`` should be strict with ``extra="forbid"`` so a typo or ``"false"`` for a boolean is reported.
    ``resolve`` receives an instance of ``params``; it raises ``KitParamError`` for problems that involve
    several parameters or the files of the project.
    """

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> type[BaseModel]: ...

    def resolve(self, params: BaseModel, context: KitContext) -> StepTemplate: ...


@dataclass(frozen=True, slots=True)
class KitContext:
    """What a kit may know about where it runs.

    ``root``: the pipeline root (host paths of the template are relative to it). ``kit_dir``: the directory
    of a custom kit's own file, ``None`` for built-in and installed kits. ``resolve_kit(name)`` finds another
    kit by the same rules as ``uses:`` (for kits built on kits). ``warn(message)`` records a warning shown
    to the user.
    """

    root: Path
    kit_dir: Path | None
    step_id: str
    resolve_kit: Callable[[str], Kit]
    warn: Callable[[str], None]

    def use(self, name: str, params: Mapping[str, Any]) -> StepTemplate:
        """Resolve the kit ``name`` with ``params`` (validated by that kit) in this context."""
        kit = self.resolve_kit(name)
        return kit.resolve(kit.params.model_validate(dict(params)), self)
