"""Translate transport and HTTP failures of an engine into ``pipex.errors``, at the seam.

Model: httpx's ``map_httpcore_exceptions``. Callers catch the backend's exception and ``raise map_…(…) from exc``
so the original stays in the traceback; messages say what to do.
"""

from __future__ import annotations

import errno
import re
from typing import TYPE_CHECKING

from pipex.errors import (
    CommandNotFound,
    ContainerFailed,
    ContainerGone,
    EngineError,
    ImageNotFound,
    NetworkUnavailable,
    RuntimeUnavailable,
)
from pipex.errors import RuntimeError as EngineRuntimeError

if TYPE_CHECKING:
    from pipex.runtime.response import Response


def start_hint(engine: str, endpoint: str) -> str:
    if engine == "podman":
        if "/run/user/" in endpoint or "XDG" in endpoint:
            return "start it with `systemctl --user start podman.socket`"
        return "start it with `systemctl start podman.socket` (rootful) or `systemctl --user start podman.socket`"
    return "start it with `systemctl start docker` (or point --host / DOCKER_HOST at a running engine)"


def _root_errno(exc: BaseException) -> int | None:
    """The errno of the OS error in an exception's chain (requests/urllib3 nest it deeply), if any."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno is not None:
            return cur.errno
        todo.extend([cur.__cause__, cur.__context__])
        todo.extend(arg for arg in getattr(cur, "args", ()) if isinstance(arg, BaseException))
        todo.append(getattr(cur, "reason", None))
    return None


def map_connection_error(exc: BaseException, engine: str, endpoint: str) -> RuntimeUnavailable:
    code = _root_errno(exc)
    if code in (errno.EACCES, errno.EPERM):
        fix = (
            "use rootless Podman (`systemctl --user start podman.socket`) or get access to that socket"
            if engine == "podman"
            else "add your user to the socket's group (`sudo usermod -aG docker $USER`, then log in again), "
            "or point DOCKER_HOST at a socket you may use"
        )
        return RuntimeUnavailable(f"cannot reach {engine} at {endpoint}: permission denied on the socket", hint=fix)
    why = {
        errno.ENOENT: "no such socket",
        errno.ECONNREFUSED: "connection refused",
    }.get(code or 0, str(exc) or type(exc).__name__)
    return RuntimeUnavailable(f"cannot reach {engine} at {endpoint}: {why}", hint=start_hint(engine, endpoint))


def engine_message(response: Response) -> str:
    """The engine's own explanation of an HTTP error (``message``/``cause`` in the JSON body)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        message = body.get("message") or body.get("cause")
        if message:
            return str(message)
    return f"HTTP {response.status_code}"


def map_http_error(
    response: Response, what: str, *, image: str | None = None, container: str | None = None
) -> EngineRuntimeError:
    """An error for an HTTP answer ``>= 400`` to the operation ``what``."""
    message = engine_message(response)
    if response.status_code == 404 and image is not None:
        return ImageNotFound(image, f"image {image!r} not found: {message}")
    if container is not None and _GONE.search(message):
        return ContainerGone(f"{what}: no such container {container!r}: {message}")
    if container is not None or what.startswith(("create", "start")):
        return classify_container_failure(f"{what} failed: {message}")
    return EngineError(f"{what} failed: {message}")


# The engines' words for a container they do not know (any more): Podman's ErrNoSuchCtr ("no container with name
# or ID "x" found: no such container", also "... does not exist in database: no such container" when a removal
# races the call) and ErrCtrRemoved ("container has already been removed", a call that held the container while
# it was removed), Docker's "No such container: x". Matched on the words, whatever the status (Podman answers a
# race with a 500), and not on a 404 alone: a 404 of a call naming a container may be about something else (a
# network to disconnect).
_GONE = re.compile(r"no such container|container has already been removed", re.IGNORECASE)

# The OCI runtimes' words for "the command is not in the image": runc (Podman and Docker) and crun.
_NOT_FOUND = (
    re.compile(r'exec: "([^"]+)": executable file not found in \$PATH'),
    re.compile(r'exec: "([^"]+)": stat [^:]+: no such file or directory'),
    re.compile(r"executable file `([^`]+)` not found"),
    re.compile(r"`([^`]+)`: No such file or directory: OCI runtime attempted to invoke a command that was not found"),
)
# Rootless networking that cannot start: slirp4netns or pasta cannot open /dev/net/tun (or are missing).
_NETWORK = re.compile(
    r"/dev/net/tun|slirp4netns failed|setting up pasta|pasta failed|could not find slirp4netns|"
    r"could not find pasta|rootless (?:port|network)",
    re.IGNORECASE,
)

NETWORK_HINT = (
    "rootless networking needs slirp4netns or pasta and a usable /dev/net/tun: install slirp4netns (or passt), "
    "check `ls -l /dev/net/tun` (crw-rw-rw-) and run `pipex doctor`; or run the step without allowNetwork"
)


def classify_container_failure(message: str) -> ContainerFailed:
    """A container that could not be created or started: a missing command (exit 127, naming it), a network
    the engine could not set up (reason ``network``), or any other failure with the engine's words."""
    # Network first: a missing slirp4netns is reported in the same words as a missing command.
    if _NETWORK.search(message):
        return NetworkUnavailable(f"the container's network could not be set up: {message}", hint=NETWORK_HINT)
    for pattern in _NOT_FOUND:
        found = pattern.search(message)
        if found:
            exe = found.group(1)
            return CommandNotFound(exe, f'command "{exe}" not found in the image (the engine said: {message})')
    return ContainerFailed(message)
