"""Just enough of the Podman (libpod) and Docker HTTP APIs to set up and clean up the test engines.

Plain ``http.client`` over a unix socket, so the fixtures do not depend on the client libraries that pipex
itself wraps (a bug there must fail a test, not the environment).
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# The libpod API needs a version prefix; 4.0.0 is understood by every Podman >= 4.
LIBPOD = "/v4.0.0/libpod"
# Environment of the test images: an image imported FROM scratch has no PATH.
IMAGE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class EngineAPIError(Exception):
    pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def request(sock: Path, method: str, path: str, body: bytes | None = None, timeout: float = 60.0) -> tuple[int, bytes]:
    conn = _UnixConnection(sock, timeout)
    try:
        headers = {"Content-Type": "application/x-tar"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def call(sock: Path, method: str, path: str, body: bytes | None = None, timeout: float = 60.0) -> bytes:
    """``request``, raising ``EngineAPIError`` on a non-2xx status or an error inside a JSON stream."""
    status, data = request(sock, method, path, body, timeout)
    if status >= 300:
        raise EngineAPIError(f"{method} {path} -> {status}: {data[:500]!r}")
    for line in data.splitlines():  # docker streams progress as JSON lines; an error may come with 200
        try:
            message = json.loads(line)
        except ValueError:
            break
        if isinstance(message, dict) and message.get("error"):
            raise EngineAPIError(f"{method} {path}: {message['error']}")
    return data


def ping(sock: Path) -> bool:
    try:
        status, body = request(sock, "GET", "/_ping", timeout=2.0)
    except OSError:
        return False
    return status == 200 and body.strip() == b"OK"


def _query(pairs: Sequence[tuple[str, str]]) -> str:
    return urllib.parse.urlencode(list(pairs))


def import_image(sock: Path, kind: str, tarball: bytes, reference: str, changes: Sequence[str]) -> None:
    """``podman import`` / ``docker import`` of a rootfs tarball as ``reference`` (fully qualified)."""
    changed = [("changes", change) for change in changes]
    if kind == "podman":
        # The compat endpoint of Podman 4.3 ignores `tag` and `changes`: use libpod's.
        call(sock, "POST", f"{LIBPOD}/images/import?{_query([('reference', reference), *changed])}", tarball)
        return
    repo, _, tag = reference.rpartition(":")
    call(sock, "POST", f"/images/create?{_query([('fromSrc', '-'), ('repo', repo), ('tag', tag), *changed])}", tarball)


def tag_image(sock: Path, source: str, reference: str) -> None:
    repo, _, tag = reference.rpartition(":")
    call(sock, "POST", f"/images/{urllib.parse.quote(source, safe='')}/tag?{_query([('repo', repo), ('tag', tag)])}")


def containers(sock: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(call(sock, "GET", "/containers/json?all=1"))
    return listed


def remove_container(sock: Path, container_id: str) -> None:
    status, data = request(sock, "DELETE", f"/containers/{container_id}?force=1&v=1")
    if status >= 300 and status != 404:  # 404: it went away on its own (auto-remove)
        raise EngineAPIError(f"removing container {container_id} -> {status}: {data[:500]!r}")


# Networks every engine has and that cannot be removed.
DEFAULT_NETWORKS = frozenset({"bridge", "host", "none", "podman"})


def remove_networks(sock: Path) -> None:
    """Remove the networks tests created: dockerd's bridges are host interfaces that outlive the engine."""
    listed: list[dict[str, Any]] = json.loads(call(sock, "GET", "/networks"))
    for network in listed:
        if network.get("Name") not in DEFAULT_NETWORKS:
            status, data = request(sock, "DELETE", f"/networks/{network['Id']}")
            if status >= 300 and status != 404:
                raise EngineAPIError(f"removing network {network.get('Name')} -> {status}: {data[:500]!r}")
