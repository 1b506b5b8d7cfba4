"""Container runtimes behind one protocol (``pipex.runtime.base``). Backends are imported lazily: podman-py and
docker-py load only when a backend is first used, so ``pipex --version`` stays fast."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipex.runtime.base import ContainerSpec, Runtime, RuntimeInfo
    from pipex.runtime.docker import DockerRuntime
    from pipex.runtime.fake import Behaviour, FakeRuntime
    from pipex.runtime.podman import PodmanRuntime

_LAZY = {
    "Runtime": "pipex.runtime.base",
    "ContainerSpec": "pipex.runtime.base",
    "RuntimeInfo": "pipex.runtime.base",
    "PodmanRuntime": "pipex.runtime.podman",
    "DockerRuntime": "pipex.runtime.docker",
    "FakeRuntime": "pipex.runtime.fake",
    "Behaviour": "pipex.runtime.fake",
}

__all__ = [
    "Behaviour",
    "ContainerSpec",
    "DockerRuntime",
    "FakeRuntime",
    "PodmanRuntime",
    "Runtime",
    "RuntimeInfo",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipex.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
