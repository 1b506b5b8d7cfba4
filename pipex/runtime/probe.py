"""A tiny HTTP client that checks whether a URL is a container engine API, and which one.

Discovery probes several sockets; doing it with ``http.client`` over a unix socket keeps it fast (short
timeouts, no podman-py/docker-py import until a backend is chosen). Podman is recognised by a ``Podman Engine``
component in ``/version`` and by answering ``/libpod/_ping``; anything else answering ``/_ping`` and
``/version`` speaks the Docker Engine API.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pipex.runtime.unixsock import UnixConnection

Api = Literal["libpod", "docker"]

DEFAULT_TIMEOUT = 5.0  # a socket-activated Podman service needs a moment to start on the first request


class ProbeFailed(Exception):
    """The endpoint is not a usable engine API; ``reason`` says why, in words for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Identity:
    """What answered at ``url``: ``api`` is the richest API it speaks (Podman also speaks the Docker API)."""

    url: str
    api: Api
    engine: str  # "podman" | "docker" (a Docker-API server of another kind reports "docker")
    version: str
    api_version: str


def socket_path(url: str) -> str | None:
    """The filesystem path of a ``unix://`` URL, else ``None``."""
    parts = urlsplit(url)
    if parts.scheme != "unix":
        return None
    return parts.netloc + parts.path if parts.netloc else parts.path


def probable(url: str) -> bool:
    """Whether ``probe`` can check this URL (unix, tcp and http; not ssh or TLS)."""
    return urlsplit(url).scheme in ("unix", "tcp", "http")


def _connection(url: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return UnixConnection(socket_path(url) or "", timeout)
    if parts.scheme in ("tcp", "http") and parts.hostname:
        return http.client.HTTPConnection(parts.hostname, parts.port or 2375, timeout=timeout)
    raise ProbeFailed(f"cannot check a {parts.scheme or 'schemeless'} URL here")


def _get(url: str, path: str, timeout: float) -> tuple[int, dict[str, str], bytes]:
    conn = _connection(url, timeout)
    try:
        conn.request("GET", path, headers={"Host": "localhost"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(1 << 20)
    except PermissionError as exc:
        raise ProbeFailed("permission denied: your user may not use this socket") from exc
    except FileNotFoundError as exc:
        raise ProbeFailed("no socket there") from exc
    except ConnectionRefusedError as exc:
        raise ProbeFailed("connection refused: nothing listens on it (a stale socket?)") from exc
    except TimeoutError as exc:
        raise ProbeFailed(f"no answer within {timeout:g}s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ProbeFailed(f"not a container engine API ({exc or type(exc).__name__})") from exc
    finally:
        conn.close()


def _ping(url: str, timeout: float) -> dict[str, str]:
    status, headers, body = _get(url, "/_ping", timeout)
    if status != 200:
        raise ProbeFailed(f"/_ping answered HTTP {status}: {body[:200].decode(errors='replace').strip()}")
    return headers


def ping(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Raise ``ProbeFailed`` unless ``GET /_ping`` answers 200."""
    _ping(url, timeout)


def probe(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Identity:
    """Ping ``url`` and identify the engine behind it; raise ``ProbeFailed`` with the reason otherwise."""
    headers = _ping(url, timeout)
    # The ping's headers usually identify the engine, which saves a /version call: Podman 4.x answers its
    # compat /version in over a second (it gathers host facts), /_ping in milliseconds.
    libpod = headers.get("libpod-api-version")
    if libpod:
        return Identity(url, "libpod", "podman", libpod, libpod)
    server = headers.get("server", "")
    if server.startswith("Docker/") and headers.get("api-version"):
        return Identity(url, "docker", "docker", server.split("/", 1)[1].split()[0], headers["api-version"])
    status, _, body = _get(url, "/version", timeout)
    if status != 200:
        raise ProbeFailed(f"/version answered HTTP {status}")
    try:
        version: Any = json.loads(body)
    except ValueError as exc:
        raise ProbeFailed("/version did not answer JSON: not a container engine API") from exc
    if not isinstance(version, dict):
        raise ProbeFailed("/version did not answer a JSON object: not a container engine API")
    components = [c for c in version.get("Components") or [] if isinstance(c, dict)]
    podman = next((c for c in components if c.get("Name") == "Podman Engine"), None)
    api_version = str(version.get("ApiVersion", ""))
    if podman is not None:
        status, headers, _ = _get(url, "/libpod/_ping", timeout)
        if status == 200:
            libpod_version = headers.get("libpod-api-version", str(podman.get("Version", "")))
            return Identity(url, "libpod", "podman", str(podman.get("Version", "")), libpod_version)
        return Identity(url, "docker", "podman", str(podman.get("Version", "")), api_version)
    return Identity(url, "docker", "docker", str(version.get("Version", "")), api_version)
