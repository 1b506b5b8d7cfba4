"""``HttpRuntime``: the operations the libpod API and the Docker Engine API share, on one ``Transport``.

Both APIs expose the same paths and bodies for archive upload, start/stop/kill, logs, exec, inspect and network
disconnect; ``PodmanRuntime`` and ``DockerRuntime`` subclass this and add what differs (info, pull, create, wait,
remove and list parameters).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipex.errors import ContainerFailed, ContainerGone, EngineError, ImageNotFound, ImagePullFailed, PipexError
from pipex.errors import RuntimeError as EngineRuntimeError
from pipex.runtime import ownership
from pipex.runtime.base import ContainerRef, ContainerSpec, ImageRef, LogChunk, PullProgress, RuntimeInfo, Stream
from pipex.runtime.compat import image_ref, wait_exec
from pipex.runtime.mux import GATHER, iter_frames
from pipex.runtime.response import STREAM_ERRORS
from pipex.runtime.transport import Transport


class HttpRuntime:
    endpoint: str
    _t: Transport

    def __init__(self, endpoint: str, transport: Transport) -> None:
        self.endpoint = endpoint
        self._t = transport
        self._info: RuntimeInfo | None = None
        self._lock = threading.Lock()
        self._last_image: str | None = None
        self._owned = contextlib.ExitStack()

    def _read_info(self) -> RuntimeInfo:
        raise NotImplementedError

    # What each API does its own way (PodmanRuntime, DockerRuntime). Declared here so that an HttpRuntime is a
    # Runtime to the code that takes one (ownership's helper containers).
    def ping(self) -> None:
        raise NotImplementedError

    def pull(self, reference: str, progress: Callable[[PullProgress], None] | None = None) -> ImageRef:
        raise NotImplementedError

    def create(self, spec: ContainerSpec) -> str:
        raise NotImplementedError

    def remove(self, container: str) -> None:
        raise NotImplementedError

    def reap_secrets(self, workdir_hash: str, alive: Callable[[int], bool]) -> list[str]:
        raise NotImplementedError

    def info(self) -> RuntimeInfo:
        with self._lock:
            if self._info is None:
                self._info = self._read_info()
            return self._info

    def image(self, reference: str) -> ImageRef | None:
        response = self._t.request("GET", f"images/{reference}/json", "inspect image", ok_statuses=(404,))
        with response:
            if response.status_code == 404:
                return None
            return image_ref(reference, response.json())

    def _post_create(self, body: dict[str, Any], image: str, params: dict[str, str] | None = None) -> str:
        """POST the create body; a failure because the image is absent becomes ``ImageNotFound``."""
        try:
            answer = self._t.json(
                "POST", "containers/create", "create container", params=params, json=body, image=image
            )
        except ContainerFailed as exc:
            if self.image(image) is None:
                raise ImageNotFound(image, f"image {image!r} not found: {exc.message}") from exc
            raise
        self._last_image = image
        return str(answer["Id"])

    def copy_in(self, container: str, source: Path, target: str) -> None:
        from pipex.runtime.archive import tar_tree  # tarfile: only steps with sources copy anything in

        with tar_tree(source, target) as archive:
            self._t.request(
                "PUT",
                f"containers/{container}/archive",
                "copy into container",
                params={"path": "/"},
                data=archive,
                headers={"Content-Type": "application/x-tar"},
                container=container,
            ).close()

    def start(self, container: str) -> None:
        self._t.request(
            "POST", f"containers/{container}/start", "start container", container=container, ok_statuses=(304,)
        ).close()

    def _pull(
        self,
        reference: str,
        path: str,
        params: Mapping[str, str],
        progress: Callable[[PullProgress], None] | None,
        describe: Callable[[dict[str, Any]], PullProgress | None],
    ) -> ImageRef:
        """Stream a pull's JSON lines; ``describe`` turns one into progress (each API words them its own way)."""
        try:
            response = self._t.request(
                "POST", path, "pull", params=dict(params), stream=True, timeout=(self._t.timeout, None)
            )
        except EngineRuntimeError as exc:
            raise ImagePullFailed(reference, f"cannot pull image {reference!r}: {exc.message}") from exc
        with response:
            for line in response.iter_lines():
                if not line:
                    continue
                event = json.loads(line)
                if event.get("error"):
                    raise ImagePullFailed(reference, f"cannot pull image {reference!r}: {event['error']}")
                step = describe(event) if progress is not None else None
                if step is not None and progress is not None:
                    progress(step)
        found = self.image(reference)
        if found is None:
            raise ImagePullFailed(reference, f"cannot pull image {reference!r}: not present after the pull")
        return found

    def start_attached(self, container: str, *, started: Callable[[], None] | None = None) -> Iterator[LogChunk]:
        # Attach before start, as the engines' own `run` does: the output then flows straight from the
        # container, exact and complete (a log follow goes through the log driver, which Podman 4.3 serves
        # slowly and may end early or with gaps on large outputs).
        response = self._t.request(
            "POST",
            f"containers/{container}/attach",
            "attach to container",
            params={"stream": "true", "stdout": "true", "stderr": "true"},
            headers={"Connection": "Upgrade", "Upgrade": "tcp"},
            stream=True,
            timeout=(self._t.timeout, None),
            container=container,
        )
        with response:
            self.start(container)
            if started is not None:
                started()
            # A 101 answer carries no HTTP body: ``raw`` is the connection itself, read through the response's
            # buffered reader so nothing it already holds is lost.
            yield from self._frames(response.raw, "attach to container")

    def exec(
        self,
        container: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        on_output: Callable[[LogChunk], None] | None = None,
    ) -> int:
        body: dict[str, Any] = {"Cmd": list(cmd), "AttachStdout": True, "AttachStderr": True}
        if env:
            body["Env"] = [f"{k}={v}" for k, v in env.items()]
        if workdir:
            body["WorkingDir"] = workdir
        exec_id = self._t.json("POST", f"containers/{container}/exec", "exec", json=body, container=container)["Id"]
        response = self._t.request(
            "POST",
            f"exec/{exec_id}/start",
            "exec",
            json={"Detach": False, "Tty": False},
            stream=True,
            timeout=(self._t.timeout, None),
        )
        with response:
            for chunk in self._frames(response.raw, "exec"):
                if on_output is not None:
                    on_output(chunk)
        return wait_exec(lambda: self._t.json("GET", f"exec/{exec_id}/json", "exec inspect"))

    def _frames(self, raw: Any, what: str) -> Iterator[LogChunk]:
        """The frames of a stream; the engine going away mid-stream (its service killed) is an engine error,
        not a broken socket escaping the seam."""
        try:
            yield from iter_frames(raw, gather=GATHER)
        except STREAM_ERRORS as exc:
            raise EngineError(
                f"{what}: the connection to the engine broke mid-stream ({type(exc).__name__}: {exc})",
                hint="check that the engine is still running (`pipex doctor`)",
            ) from exc

    def _follow(self, container: str, follow: bool) -> Iterator[LogChunk]:
        response = self._t.request(
            "GET",
            f"containers/{container}/logs",
            "logs",
            params={"follow": str(follow).lower(), "stdout": "true", "stderr": "true"},
            stream=True,
            timeout=(self._t.timeout, None),
            container=container,
        )
        with response:
            yield from iter_frames(response.raw)

    def logs(self, container: str) -> Iterator[LogChunk]:
        """Follow the logs until the container exits, then catch up from the stored log.

        Both engines may end a follow late or early: Podman ends it only at its next state poll (250 ms after the
        exit, a quarter second per step), and both were seen ending it early (Podman 4.3 on large outputs, dockerd
        20.10 on fast-exiting containers). So a watcher waits for the exit (a fast call) and then cuts the follow;
        the catch-up skips, per stream, the bytes already given, so nothing is repeated or lost and order within
        each stream is kept.
        """
        state = self._t.json("GET", f"containers/{container}/json", "inspect container", container=container)
        if (state.get("State") or {}).get("Status") == "exited":
            # Already over: read the stored log (a follow would only add the engine's poll delay).
            yield from self._follow(container, False)
            return
        seen = {Stream.STDOUT: 0, Stream.STDERR: 0}
        response = self._t.request(
            "GET",
            f"containers/{container}/logs",
            "logs",
            params={"follow": "true", "stdout": "true", "stderr": "true"},
            stream=True,
            timeout=(self._t.timeout, None),
            container=container,
        )
        exited = threading.Event()

        def watch() -> None:
            with contextlib.suppress(PipexError):
                self.wait(container)
            exited.set()
            response.cut()  # shutting the socket down wakes up the blocked read below

        watcher = threading.Thread(target=watch, name=f"pipex-logs-{container[:12]}", daemon=True)
        watcher.start()
        try:
            with response:
                for chunk in iter_frames(response.raw, gather=GATHER):
                    seen[chunk.stream] += len(chunk.data)
                    yield chunk
        except STREAM_ERRORS:
            if not exited.is_set():
                raise
        watcher.join()
        for chunk in self._follow(container, False):
            skip = min(seen[chunk.stream], len(chunk.data))
            seen[chunk.stream] -= skip
            if skip < len(chunk.data):
                yield LogChunk(chunk.stream, chunk.data[skip:])

    def wait(self, container: str, timeout: float | None = None) -> int | None:
        raise NotImplementedError

    def stop(self, container: str, grace: float = 10.0) -> None:
        self._t.request(
            "POST",
            f"containers/{container}/stop",
            "stop container",
            params={self._stop_param: math.ceil(grace)},
            timeout=self._t.timeout + grace,
            container=container,
            ok_statuses=(304,),
        ).close()

    _stop_param = "t"

    def kill(self, container: str) -> None:
        # 409 (Docker) or 500 "container state improper" (Podman): not running any more, which is what we wanted.
        try:
            self._t.request(
                "POST",
                f"containers/{container}/kill",
                "kill container",
                params={"signal": "SIGKILL"},
                container=container,
                ok_statuses=(409,),
            ).close()
        except ContainerGone:
            raise  # removed already: an inspect would only say so again
        except ContainerFailed:
            state = self._t.json("GET", f"containers/{container}/json", "inspect container", container=container)
            if (state.get("State") or {}).get("Running"):
                raise

    def list(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        filters = json.dumps({"label": [f"{k}={v}" for k, v in labels.items()]})
        answer = self._t.json("GET", "containers/json", "list containers", params={"all": "true", "filters": filters})
        return [
            ContainerRef(
                id=str(c["Id"]),
                name=str((c.get("Names") or [""])[0]).lstrip("/"),
                labels=dict(c.get("Labels") or {}),
                state=str(c.get("State", "")),
            )
            for c in answer or []
        ]

    def disconnect_network(self, container: str) -> None:
        data = self._t.json("GET", f"containers/{container}/json", "inspect container", container=container)
        networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
        mode = str((data.get("HostConfig") or {}).get("NetworkMode", ""))
        if not networks and mode not in ("none", ""):
            raise ContainerFailed(
                f"cannot take the network away from container {container[:12]} (network mode {mode})",
                hint="create it with hold=True so it joins a named network that can be disconnected",
            )
        for name in networks:
            if name == "none":
                continue
            self._t.request(
                "POST",
                f"networks/{name}/disconnect",
                "disconnect network",
                json={"Container": container, "Force": True},
                container=container,
            ).close()

    def normalize_ownership(self, path: Path, uid: int, gid: int, *, image: str | None = None) -> None:
        """See ``Runtime``; ``image``: the helper container's image (default: the last one this runtime used)."""
        ownership.normalize(self, path, uid, gid, image=image or self._last_image)

    def remove_tree(self, path: Path, *, image: str | None = None) -> None:
        """See ``Runtime``; ``image`` as for ``normalize_ownership``."""
        ownership.remove_tree(self, path, image=image or self._last_image)

    def own(self, release: Callable[[], None]) -> None:
        self._owned.callback(release)

    def close(self) -> None:
        with self._owned:  # runs the releases even when closing the transport fails
            self._t.close()
