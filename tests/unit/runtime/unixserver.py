"""A tiny threaded HTTP/1.1 server on a unix socket, written on raw sockets so each test controls the framing:
content-length and chunked answers, keep-alive, a ``101`` upgrade whose first bytes arrive with the headers,
slow answers, closed idle connections and streamed uploads (content-length or chunked)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

Handler = Callable[["Request"], None]


class Request:
    def __init__(self, server: UnixServer, conn_id: int, rfile: BinaryIO, sock: socket.socket) -> None:
        self.server = server
        self.conn_id = conn_id
        self.rfile = rfile
        self.sock = sock
        line = rfile.readline().decode()
        if not line:
            raise EOFError
        self.method, self.target, _ = line.split(" ", 2)
        self.headers: dict[str, str] = {}
        while (header := rfile.readline().decode().strip()) != "":
            key, value = header.split(":", 1)
            self.headers[key.strip().lower()] = value.strip()
        self.keep_alive = True

    def body_chunks(self) -> Any:
        """The request body, chunk by chunk as it arrives (content-length or chunked)."""
        if "content-length" in self.headers:
            left = int(self.headers["content-length"])
            while left:
                data = self.rfile.read(min(left, 1 << 16))
                if not data:
                    raise EOFError
                left -= len(data)
                yield data
        elif self.headers.get("transfer-encoding") == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return
                yield self.rfile.read(size)
                self.rfile.readline()

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", f"X-Conn: {self.conn_id}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def send_chunked(self, parts: list[bytes], pause: float = 0.0) -> None:
        self.sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in parts:
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            time.sleep(pause)
        self.sock.sendall(b"0\r\n\r\n")


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


def default_routes(req: Request) -> None:
    """Routes the transport tests use (the API prefix is ignored)."""
    path = req.target.split("?", 1)[0].rsplit("/", 1)[-1]
    if path == "plain":
        req.send_json(200, {"conn": req.conn_id, "query": req.target.partition("?")[2]})
    elif path == "lines":
        req.send_chunked([b'{"a": 1}\n{"b"', b": 2}\n", b'{"c": 3}'], pause=0.01)
    elif path == "attach":
        # The headers and the first frames in one write: the client's reader buffers them together.
        head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        req.sock.sendall(head + frame(1, b"first ") + frame(2, b"err "))
        time.sleep(0.05)
        req.sock.sendall(frame(1, b"second"))
        req.keep_alive = False
    elif path == "slow":
        time.sleep(1.0)
        req.send_json(200, {})
    elif path == "upload":
        digest, size = hashlib.sha256(), 0
        for chunk in req.body_chunks():
            digest.update(chunk)
            size += len(chunk)
        mode = "length" if "content-length" in req.headers else req.headers.get("transfer-encoding", "none")
        req.send_json(200, {"size": size, "sha256": digest.hexdigest(), "mode": mode})
    elif path == "echo":
        body = b"".join(req.body_chunks())
        req.send_json(200, {"body": body.decode(), "type": req.headers.get("content-type", "")})
    elif path == "close-after":
        req.send_json(200, {"conn": req.conn_id})
        req.keep_alive = False  # no `Connection: close`: the client only finds out on its next request
    elif path == "forever":
        req.sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not req.server.closed.wait(0.02):
            req.sock.sendall(b"5\r\nhello\r\n")
    elif path == "missing":
        req.send_json(404, {"message": "no such image: nope", "cause": "image not known"})
    else:
        req.send(404, b"not found")


class UnixServer:
    def __init__(self, path: Path, handle: Handler = default_routes) -> None:
        self.path = path
        self.handle = handle
        self.connections = 0
        self.requests: list[str] = []
        self.closed = threading.Event()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(32)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                sock, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(sock, self.connections), daemon=True).start()

    def _connection(self, sock: socket.socket, conn_id: int) -> None:
        rfile = sock.makefile("rb")
        try:
            while not self.closed.is_set():
                try:
                    req = Request(self, conn_id, rfile, sock)
                except (EOFError, OSError, ValueError):
                    return
                self.requests.append(f"{req.method} {req.target}")
                self.handle(req)
                if not req.keep_alive:
                    return
        except OSError:
            return
        finally:
            rfile.close()
            sock.close()

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (a close alone would not)
        self._sock.close()
        self._thread.join(timeout=5)
