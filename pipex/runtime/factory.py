"""The one place that chooses a runtime: discovery, then the backend for the API the endpoint speaks.

``open_runtime`` is what the engine and the CLI call; ``connect`` also returns the ``Endpoint`` (how it was
chosen) for ``pipex doctor`` and ``meta.json``. Backends are imported only once chosen, so a failed discovery
never pays for importing them (and on ``unix://`` sockets they import neither podman-py, docker-py nor requests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipex import config
from pipex.config import RuntimeKind
from pipex.runtime.base import Runtime
from pipex.runtime.discovery import Endpoint, discover
from pipex.runtime.service import PrivateService
from pipex.runtime.sharedservice import SharedService


@dataclass(frozen=True, slots=True)
class Connection:
    runtime: Runtime
    endpoint: Endpoint


def backend(endpoint: Endpoint, *, environ: Mapping[str, str] | None = None, cache: bool = True) -> Runtime:
    """A runtime for ``endpoint``: the libpod backend for a libpod API, else the Docker API backend.

    ``cache=False``: ask the engine for its info every time (``pipex doctor`` reports what the engine says now).
    """
    if endpoint.api == "libpod":
        # start-up: each backend's client library only when it is chosen
        from pipex.runtime.podman import PodmanRuntime

        # The ping discovery made keys the info cache (no extra round trip). A per-command service's socket is
        # new on every run, so caching its info would only leave files behind; the shared one's is kept (its
        # socket's inode keys the entry, so a restarted service is asked again).
        ping = endpoint.identity.api_version if endpoint.identity is not None else None
        if isinstance(endpoint.service, PrivateService) or not cache:
            ping = None
        # The shared service restarts after every idle pause: its entry is keyed by what a restart could change.
        service = endpoint.service.info_identity if isinstance(endpoint.service, SharedService) else None
        cache_dir = config.cache_dir(environ) / "engine-info"
        return PodmanRuntime(endpoint.url, ping_version=ping, cache_dir=cache_dir, service=service)
    # start-up: each backend's client library only when it is chosen
    from pipex.runtime.docker import DockerRuntime

    return DockerRuntime(endpoint.url)


def connect(
    kind: RuntimeKind = "auto",
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
        # closing the runtime stops the engine pipex started for it (or ends its lease on the shared one)
        runtime.own(endpoint.service.stop)
    return Connection(runtime, endpoint)


def open_runtime(
    kind: RuntimeKind = "auto",
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
