"""``LocalExecutor``: a step's attempt as a container on this host, through the ``Runtime`` it was given."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from pipex.errors import ContainerGone
from pipex.executors.base import STOP_GRACE, Outcome, Output, SetupPhase, Task
from pipex.executors.halt import halt
from pipex.runtime.base import Runtime, RuntimeInfo


class LocalExecutor:
    """One container per attempt: created by ``submit``, started and waited for by ``run``, removed by
    ``cleanup``. Blocking calls (the runtime protocol is blocking): the engine calls it from worker threads."""

    parallelism: int | None = None  # this host's CPUs
    tells_started = True  # the start returns once the container runs, its mounts made

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def info(self) -> RuntimeInfo:
        return self.runtime.info()  # the backends cache the answer

    def submit(self, task: Task) -> str:
        return self.runtime.create(task.container)

    def run(
        self,
        handle: str,
        task: Task,
        output: Output,
        *,
        cancelled: Callable[[], bool],
        interrupted: Callable[[], bool],
        placed: Callable[[str], None] | None = None,  # never called: a container here is no scheduler's job
        started: Callable[[], None] | None = None,
    ) -> Outcome:
        rt = self.runtime
        for src in task.sources:
            rt.copy_in(handle, src.host, src.container)
        if cancelled():
            return Outcome(None, "start")

        def on_start() -> None:
            if started is not None:
                started()
            self._stop_if(interrupted, handle)

        if task.setup is None:
            for chunk in rt.start_attached(handle, started=on_start):
                output(chunk)
            output.flush_lines()
            return Outcome(rt.wait(handle, timeout=None))
        setup_started = time.monotonic()
        rt.start(handle)
        on_start()
        setup_code = self._setup(handle, task.setup, output)
        setup_seconds = time.monotonic() - setup_started
        if setup_code != 0 and not interrupted():
            return Outcome(setup_code, "setup", setup_seconds)
        if interrupted():
            return Outcome(None, setup_seconds=setup_seconds)
        code = rt.exec(handle, list(task.setup.run), on_output=output)
        output.flush_lines()
        return Outcome(code, setup_seconds=setup_seconds)

    def _stop_if(self, interrupted: Callable[[], bool], handle: str) -> None:
        """Right after the start: a cancel (or timeout) that came between the check above and the start stopped a
        container that was not running yet, which does nothing — so stop it here, as that stop would have."""
        if interrupted():
            halt(self.runtime, handle, STOP_GRACE)

    def _setup(self, handle: str, setup: SetupPhase, output: Output) -> int:
        with setup.exclusive() as held:
            if not held:
                return 1
            code = self.runtime.exec(handle, list(setup.cmd), on_output=output)
            output.flush_lines()
        if code == 0 and setup.drop_network:
            # The run phase must not keep the setup's network; failing to remove it fails the step.
            self.runtime.disconnect_network(handle)
        return code

    def stop(self, handle: str, *, kill: bool = False) -> None:
        # Retried and escalated to a kill: a stop the engine fails or does not answer must not outlive its grace.
        halt(self.runtime, handle, STOP_GRACE, kill=kill)

    def cleanup(self, handle: str) -> None:
        with contextlib.suppress(ContainerGone):  # removed already (a sweep raced us): what a removal wants
            self.runtime.remove(handle)

    def remove_tree(self, path: Path) -> None:
        self.runtime.remove_tree(path)

    def normalize_ownership(self, path: Path, uid: int, gid: int, *, image: str) -> None:
        self.runtime.normalize_ownership(path, uid, gid, image=image)
