"""The factory: discovery → backend, and a private service stopped with the runtime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipex.errors import RuntimeUnavailable
from pipex.runtime.discovery import Endpoint
from pipex.runtime.factory import connect
from pipex.runtime.fake import FakeRuntime

from .conftest import process_gone
from .fakeengine import FakeEngine


def test_connect_picks_the_backend_for_the_api(short_tmp: Path, engine: Callable[..., FakeEngine]) -> None:
    fake = engine(short_tmp / "p.sock")
    made: list[Endpoint] = []

    def make(endpoint: Endpoint) -> FakeRuntime:
        made.append(endpoint)
        return FakeRuntime()

    connection = connect("auto", fake.url, environ={}, make=make)
    assert isinstance(connection.runtime, FakeRuntime)
    assert made == [connection.endpoint]
    assert (connection.endpoint.api, connection.endpoint.source) == ("libpod", "--host")


def test_a_private_service_stops_when_the_runtime_closes(short_tmp: Path, fake_podman: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(short_tmp), "PATH": str(fake_podman.parent), "PIPEX_SERVICE_IDLE": "0"}
    inner = FakeRuntime()
    connection = connect("auto", None, environ=env, root=short_tmp / "root", make=lambda e: inner)
    runtime = connection.runtime
    assert runtime is inner  # no wrapper: the runtime owns the service
    service = connection.endpoint.service
    assert service is not None and not process_gone(service.podman_pid)
    assert runtime.list({"pipex": "1"}) == []
    runtime.close()
    assert inner.closed
    assert process_gone(service.podman_pid)
    assert not service.path.exists()


def test_a_backend_that_fails_stops_the_service(short_tmp: Path, fake_podman: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(short_tmp), "PATH": str(fake_podman.parent), "PIPEX_SERVICE_IDLE": "0"}
    started: list[Endpoint] = []

    def make(endpoint: Endpoint) -> FakeRuntime:
        started.append(endpoint)
        raise RuntimeUnavailable("backend says no")

    with pytest.raises(RuntimeUnavailable, match=r"^backend says no$"):
        connect("auto", None, environ=env, root=short_tmp / "root", make=make)
    service = started[0].service
    assert service is not None and process_gone(service.podman_pid)
