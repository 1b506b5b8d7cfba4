"""The one place that chooses a runtime: discovery, then the backend for the API the endpoint speaks.

``open_runtime`` is what the engine and the CLI call; ``connect`` also returns the ``Endpoint`` (how it was
chosen) for ``pipex doctor`` and ``meta.json``. Backends are imported only once chosen, so a failed discovery
never pays for importing them (and on ``unix://`` sockets they import neither podman-py, docker-py nor requests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipex import config
from pipex.runtime.base import (
    ContainerRef,
    ContainerSpec,
    ImageRef,
    LogChunk,
    PullProgress,
    Runtime,
    RuntimeInfo,
)
from pipex.runtime.discovery import Endpoint, Kind, discover
from pipex.runtime.service import PrivateService


@dataclass(frozen=True, slots=True)
class Connection:
    runtime: Runtime
    endpoint: Endpoint


def backend(endpoint: Endpoint, *, environ: Mapping[str, str] | None = None, cache: bool = True) -> Runtime:
    """A runtime for ``endpoint``: the libpod backend for a libpod API, else the Docker API backend.

    ``cache=False``: ask the engine for its info every time (``pipex doctor`` reports what the engine says now).
    """
    if endpoint.api == "libpod":
        from pipex.runtime.podman import PodmanRuntime

        # The ping discovery made keys the info cache (no extra round trip). A private service's socket is new
        # on every run, so caching its info would only leave files behind.
        ping = endpoint.identity.api_version if endpoint.identity is not None else None
        if endpoint.service is not None or not cache:
            ping = None
        return PodmanRuntime(endpoint.url, ping_version=ping, cache_dir=config.cache_dir(environ) / "engine-info")
    from pipex.runtime.docker import DockerRuntime

    return DockerRuntime(endpoint.url)


def connect(
    kind: Kind = "auto",
    host: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    host_source: str = "--host",
    root: Path = Path("/"),
    make: Callable[[Endpoint], Runtime] | None = None,
) -> Connection:
    """Discover the engine (``kind`` restricts it; ``host`` pins it) and open its runtime.

    ``make``: builds the runtime for the endpoint (default: ``backend``, with ``environ``).
    """
    endpoint = discover(kind, host, environ=environ, host_source=host_source, root=root)
    try:
        runtime = backend(endpoint, environ=environ) if make is None else make(endpoint)
        if endpoint.identity is None:
            runtime.ping()  # ssh:// and TLS endpoints were not checked by discovery
    except BaseException:
        if endpoint.service is not None:
            endpoint.service.stop()
        raise
    if endpoint.service is not None:
        runtime = ServiceRuntime(runtime, endpoint.service)
    return Connection(runtime, endpoint)


def open_runtime(
    kind: Kind = "auto",
    host: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    host_source: str = "--host",
    on_warning: Callable[[str], None] | None = None,
) -> Runtime:
    """The runtime pipex should use now (never cached: each call looks again). Close it when done.

    ``on_warning``: gets what the user should know about the choice (``Endpoint.warnings``)."""
    found = connect(kind, host, environ=environ, host_source=host_source)
    if on_warning is not None:
        for warning in found.endpoint.warnings:
            on_warning(warning)
    return found.runtime


class ServiceRuntime:
    """A runtime whose engine is a private service pipex started: closing it stops the service."""

    def __init__(self, inner: Runtime, service: PrivateService) -> None:
        self.inner = inner
        self.service = service

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.service.stop()

    def info(self) -> RuntimeInfo:
        return self.inner.info()

    def ping(self) -> None:
        self.inner.ping()

    def image(self, reference: str) -> ImageRef | None:
        return self.inner.image(reference)

    def pull(self, reference: str, progress: Callable[[PullProgress], None] | None = None) -> ImageRef:
        return self.inner.pull(reference, progress)

    def create(self, spec: ContainerSpec) -> str:
        return self.inner.create(spec)

    def copy_in(self, container: str, source: Path, target: str) -> None:
        self.inner.copy_in(container, source, target)

    def start(self, container: str) -> None:
        self.inner.start(container)

    def start_attached(self, container: str) -> Iterator[LogChunk]:
        return self.inner.start_attached(container)

    def exec(
        self,
        container: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        on_output: Callable[[LogChunk], None] | None = None,
    ) -> int:
        return self.inner.exec(container, cmd, env=env, workdir=workdir, on_output=on_output)

    def logs(self, container: str) -> Iterator[LogChunk]:
        return self.inner.logs(container)

    def wait(self, container: str, timeout: float | None = None) -> int | None:
        return self.inner.wait(container, timeout)

    def stop(self, container: str, grace: float = 10.0) -> None:
        self.inner.stop(container, grace)

    def kill(self, container: str) -> None:
        self.inner.kill(container)

    def remove(self, container: str) -> None:
        self.inner.remove(container)

    def list(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        return self.inner.list(labels)

    def disconnect_network(self, container: str) -> None:
        self.inner.disconnect_network(container)

    def normalize_ownership(self, path: Path, uid: int, gid: int, *, image: str | None = None) -> None:
        self.inner.normalize_ownership(path, uid, gid, image=image)

    def remove_tree(self, path: Path, *, image: str | None = None) -> None:
        self.inner.remove_tree(path, image=image)
