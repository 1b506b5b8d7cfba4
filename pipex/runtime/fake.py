"""``FakeRuntime``: an in-memory ``Runtime`` for tests and for users testing their pipelines.

Nothing runs: each container plays a scripted ``Behaviour``, chosen by step (the ``pipex.step`` label the engine
puts on its containers) first, then by command, then by image::

    rt = FakeRuntime(images=["alpine:3.20"])
    rt.script(image="alpine:3.20", behaviour=Behaviour(exit_code=0, stdout=b"hi\\n", files={"out.txt": b"1"}))
    rt.script(cmd=["make", "test"], behaviour=Behaviour(exit_code=2, stderr="failed\\n"))
    rt.script(step="build", behaviour=[Behaviour(exit_code=1), Behaviour()])  # fails once, then succeeds
    rt.fail("pull", ImagePullFailed("x:1", "registry says no"))   # the next pull raises this
    rt.fail("create", ContainerFailed("boom"), times=None)          # every create raises this

``Behaviour``: ``exit_code``; ``output`` (a sequence of ``LogChunk`` or ``(stream, bytes|str)``, in order) or the
shortcuts ``stdout``/``stderr``; ``files`` written into the bind whose target is ``output_target`` (default
``/output``) when the container finishes — a value of ``None`` makes a directory; ``plant(host_dir)`` then
leaves whatever a hostile container could (symlinks, FIFOs, sockets, hard links); ``delay`` seconds the
container "runs" (``wait(timeout)`` returns ``None`` before that; ``stop``/``kill`` end it at once, exit 143/137).
A sequence of behaviours is played one per container created (attempts, later runs), the last one repeating.
Exec commands are scripted with ``script_exec(cmd, behaviour)`` (default: exit 0, no output); a held container
(``hold=True``) runs until stopped, and an exec of its own command (its ``cmd``, after any entrypoint: the run
phase after a setup) plays the container's behaviour, files included, unless that command is scripted with
``script_exec``. ``calls`` records every call as ``(method, args)``; ``containers`` maps ids to
``FakeContainer`` (spec, state, network, copied trees). Thread-safe; waits use ``threading.Event`` so a test
never sleeps longer than the scripted delays.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipex.errors import ContainerFailed, ContainerGone, ImageNotFound, ImagePullFailed, PipexError
from pipex.runtime.base import (
    ContainerRef,
    ContainerSpec,
    ImageRef,
    LogChunk,
    PullProgress,
    RuntimeInfo,
    SecretMount,
    Stream,
)

STEP_LABEL = "pipex.step"  # the label the engine sets to the step id (pipex.runtime.labels.STEP)

Chunkish = LogChunk | tuple[Stream | str, bytes | str]


def _bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else data


@dataclass(frozen=True)
class Behaviour:
    exit_code: int = 0
    stdout: bytes | str = b""
    stderr: bytes | str = b""
    output: Sequence[Chunkish] = ()
    files: Mapping[str, bytes | str | None] = field(default_factory=dict)
    delay: float = 0.0
    output_target: str = "/output"
    plant: Callable[[Path], None] | None = None  # called with the output's host dir after ``files``
    outputs: bytes | str | None = None  # written to the file the container's PIPEX_OUTPUT names (step outputs)

    def chunks(self) -> list[LogChunk]:
        if self.output:
            out = []
            for item in self.output:
                if isinstance(item, LogChunk):
                    out.append(item)
                else:
                    out.append(LogChunk(Stream(item[0]), _bytes(item[1])))
            return out
        pairs = [(Stream.STDOUT, _bytes(self.stdout)), (Stream.STDERR, _bytes(self.stderr))]
        return [LogChunk(stream, data) for stream, data in pairs if data]


@dataclass
class FakeContainer:
    id: str
    name: str
    spec: ContainerSpec
    behaviour: Behaviour
    state: str = "created"
    network: bool = False
    exit_code: int | None = None
    copied: list[tuple[Path, str]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    timer: threading.Timer | None = None
    attached: bool = False  # its output is being read attached (which needs no engine log)


class FakeRuntime:
    """An in-memory runtime (see the module docstring for the scripting API)."""

    def __init__(self, images: Iterable[str] = ("alpine:3.20",), *, info: RuntimeInfo | None = None) -> None:
        self.images: dict[str, ImageRef] = {}
        for ref in images:
            self.add_image(ref)
        self.pullable: set[str] = set()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.containers: dict[str, FakeContainer] = {}
        self._info = info or RuntimeInfo(
            engine="fake", version="1.0", api_version="1.0", endpoint="fake://", rootless=True,
            libpod_api=False, supports_keep_id=True, cgroup_version="v2",
            cgroup_controllers=("cpu", "memory", "pids"), host_uid=None,
        )  # fmt: skip
        self._by_step: dict[str, list[Behaviour]] = {}
        self._by_cmd: dict[tuple[str, ...], list[Behaviour]] = {}
        self._by_image: dict[str, list[Behaviour]] = {}
        self._exec: dict[tuple[str, ...], Behaviour] = {}
        self._failures: dict[str, list[tuple[PipexError, int | None]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self.closed = False
        self._owned = contextlib.ExitStack()

    # -- scripting ------------------------------------------------------------------------------------------
    def add_image(self, reference: str, *, user: str = "", cmd: Sequence[str] = ("/bin/sh",)) -> ImageRef:
        # The same ID in every process (hash() is salted per process): two processes may share a cache store.
        image_id = "sha256:" + hashlib.sha256(reference.encode()).hexdigest()
        ref = ImageRef(reference=reference, id=image_id, cmd=tuple(cmd), user=user)
        self.images[reference] = ref
        return ref

    def script(
        self,
        *,
        behaviour: Behaviour | Sequence[Behaviour],
        image: str | None = None,
        cmd: Sequence[str] | None = None,
        step: str | None = None,
    ) -> None:
        """Script the containers of a step (by its ``pipex.step`` label), a command, or an image. An instance
        (``convert[eu]``, ``etl[eu].convert[csv]``) without a script of its own plays its step's
        (``etl[eu].convert``), else that of its id without keys (``etl.convert``: every instance's).

        A sequence is played one behaviour per container, in creation order; the last one repeats.
        """
        plays = [behaviour] if isinstance(behaviour, Behaviour) else list(behaviour)
        if not plays:
            raise ValueError("script() needs at least one behaviour")
        if step is not None:
            self._by_step[step] = plays
        elif cmd is not None:
            self._by_cmd[tuple(cmd)] = plays
        elif image is not None:
            self._by_image[image] = plays
        else:
            raise ValueError("script() needs step=, image= or cmd=")

    def _choose(self, spec: ContainerSpec) -> Behaviour:
        step = spec.labels.get(STEP_LABEL)
        with self._lock:
            candidates = (
                self._by_step.get(step) if step is not None else None,
                self._by_step.get(step.rpartition("[")[0]) if step is not None and step.endswith("]") else None,
                self._by_step.get(_KEYS.sub("", step)) if step is not None and "[" in step else None,
                self._by_cmd.get(tuple(spec.cmd or ())),
                self._by_image.get(spec.image),
            )
            for plays in candidates:
                if plays:
                    return plays.pop(0) if len(plays) > 1 else plays[0]
        return Behaviour()

    def script_exec(self, cmd: Sequence[str], behaviour: Behaviour) -> None:
        self._exec[tuple(cmd)] = behaviour

    def fail(self, operation: str, error: PipexError, *, times: int | None = 1) -> None:
        """Make the next ``times`` calls (``None``: every call) of ``operation`` raise ``error``."""
        self._failures.setdefault(operation, []).append((error, times))

    # -- plumbing -------------------------------------------------------------------------------------------
    def _record(self, method: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((method, args))
            queue = self._failures.get(method)
            if not queue:
                return
            error, times = queue[0]
            if times is not None:
                if times <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (error, times - 1)
        raise error

    def _get(self, container: str) -> FakeContainer:
        found = self.containers.get(container)
        if found is None:
            raise ContainerGone(f"no such container {container!r}")  # as the engines answer (errors_map)
        return found

    def _finish(self, box: FakeContainer, code: int) -> None:
        with self._lock:
            if box.done.is_set():
                return
            if code == box.behaviour.exit_code and not box.spec.hold:
                self._write_files(box)
            box.exit_code, box.state = code, "exited"
            box.done.set()

    def _write_files(self, box: FakeContainer) -> None:
        self._write_outputs(box)
        target = box.behaviour.output_target
        bind = next((b for b in box.spec.binds if b.target == target and not b.read_only), None)
        if bind is None:
            return
        for rel, content in box.behaviour.files.items():
            path = bind.source / rel
            if content is None:
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(_bytes(content))
        if box.behaviour.plant is not None:
            box.behaviour.plant(bind.source)

    def _write_outputs(self, box: FakeContainer) -> None:
        """``outputs`` into the file named by the container's ``PIPEX_OUTPUT``, in the bind holding it."""
        path = box.spec.env.get("PIPEX_OUTPUT")
        if box.behaviour.outputs is None or path is None:
            return
        folder, _, name = path.rpartition("/")
        bind = next((b for b in box.spec.binds if b.target == folder and not b.read_only), None)
        if bind is not None:
            with (bind.source / name).open("ab") as file:
                file.write(_bytes(box.behaviour.outputs))

    # -- Runtime --------------------------------------------------------------------------------------------
    def info(self) -> RuntimeInfo:
        self._record("info")
        return self._info

    def ping(self) -> None:
        self._record("ping")

    def image(self, reference: str) -> ImageRef | None:
        self._record("image", reference)
        return self.images.get(reference)

    def pull(self, reference: str, progress: Callable[[PullProgress], None] | None = None) -> ImageRef:
        self._record("pull", reference)
        if reference not in self.pullable and reference not in self.images:
            raise ImagePullFailed(reference, f"cannot pull image {reference!r}: not in the fake registry")
        if progress is not None:
            progress(PullProgress(reference, "pulled", 1, 1))
        return self.images.get(reference) or self.add_image(reference)

    def create(self, spec: ContainerSpec) -> str:
        self._record("create", spec)
        if spec.image not in self.images:
            raise ImageNotFound(spec.image, f"image {spec.image!r} not found: no such image")
        behaviour = self._choose(spec)
        with self._lock:
            cid = f"{next(self._ids):064x}"
            name = spec.name or f"fake_{cid[-6:]}"
            if any(c.name == name for c in self.containers.values()):
                raise ContainerFailed(f"create container failed: the name {name!r} is already in use")
            self.containers[cid] = FakeContainer(cid, name, spec, behaviour, network=spec.network)
        return cid

    def delivered(self, step: str) -> dict[str, SecretMount]:
        """The secrets the last container created for ``step`` was given, by name (what a step could read)."""
        with self._lock:
            specs = [a[0] for m, a in self.calls if m == "create" and a[0].labels.get(STEP_LABEL) == step]
        return {m.name: m for m in specs[-1].secrets} if specs else {}

    def reap_secrets(self, workdir_hash: str, alive: Callable[[int], bool]) -> list[str]:
        self._record("reap_secrets", workdir_hash)
        return []  # nothing of a secret outlives a fake container

    def copy_in(self, container: str, source: Path, target: str) -> None:
        self._record("copy_in", container, source, target)
        if not source.is_dir():
            raise ContainerFailed(f"copy_in: {source} is not a directory")
        self._get(container).copied.append((source, target))

    def start_attached(self, container: str, *, started: Callable[[], None] | None = None) -> Iterator[LogChunk]:
        self.start(container)
        if started is not None:
            started()
        box = self._get(container)
        box.attached = True
        try:
            yield from self.logs(container)  # tests override ``logs`` to script a stream
        finally:
            box.attached = False

    def start(self, container: str) -> None:
        self._record("start", container)
        box = self._get(container)
        if box.state != "created":
            return
        box.state = "running"
        if box.spec.hold:
            return
        delay = box.behaviour.delay
        if delay <= 0:
            self._finish(box, box.behaviour.exit_code)
        else:
            box.timer = threading.Timer(delay, self._finish, (box, box.behaviour.exit_code))
            box.timer.daemon = True
            box.timer.start()

    def exec(
        self,
        container: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        on_output: Callable[[LogChunk], None] | None = None,
    ) -> int:
        self._record("exec", container, tuple(cmd), dict(env or {}), workdir)
        box = self._get(container)
        if box.state != "running":
            raise ContainerFailed(f"exec: container {container[:12]} is not running")
        scripted = self._exec.get(tuple(cmd))
        if scripted is None and self._is_main(box, cmd):
            return self._exec_main(box, on_output)
        behaviour = scripted or Behaviour()
        if behaviour.delay and box.done.wait(behaviour.delay):
            return 137
        for chunk in behaviour.chunks():
            if on_output is not None:
                on_output(chunk)
        return behaviour.exit_code

    def _is_main(self, box: FakeContainer, cmd: Sequence[str]) -> bool:
        main = tuple(box.spec.cmd or ())
        return box.spec.hold and bool(main) and tuple(cmd)[-len(main) :] == main

    def _exec_main(self, box: FakeContainer, on_output: Callable[[LogChunk], None] | None) -> int:
        """A held container's own command, exec'd after its setup: play the container's behaviour."""
        behaviour = box.behaviour
        if behaviour.delay and box.done.wait(behaviour.delay):
            return box.exit_code if box.exit_code is not None else 137
        for chunk in behaviour.chunks():
            if on_output is not None:
                on_output(chunk)
        with self._lock:
            if not box.done.is_set():  # stopped meanwhile: nothing written, as when a container is killed
                self._write_files(box)
        return behaviour.exit_code

    def logs(self, container: str) -> Iterator[LogChunk]:
        self._record("logs", container)
        box = self._get(container)
        if not box.spec.engine_log and not box.attached:
            # As the engines answer for a container with the log driver "none".
            raise ContainerFailed(f"logs failed: container {container!r} keeps no log (engine_log=False)")
        box.done.wait()
        yield from box.behaviour.chunks()

    def wait(self, container: str, timeout: float | None = None) -> int | None:
        self._record("wait", container, timeout)
        box = self._get(container)
        if not box.done.wait(timeout):
            return None
        return box.exit_code

    def stop(self, container: str, grace: float = 10.0) -> None:
        self._record("stop", container, grace)
        self._end(self._get(container), 143)

    def kill(self, container: str) -> None:
        self._record("kill", container)
        self._end(self._get(container), 137)

    def _end(self, box: FakeContainer, code: int) -> None:
        if box.timer is not None:
            box.timer.cancel()
        if box.state == "running":
            self._finish(box, code)

    def remove(self, container: str) -> None:
        self._record("remove", container)
        with self._lock:
            box = self.containers.pop(container, None)
        if box is not None:
            self._end(box, 137)

    def list(self, labels: Mapping[str, str]) -> list[ContainerRef]:
        self._record("list", dict(labels))
        with self._lock:
            boxes = list(self.containers.values())
        return [
            ContainerRef(b.id, b.name, dict(b.spec.labels), b.state)
            for b in boxes
            if all(b.spec.labels.get(k) == v for k, v in labels.items())
        ]

    def disconnect_network(self, container: str) -> None:
        self._record("disconnect_network", container)
        self._get(container).network = False

    def normalize_ownership(self, path: Path, uid: int, gid: int, *, image: str | None = None) -> None:
        """Chown what the fake's "containers" wrote (the test process may: it wrote them)."""
        self._record("normalize_ownership", path, uid, gid)
        for entry in [path, *path.rglob("*")]:
            st = entry.lstat()
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.lchown(entry, uid, gid)

    def remove_tree(self, path: Path, *, image: str | None = None) -> None:
        self._record("remove_tree", path)
        if path.exists():
            shutil.rmtree(path)

    def own(self, release: Callable[[], None]) -> None:
        self._owned.callback(release)

    def close(self) -> None:
        self._record("close")
        self.closed = True
        self._owned.close()


_KEYS = re.compile(r"\[[^\[\]]*\]")  # an instance key in a step id (keys never hold brackets)

__all__ = ["Behaviour", "FakeContainer", "FakeRuntime"]
