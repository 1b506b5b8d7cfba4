"""Real unix-socket HTTP servers that answer like an engine (``/_ping``, ``/libpod/_ping``, ``/version``), for
discovery tests. Also runnable as a script: ``fakeengine.py system service --time=0 unix:///path`` serves a
fake Podman there, standing in for the ``podman`` binary of the private-service rule.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

VERSIONS: dict[str, dict[str, Any]] = {
    "podman": {
        "Version": "4.3.1",
        "ApiVersion": "1.41",
        "Components": [{"Name": "Podman Engine", "Version": "4.3.1", "Details": {"APIVersion": "4.3.1"}}],
    },
    "podman-compat": {  # a Podman that does not serve the libpod API on this socket
        "Version": "4.3.1",
        "ApiVersion": "1.41",
        "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}],
    },
    "docker": {"Version": "24.0.7", "ApiVersion": "1.43", "Components": [{"Name": "Engine", "Version": "24.0.7"}]},
}


class _Handler(BaseHTTPRequestHandler):
    kind: ClassVar[str] = "podman"
    protocol_version = "HTTP/1.1"

    def address_string(self) -> str:  # unix sockets have no client address
        return "fake"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_one_request(self) -> None:
        # Podman's idle timer counts only while no request is in progress: so does this one's.
        tracker = getattr(self.server, "tracker", None)
        if tracker is None:
            super().handle_one_request()
            return
        tracker.enter()
        try:
            super().handle_one_request()
        finally:
            tracker.leave()

    def do_GET(self) -> None:
        kind = self.server.kind  # type: ignore[attr-defined]
        if "/libpod/events" in self.path:  # a stream: headers, then nothing until the client goes
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            while self.rfile.read(1):
                pass
            self.close_connection = True
            return
        if kind == "broken-ping":
            self._send(500, b"engine is unhappy")
        elif kind == "not-json" and self.path == "/version":
            self._send(200, b"<html>hello</html>")
        elif self.path == "/_ping":
            self._send(200, b"OK")
        elif self.path == "/libpod/_ping" and kind == "podman":
            self._send(200, b"OK", {"Libpod-API-Version": "4.3.1"})
        elif self.path == "/version" and kind in VERSIONS:
            self._send(200, json.dumps(VERSIONS[kind]).encode(), {"Content-Type": "application/json"})
        elif self.path.endswith("/libpod/info") and kind == "podman":
            calls = os.environ.get("FAKE_PODMAN_INFOFILE")  # each call counted: the real one costs up to a second
            if calls:
                with Path(calls).open("a") as fh:
                    fh.write(f"{os.getpid()}\n")
            info = {"host": {"security": {"rootless": True}}, "version": {"Version": "4.3.1", "APIVersion": "4.3.1"}}
            self._send(200, json.dumps(info).encode(), {"Content-Type": "application/json"})
        else:
            self._send(404, b"not found")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False


class FakeEngine:
    """A fake engine listening on ``path`` until ``close()``; ``kind``: podman, podman-compat, docker,
    broken-ping, not-json."""

    def __init__(self, path: Path, kind: str = "podman") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.url = f"unix://{path}"
        self._server = _Server(str(path), _Handler)
        self._server.kind = kind  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self.path.unlink(missing_ok=True)


class SilentSocket:
    """A socket that accepts connections and never answers (for timeouts)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.url = f"unix://{path}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(8)

    def close(self) -> None:
        self._sock.close()
        self.path.unlink(missing_ok=True)


def stale_socket(path: Path) -> Path:
    """A socket file nothing listens on (what a crashed service leaves)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    return path


class IdleTracker:
    """Podman's ``--time``: exit after that many seconds with no request in progress (0: never)."""

    def __init__(self, seconds: float, on_idle: Any) -> None:
        self.seconds = seconds
        self.active = 0
        self.since = time.monotonic()
        self._lock = threading.Lock()
        self._on_idle = on_idle
        threading.Thread(target=self._watch, daemon=True).start()

    def enter(self) -> None:
        with self._lock:
            self.active += 1

    def leave(self) -> None:
        with self._lock:
            self.active -= 1
            self.since = time.monotonic()

    def _watch(self) -> None:
        while True:
            time.sleep(0.02)
            with self._lock:
                idle = self.active == 0 and time.monotonic() - self.since >= self.seconds
            if idle:
                self._on_idle()
                return


def _serve_as_podman(argv: list[str]) -> None:
    # `podman system service --time=N unix:///path`: serve until SIGTERM or N idle seconds, like the real one.
    if os.environ.get("FAKE_PODMAN_FAIL"):
        sys.stderr.write("Error: cannot set up namespace: permission denied\n")
        sys.exit(125)
    url = argv[-1]
    assert argv[:2] == ["system", "service"] and argv[2].startswith("--time="), argv
    seconds = float(argv[2].removeprefix("--time="))
    delay = float(os.environ.get("FAKE_PODMAN_START_DELAY", "0"))
    if delay:
        time.sleep(delay)  # a slow first start, so two starting at once overlap
    path = Path(url.removeprefix("unix://"))
    server = _Server(str(path), _Handler)
    server.kind = "podman"  # type: ignore[attr-defined]
    pidfile = os.environ.get("FAKE_PODMAN_PIDFILE")
    if pidfile:
        with Path(pidfile).open("a") as fh:
            fh.write(f"{os.getpid()}\n")
    cwdfile = os.environ.get("FAKE_PODMAN_CWDFILE")
    if cwdfile:
        Path(cwdfile).write_text(str(Path.cwd()))

    def stop() -> None:
        path.unlink(missing_ok=True)  # Podman removes its socket when it exits
        os._exit(0)

    if seconds:
        server.tracker = IdleTracker(seconds, stop)  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, lambda *_: stop())
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    _serve_as_podman(sys.argv[1:])
