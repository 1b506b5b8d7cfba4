"""One HTTP seam for both backends: a ``Client`` that carries requests, plus error mapping.

The client is ``unix_http.UnixClient`` (standard library) for ``unix://`` sockets, or
``requests_client.RequestsClient`` (podman-py's / docker-py's session) for ``tcp://`` and ``ssh://``. We make the
calls ourselves so no helper drops a field or buffers a stream, and every failure becomes a ``pipex.errors`` type.
"""

from __future__ import annotations

import http.client
import json as jsonlib
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

from pipex.errors import EngineError
from pipex.runtime.errors_map import map_connection_error, map_http_error
from pipex.runtime.response import Response

Params = Mapping[str, Any] | list[tuple[str, Any]] | None


class EngineTimeout(EngineError):
    """The engine did not answer within the timeout (callers such as ``wait`` turn this into ``None``)."""


class Client(Protocol):
    """Carries one request. Raises ``TimeoutError`` for a timeout, ``OSError``/``HTTPException`` otherwise."""

    def send(
        self,
        method: str,
        target: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: tuple[float, float | None],
    ) -> Response: ...

    def close(self) -> None: ...


class Transport:
    """Requests to ``prefix`` + path on ``client`` (``prefix``: the versioned API root, e.g. ``/v1.41/``)."""

    def __init__(self, client: Client, prefix: str, *, engine: str, endpoint: str, timeout: float) -> None:
        self.client = client
        self._prefix = "/" + prefix.strip("/") + "/"
        self.engine = engine
        self.endpoint = endpoint
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Params = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: float | tuple[float, float | None] | None = None,
        image: str | None = None,
        container: str | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> Response:
        """Make one call; raise the mapped error for a transport failure or an HTTP error not in ``ok_statuses``.

        ``timeout``: seconds, or ``(connect, read)`` with ``read=None`` for streams that last as long as a step.
        ``data``: bytes, a binary file or an iterable of bytes (streamed, never read whole into memory).
        """
        target = self._prefix + path.lstrip("/")
        if params:
            target += "?" + urlencode(list(params.items()) if isinstance(params, Mapping) else params)
        header = dict(headers or {})
        if json is not None:
            data = jsonlib.dumps(json).encode()
            header.setdefault("Content-Type", "application/json")
        limit = self.timeout if timeout is None else timeout
        try:
            response = self.client.send(
                method,
                target,
                body=data,
                headers=header,
                stream=stream,
                timeout=limit if isinstance(limit, tuple) else (limit, limit),
            )
        except TimeoutError as exc:
            raise EngineTimeout(
                f"{what}: {self.engine} at {self.endpoint} did not answer in time",
                hint="the engine is overloaded or stuck; check `podman info` / `docker info`",
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise map_connection_error(exc, self.engine, self.endpoint) from exc
        if response.status_code >= 400 and response.status_code not in ok_statuses:
            try:
                raise map_http_error(response, what, image=image, container=container)
            finally:
                response.close()
        return response

    def json(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = self.request(method, path, what, **kwargs)
        try:
            return response.json() if response.content else None
        except ValueError as exc:
            raise EngineError(f"{what}: {self.engine} sent a malformed answer: {response.text[:200]!r}") from exc
        finally:
            response.close()

    def close(self) -> None:
        self.client.close()
