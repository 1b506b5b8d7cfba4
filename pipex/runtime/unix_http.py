"""A ``requests.Session`` that talks HTTP over a unix socket, without importing podman-py.

podman-py's ``APIClient`` was only used for this session and its libpod path prefix; importing it (and the
``rich.progress`` it pulls in) cost a fully cached ``pipex run`` about 70 ms of its ~0.3 s budget. The adapter
follows podman-py's and docker-py's unix adapters: one urllib3 pool whose connections connect to the socket,
proxies from the environment ignored. A socket that cannot be reached fails with the ``OSError`` at the bottom
of requests' ``ConnectionError`` chain, which ``errors_map.map_connection_error`` turns into its message.
"""

from __future__ import annotations

import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool

# The version in podman-py's libpod prefix (its own release, 5.8.0): Podman 4.0+ servers accept it.
LIBPOD_API_VERSION = "5.8.0"
LIBPOD_PREFIX = f"/v{LIBPOD_API_VERSION}/libpod/"
POOL_SIZE = 10  # requests' and podman-py's default: one connection per concurrently streamed container


class _UnixConnection(HTTPConnection):
    def __init__(self, socket_path: str, **kwargs: Any) -> None:
        super().__init__("localhost", **kwargs)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)  # a float or None by now: the pool resolves its default first
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixPool(HTTPConnectionPool):
    def __init__(self, socket_path: str, maxsize: int) -> None:
        super().__init__("localhost", maxsize=maxsize)
        self._socket_path = socket_path

    def _new_conn(self) -> HTTPConnection:
        self.num_connections += 1
        return _UnixConnection(self._socket_path, timeout=self.timeout.connect_timeout)


class UnixAdapter(HTTPAdapter):
    def __init__(self, socket_path: str, pool_size: int = POOL_SIZE) -> None:
        super().__init__(pool_connections=1, pool_maxsize=pool_size)
        self._pool = _UnixPool(socket_path, pool_size)

    def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None, cert: Any = None) -> Any:
        return self._pool

    def get_connection(self, url: Any, proxies: Any = None) -> Any:
        return self._pool

    def request_url(self, request: Any, proxies: Any) -> str:
        return str(request.path_url)  # no proxy, no host: the path is the whole request target

    def close(self) -> None:
        super().close()
        self._pool.close()


def unix_session(socket_path: str) -> requests.Session:
    """A session whose ``http://localhost/…`` requests go to ``socket_path``."""
    session = requests.Session()
    session.trust_env = False  # an HTTP(S)_PROXY meant for the network must not capture the engine's socket
    adapter = UnixAdapter(socket_path)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
