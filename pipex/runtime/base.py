"""The runtime seam: the one narrow protocol the engine talks to, and the data that crosses it.

Everything above ``pipex.runtime`` sees only ``Runtime``, ``ContainerSpec`` and ``RuntimeInfo`` (capabilities as
data), never an engine's name. Backends (``podman.py``, ``docker.py``, ``fake.py``) translate their own exceptions
into ``pipex.errors`` at this seam, with ``raise … from exc`` and messages that say what to do.

The protocol is synchronous and thread-safe: the engine drives each step from a worker thread (the clients,
podman-py and docker-py, are blocking HTTP clients over a unix socket), so one slow step never blocks another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable


def _frozen(data: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted((data or {}).items())))


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


@dataclass(frozen=True, slots=True)
class LogChunk:
    """Raw bytes of one stream as the engine sent them (not split into lines: that is the engine's job)."""

    stream: Stream
    data: bytes


Relabel = Literal["shared", "private"]


@dataclass(frozen=True, slots=True)
class Bind:
    """A host path bind-mounted into the container.

    ``relabel``: SELinux relabel choice (``shared`` = ``:z``, ``private`` = ``:Z``, ``None`` = none); the backend
    applies it only when the engine reports SELinux enforcing.
    """

    source: Path
    target: str
    read_only: bool = True
    relabel: Relabel | None = None


@dataclass(frozen=True, slots=True)
class Resources:
    cpus: float | None = None
    memory: int | None = None  # bytes
    pids: int | None = None


@dataclass(frozen=True, slots=True)
class UserMapping:
    """How container users map to the invoking user.

    ``keep_id``: under rootless Podman, map container uid/gid ``(uid, gid)`` to the invoking user
    (``--userns=keep-id:uid=U,gid=G``) so an image whose USER is not root can write the output as the user.
    ``None``: the engine's default (rootless Podman: container root is the invoking user).
    """

    keep_id: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class SecretMount:
    """A secret delivered to a container: as the variable ``env``, or as a read-only file at ``path`` (``owner``,
    ``mode``).

    ``value``: the bytes (never in a repr); ``None`` with ``store`` set: the engine's own secret store already holds
    it under that name (Podman). Backends deliver it the most private way their engine allows (see README)."""

    name: str
    value: bytes | None = field(default=None, repr=False)
    env: str | None = None
    path: str | None = None
    store: str | None = None
    owner: tuple[int, int] = (0, 0)  # the file's uid/gid inside the container (the image's user)
    mode: int = 0o400  # 0o444 when the image's user is a name pipex cannot turn into a uid


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    image: str
    cmd: tuple[str, ...] | None = None  # None: the image's CMD
    entrypoint: tuple[str, ...] | None = None  # None: the image's ENTRYPOINT; () clears it
    env: Mapping[str, str] = field(default_factory=_frozen)
    binds: tuple[Bind, ...] = ()
    network: bool = False  # False: no network at all (``--network none``)
    user: str | None = None  # None: the image's USER
    userns: UserMapping = field(default_factory=UserMapping)
    labels: Mapping[str, str] = field(default_factory=_frozen)
    workdir: str | None = None
    resources: Resources = field(default_factory=Resources)
    init: bool = True  # an init process as PID 1 so signals reach the step's processes
    # hold: the main process is a pause process provided by the backend (not from the image), so the engine can
    # exec the setup phase and then the step's command in the same container.
    hold: bool = False
    name: str | None = None
    secrets: tuple[SecretMount, ...] = ()
    # engine_log=False: the engine stores no copy of the output (log driver "none"); it is read only as it comes,
    # through ``start_attached`` or ``exec``, and ``logs`` of the container fails (``ContainerFailed``). pipex
    # keeps a step's output in its own log files; the engine's copy wrote the same bytes a second time (on
    # dockerd ~0.14 s of a 1.4 s step printing 200,000 lines).
    engine_log: bool = True


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A local image, resolved: what enters the fingerprint, plus the config the engine needs."""

    reference: str
    id: str
    digest: str | None = None  # repo digest when the image came from a registry
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""
    workdir: str = ""
    env: Mapping[str, str] = field(default_factory=_frozen)


@dataclass(frozen=True, slots=True)
class PullProgress:
    image: str
    status: str
    current: int | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class ContainerRef:
    id: str
    name: str
    labels: Mapping[str, str]
    state: str  # created | running | exited | …


@dataclass(frozen=True, slots=True)
class RuntimeInfo:
    """Capabilities of the engine behind a runtime. The core decides on these, never on ``engine``'s value."""

    engine: str  # "podman" | "docker" | "fake" — for display and meta.json only
    version: str
    api_version: str
    endpoint: str
    rootless: bool
    libpod_api: bool
    supports_keep_id: bool
    cgroup_version: str  # "v1" | "v2" | "unknown"
    cgroup_controllers: tuple[str, ...] = ()  # controllers usable for limits (delegated, when rootless)
    selinux_enforcing: bool = False
    oci_runtime: str = ""
    storage_driver: str = ""
    network_backend: str = ""
    host_uid: int | None = None  # uid the engine's container root maps to on the host (rootless: the user)

    def enforces(self, limit: Literal["cpus", "memory", "pids"]) -> bool:
        """Whether a resource limit would actually be enforced by this engine."""
        need = {"cpus": "cpu", "memory": "memory", "pids": "pids"}[limit]
        return need in self.cgroup_controllers


@runtime_checkable
class Runtime(Protocol):
    """The operations pipex needs from a container engine. Every method raises only ``pipex.errors`` types."""

    def info(self) -> RuntimeInfo: ...

    def ping(self) -> None:
        """Raise ``RuntimeUnavailable`` if the engine does not answer."""

    def image(self, reference: str) -> ImageRef | None:
        """The local image for ``reference``, or ``None`` when it is not present."""

    def pull(self, reference: str, progress: Callable[[PullProgress], None] | None = None) -> ImageRef:
        """Pull ``reference``; raise ``ImagePullFailed`` with the engine's answer."""

    def create(self, spec: ContainerSpec) -> str:
        """Create (not start) a container; return its id."""

    def copy_in(self, container: str, source: Path, target: str) -> None:
        """Copy the host directory tree ``source`` to ``target`` inside a created container."""

    def start(self, container: str) -> None: ...

    def start_attached(self, container: str, *, started: Callable[[], None] | None = None) -> Iterator[LogChunk]:
        """Attach to a created container, start it, and yield its output until its streams close.

        The way ``podman run``/``docker run`` get their output: exact bytes as they are written, with no log
        driver in between and no poll delay at the end. The generator ends when the container exits (or is
        stopped); ``wait`` then gives its exit code. ``started`` is called once the start has returned, before
        any output is read: the caller's moment to stop a container whose run was cancelled while it started
        (a stop before the start does nothing).
        """

    def exec(
        self,
        container: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        on_output: Callable[[LogChunk], None] | None = None,
    ) -> int:
        """Run ``cmd`` in a running container, streaming its output; return its exit code."""

    def logs(self, container: str) -> Iterator[LogChunk]:
        """Follow the container's output from its start until it exits, demultiplexed, as raw bytes."""

    def wait(self, container: str, timeout: float | None = None) -> int | None:
        """The exit code, or ``None`` if ``timeout`` seconds passed first."""

    def stop(self, container: str, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds. No error if it already exited; ``ContainerGone`` if
        it was removed (as every call naming a container the engine does not know)."""

    def kill(self, container: str) -> None:
        """SIGKILL. No error if it already exited; ``ContainerGone`` if it was removed."""

    def remove(self, container: str) -> None:
        """Force-remove; no error if it is already gone."""

    def reap_secrets(self, workdir_hash: str, alive: Callable[[int], bool]) -> list[str]:
        """Remove what was made to deliver secrets (engine secrets, files) by dead pipex processes of this workdir
        on this host (``alive(pid)``); return their names. ``remove`` takes away a live container's own."""

    def list(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        """Containers (any state) carrying all of ``labels``."""

    def disconnect_network(self, container: str) -> None:
        """Take every network away from a running container (setup → run phase)."""

    def normalize_ownership(self, path: Path, uid: int, gid: int, *, image: str | None = None) -> None:
        """Make every file under ``path`` (written by a container) owned by ``uid:gid`` on the host.

        ``image``: an image present on the engine for a helper container (default: the last one used)."""

    def remove_tree(self, path: Path, *, image: str | None = None) -> None:
        """Delete a host tree written by containers, even where the user alone could not (rootless subuids)."""

    def own(self, release: Callable[[], None]) -> None:
        """Call ``release`` when this runtime is closed, after its connection (e.g. stop a private service the
        engine runs in). Releases run last added first, once."""

    def close(self) -> None:
        """Release the connection, then everything the runtime owns (``own``)."""
