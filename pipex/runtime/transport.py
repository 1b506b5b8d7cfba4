"""One HTTP seam for both backends: a ``requests.Session`` from podman-py or docker-py, plus error mapping.

podman-py and docker-py give us the unix-socket transport (their sessions mount the adapters); we make the calls
ourselves so no helper drops a field or buffers a stream, and every failure becomes a ``pipex.errors`` type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from pipex.errors import EngineError
from pipex.runtime.errors_map import map_connection_error, map_http_error

Params = Mapping[str, Any] | list[tuple[str, Any]] | None


class EngineTimeout(EngineError):
    """The engine did not answer within the timeout (callers such as ``wait`` turn this into ``None``)."""


def _timed_out(exc: BaseException) -> bool:
    # requests reports a read timeout hit while reading a streamed body as ConnectionError(ReadTimeoutError).
    cur: BaseException | None = exc
    while cur is not None:
        if isinstance(cur, requests.Timeout | TimeoutError) or type(cur).__name__ == "ReadTimeoutError":
            return True
        cur = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else cur.__cause__
    return False


class Transport:
    def __init__(
        self,
        session: requests.Session,
        url: Callable[[str], str],
        *,
        engine: str,
        endpoint: str,
        timeout: float,
    ) -> None:
        self.session = session
        self._url = url
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
    ) -> requests.Response:
        """Make one call; raise the mapped error for a transport failure or an HTTP error not in ``ok_statuses``.

        ``timeout``: seconds, or ``(connect, read)`` with ``read=None`` for streams that last as long as a step.
        """
        try:
            response = self.session.request(
                method,
                self._url(path),
                params=params,
                json=json,
                data=data,
                headers=dict(headers or {}),
                stream=stream,
                timeout=self.timeout if timeout is None else timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not _timed_out(exc):
                raise map_connection_error(exc, self.engine, self.endpoint) from exc
            raise EngineTimeout(
                f"{what}: {self.engine} at {self.endpoint} did not answer in time",
                hint="the engine is overloaded or stuck; check `podman info` / `docker info`",
            ) from exc
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
        self.session.close()
