"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), no extra deps.

``open_page(path)`` loads a local file in a fresh browser (own profile dir, no sandbox: tests run as root) and
gives a ``Page``: ``evaluate(js)`` returns a JSON value from the page, ``screenshot(path)`` saves a full-page
PNG, and ``requests`` lists every request the page made (``Network.requestWillBeSent`` of the page's own
session — the browser's own background traffic is not the page's), ``console`` what it logged (CSP
violations included). The protocol: JSON messages separated by NUL bytes, commands on fd 3, replies on fd 4.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
)


def binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class ProtocolError(Exception):
    pass


@dataclass
class Page:
    proc: subprocess.Popen[bytes]
    write_fd: int
    read_fd: int
    session: str = ""
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    _next: int = 0
    _buffer: bytes = b""
    _events: list[dict[str, Any]] = field(default_factory=list)

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True, timeout: float = 60):
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise ProtocolError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for i, event in enumerate(self._events):
            if event.get("method") == method:
                return self._events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline)
            self._event(message)
            if message.get("method") == method:
                self._events.remove(message)
                return message

    def _event(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params") or {}
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Log.entryAdded":
            self.console.append(f"{params['entry'].get('source')}: {params['entry'].get('text')}")
        elif method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
        if "id" not in message:
            self._events.append(message)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise ProtocolError(f"Chromium exited (status {self.proc.poll()})")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        data: dict[str, Any] = json.loads(raw)
        return data

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise ProtocolError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, width: int = 1280, height: int | None = None) -> None:
        """A PNG of the whole page (``height``: of its top ``height`` pixels only)."""
        height = height or int(self.evaluate("document.documentElement.scrollHeight"))
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": min(height, 16000), "deviceScaleFactor": 1, "mobile": False},
        )
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@contextlib.contextmanager
def open_page(path: Path, *, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """``path`` loaded (``load`` fired) in a fresh headless Chromium; the browser is closed afterwards."""
    exe = binary()
    if exe is None:
        raise FileNotFoundError("chromium")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="pipex-chromium-")

    def wire() -> None:  # the child's fd 3 reads our commands, fd 4 carries its replies
        # Via fresh copies: a pipe end may already be fd 3 or 4 (dup2 onto itself would keep CLOEXEC).
        ours = os.dup(to_browser_r), os.dup(from_browser_w)
        for target, fd in zip((3, 4), ours, strict=True):
            os.dup2(fd, target)  # inheritable

    proc = subprocess.Popen(
        [exe, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", f"--window-size={width},{height}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Not pass_fds: those are closed again after preexec_fn. dup2's copies are inheritable, our pipes not.
        close_fds=False,
        preexec_fn=wire,  # noqa: PLW1509  # a tiny dup2, no threads involved
    )
    os.close(to_browser_r)
    os.close(from_browser_w)
    page = Page(proc, to_browser_w, from_browser_r)
    try:
        target = page.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        page.session = page.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send("Page.navigate", {"url": path.absolute().as_uri()})
        page.wait_for("Page.loadEventFired")
        yield page
    finally:
        with contextlib.suppress(Exception):
            page.send("Browser.close", session=False, timeout=5)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(to_browser_w)
        os.close(from_browser_r)
        shutil.rmtree(profile, ignore_errors=True)
