"""Translate transport and HTTP failures of an engine into ``pipex.errors``, at the seam.

Model: httpx's ``map_httpcore_exceptions``. Callers catch the backend's exception and ``raise map_…(…) from exc``
so the original stays in the traceback; messages say what to do.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from pipex.errors import ContainerFailed, EngineError, ImageNotFound, RuntimeUnavailable
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
        return RuntimeUnavailable(
            f"cannot reach {engine} at {endpoint}: permission denied on the socket",
            hint="use rootless Podman (`systemctl --user start podman.socket`) or get access to that socket",
        )
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
    if response.status_code == 404 and container is not None:
        return ContainerFailed(f"{what}: no such container {container!r}: {message}")
    if container is not None or what.startswith(("create", "start")):
        return ContainerFailed(f"{what} failed: {message}")
    return EngineError(f"{what} failed: {message}")
