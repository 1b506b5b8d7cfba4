"""Running one step: attempts handed to the executor, logs to files and events, commit by rename.

Called from a worker thread (the executor protocol is blocking). Cancellation arrives from outside: the
scheduler sets ``ctx.cancel`` and stops every attempt in ``ctx.running``, which ends the blocking calls here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipex.engine import imageuser, outputs
from pipex.engine.digest import ARTIFACTS_FORMAT, Heavy
from pipex.engine.early import EarlyArtifacts
from pipex.engine.events import StepJob, StepLog, StepRef, StepRetry, StepStatus, StepWarning
from pipex.engine.logsink import LogSink, StreamName
from pipex.engine.plan import StepContext, StepPlan, StepRun, UpstreamInput
from pipex.engine.runmeta import iso as _iso
from pipex.engine.runmeta import run_meta
from pipex.errors import CommandNotFound, NetworkUnavailable, PipexError, WorkspaceError, from_os_error
from pipex.executors.base import Copy, SetupPhase, Task
from pipex.model.secret import redact_env
from pipex.model.spec import StepSpec
from pipex.runtime.base import Bind, ContainerSpec, SecretMount
from pipex.workspace.atomic import write_json
from pipex.workspace.ids import new_run_id
from pipex.workspace.layout import remove
from pipex.workspace.live import mark_staging
from pipex.workspace.lock import FileLock
from pipex.workspace.safetree import Skipped
from pipex.workspace.state import RunEntry
from pipex.workspace.treecopy import copy_into

TIMEOUT_EXIT = 124
COMMAND_NOT_FOUND_EXIT = 127  # what a shell exits with for a command it cannot find
NOT_EXECUTABLE_EXIT = 126  # and for one it cannot execute

# The container's init (--init: catatonit under Podman, tini under Docker) reports that it could not start the
# step's program in one line on stderr, then exits 1 (catatonit) or 127 (tini). Podman's catatonit does not name
# the program: the step's own argv does.
_INIT_EXEC_FAILED = (
    re.compile(rb"^ERROR \(catatonit:\d+\): failed to exec pid1: (No such file or directory|Permission denied)$"),
    re.compile(rb"^\[FATAL tini \(\d+\)\] exec .* failed: (No such file or directory|Permission denied)$"),
)


def init_exec_failure(stdout_tail: Iterable[bytes], stderr_tail: Iterable[bytes]) -> int | None:
    """127 (not found) or 126 (not executable) when the step's whole output is its init's report that the
    program could not be started; ``None`` otherwise. A step that wrote anything else ran: its code stands."""
    out, err = list(stdout_tail), list(stderr_tail)
    if out or len(err) != 1:
        return None
    line = err[0].rstrip(b"\r\n")
    for pattern in _INIT_EXEC_FAILED:
        found = pattern.match(line)
        if found:
            return COMMAND_NOT_FOUND_EXIT if found.group(1) == b"No such file or directory" else NOT_EXECUTABLE_EXIT
    return None


class _Attempt:
    """One container's life for one attempt of a step."""

    def __init__(
        self,
        plan: StepPlan,
        ctx: StepContext,
        run_dir: Path,
        deadline: float | None,
        ref: StepRef,
        attempt: int,
    ) -> None:
        self.plan = plan
        self.ctx = ctx
        self.run_dir = run_dir
        self.deadline = deadline
        self.ref = ref
        self.attempt = attempt
        self.timed_out = threading.Event()
        self.container: str | None = None
        self.job: str | None = None  # the batch job the executor submitted for this attempt (Slurm's job id)
        self.node: str | None = None  # the machine it ran on, when the executor says (a batch job's node)
        self.setup_seconds = 0.0  # the setup phase's wall time (the report's timeline shows it)
        self.outputs: dict[str, Any] = {}  # what the step wrote to $PIPEX_OUTPUT (a successful attempt)
        self.inputs = plan.inputs  # with the directories this attempt mounts (an input not committed yet: pinned)
        self._pinned: list[EarlyArtifacts] = []

    def container_spec(self) -> ContainerSpec:
        spec = self.plan.spec
        ws = self.ctx.workspace
        binds: list[Bind] = [
            Bind(i.artifacts, i.mounted_as, read_only=True, relabel="shared") for i in self.inputs if i.run_id
        ]  # an input without a run is an approval gate: nothing to mount
        binds.append(Bind(self.run_dir / "artifacts", spec.output_path, read_only=False, relabel="private"))
        binds += [Bind(m.host, m.container, read_only=True, relabel="shared") for m in spec.mounts]
        caches = {c.name: c for c in spec.caches}
        if spec.setup is not None:
            for c in spec.setup.caches:
                caches.setdefault(c.name, c)
        binds += [Bind(ws.cache_dir(c.name), c.path, read_only=False, relabel="private") for c in caches.values()]
        # $PIPEX_OUTPUT's directory: writable, outside the output path, never part of the artifacts
        binds.append(Bind(self.run_dir / outputs.HOST_DIR, outputs.CONTAINER_DIR, read_only=False, relabel="private"))
        needs_setup_net = spec.setup is not None and spec.setup.allow_network
        return ContainerSpec(
            image=spec.image,
            cmd=spec.cmd,
            env={**spec.env, "PIPEX_OUTPUT": outputs.CONTAINER_PATH},
            binds=tuple(binds),
            network=spec.allow_network or needs_setup_net,
            labels=self.ctx.labels(self.run_dir.name, spec.id),
            resources=self.plan.limits,
            hold=spec.setup is not None,
            userns=imageuser.user_mapping(self.plan.image.user, self.ctx.info),
            secrets=self._secrets(),
            engine_log=False,  # the output is read attached (or per exec) and kept in the run's own log files
        )

    def _secrets(self) -> tuple[SecretMount, ...]:
        """The step's secrets; a file owned by the image's user (0400), or readable by all (0444) when that user is
        a name pipex cannot turn into a uid."""
        secrets = self.ctx.secrets.get(self.plan.spec.id, ())
        user = self.plan.image.user
        if not secrets or imageuser.is_root(user):
            return secrets
        uid, gid = imageuser.image_ids(user)
        if uid is None:
            return tuple(dataclasses.replace(m, mode=0o444) for m in secrets)
        return tuple(dataclasses.replace(m, owner=(uid, uid if gid is None else gid)) for m in secrets)

    def _copy_input(self, step: str, source: Path) -> None:
        """copyToOutput: only the input's regular files and directories; what else it holds is named in a
        warning and left behind (a link there is never followed, a FIFO never opened)."""

        def skipped(item: Skipped) -> None:
            message = item.message(f" of input {step}")  # names a container wrote: they may hold a value
            masker = self.ctx.masker
            self.ctx.emit(
                StepWarning, step=self.ref, attempt=self.attempt, message=masker.text(message) if masker else message
            )

        try:
            copy_into(source, self.run_dir / "artifacts", on_skip=skipped)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot copy the artifacts of {step} into the output (copyToOutput): {exc.strerror or exc}"
            ) from exc

    def _arm_timeout(self) -> threading.Timer | None:
        if self.deadline is None:
            return None
        remaining = max(0.0, self.deadline - time.monotonic())

        def fire() -> None:
            self.timed_out.set()
            if self.container:
                with contextlib.suppress(PipexError):
                    self.ctx.executor.stop(self.container)

        timer = threading.Timer(remaining, fire)
        timer.daemon = True
        timer.start()
        return timer

    def task(self) -> Task:
        """What the executor runs: the resolved container spec, the staging dir, the sources, the setup phase."""
        spec = self.plan.spec
        setup = None
        if spec.setup is not None:
            setup = SetupPhase(
                cmd=tuple(spec.setup.cmd),
                run=(*self.plan.image.entrypoint, *(spec.cmd or self.plan.image.cmd)),
                drop_network=spec.setup.allow_network and not spec.allow_network,
                exclusive=self._exclusive_caches,
            )
        sources = tuple(Copy(src.host, src.container) for src in spec.sources)
        return Task(
            spec.id, self.container_spec(), self.run_dir, sources, setup, slurm=spec.slurm, timeout=spec.timeout_sec
        )

    def run(self, sink: LogSink) -> tuple[StepStatus, int | None, str | None, str | None]:
        """→ (status, exit code, reason, message)."""
        try:
            return self._run(sink)
        finally:
            self._unpin()

    def _pin(self) -> None:
        """Inputs whose runs are not committed yet (early.py): mounted from where they are now, which stays there
        until this attempt's container has started (``_unpin``)."""
        pinned: list[UpstreamInput] = []
        for inp in self.plan.inputs:
            if inp.early is None:
                pinned.append(inp)
                continue
            self._pinned.append(inp.early)
            pinned.append(dataclasses.replace(inp, artifacts=inp.early.pin()))
        self.inputs = tuple(pinned)

    def _unpin(self) -> None:
        """The container has started (its mounts are made), or never will: the inputs may be committed."""
        pinned, self._pinned = self._pinned, []
        for early in pinned:
            early.unpin()

    def _run(self, sink: LogSink) -> tuple[StepStatus, int | None, str | None, str | None]:
        executor = self.ctx.executor
        spec = self.plan.spec
        self._pin()
        for inp in self.inputs:
            if inp.copy_to_output and inp.run_id:
                self._copy_input(inp.step, inp.artifacts)
        (self.run_dir / outputs.HOST_DIR).mkdir()
        task = self.task()
        writable = [b.source for b in task.container.binds if not b.read_only]
        imageuser.open_for(self.plan.image.user, self.ctx.info, writable)
        self.ctx.running.creating()
        handle = executor.submit(task)
        self.container = handle
        self.ctx.running.add(spec.id, handle)
        timer = self._arm_timeout()
        try:
            outcome = executor.run(
                handle,
                task,
                sink,
                cancelled=self.ctx.cancel.is_set,
                interrupted=self._interrupted,
                placed=self._placed,
                started=self._unpin if self._pinned else None,
            )
        finally:
            if timer is not None:
                timer.cancel()
                # A timeout that already fired is stopping the container through the runtime: let it finish
                # before the step goes on (and the run closes the runtime under it, leaving its connection open).
                timer.join()
        self.setup_seconds = outcome.setup_seconds
        self.node = outcome.node
        if outcome.phase == "start":
            return "cancelled", None, "cancelled", None
        if outcome.phase == "setup":
            return "failure", outcome.code, "setup", f"setup exited with code {outcome.code}"
        code = outcome.code
        if self.timed_out.is_set():
            return "timeout", TIMEOUT_EXIT, "timeout", f"timed out after {spec.timeout_sec:g} s"
        if self.ctx.cancel.is_set():
            return "cancelled", code, "cancelled", None
        if code == 0:
            return self._read_outputs()
        found = init_exec_failure(sink.stdout_tail, sink.stderr_tail)
        if found is not None:
            exe = self._executable()
            if found == COMMAND_NOT_FOUND_EXIT:
                return "failure", found, "command", f'command "{exe}" not found in the image {spec.image}'
            return "failure", found, "command", f'command "{exe}" is not executable in the image {spec.image}'
        return "failure", code, "exit", f"exited with code {code}"

    def _executable(self) -> str:
        """The program the container's init was asked to start: the entrypoint's, else the command's."""
        argv = [*self.plan.image.entrypoint, *(self.plan.spec.cmd or self.plan.image.cmd)]
        return argv[0] if argv else "?"

    def _read_outputs(self) -> tuple[StepStatus, int | None, str | None, str | None]:
        """A successful command's outputs; a file pipex cannot accept, or a declared output missing, fails the
        step (reason ``outputs``)."""
        try:
            found = outputs.parse(outputs.read_file(self.run_dir / outputs.HOST_DIR))
        except outputs.OutputError as exc:
            return "failure", 0, "outputs", str(exc)
        failure, warnings = outputs.check_declared(found, self.plan.spec.outputs)
        for warning in warnings:
            self.ctx.emit(StepWarning, step=self.ref, attempt=self.attempt, message=warning)
        if failure is not None:
            return "failure", 0, "outputs", failure
        self.outputs = found
        return "success", 0, None, None

    def _placed(self, job: str) -> None:
        """The executor submitted this attempt as a batch job: said on the events (``StepJob``, then ``StepEnd``)
        and kept in the run's record."""
        self.job = job
        self.ctx.emit(StepJob, step=self.ref, attempt=self.attempt, job=job)

    def _interrupted(self) -> bool:
        return self.timed_out.is_set() or self.ctx.cancel.is_set()

    @contextlib.contextmanager
    def _exclusive_caches(self) -> Iterator[bool]:
        """The setup phase's exclusive caches, locked; ``False`` when interrupted while waiting for them."""
        spec = self.plan.spec
        assert spec.setup is not None
        locks: list[FileLock] = []
        try:
            for cache in sorted((c for c in spec.setup.caches if c.exclusive), key=lambda c: c.name):
                lock = self.ctx.workspace.cache_lock(cache.name, "pipex run")
                while True:  # wait for another pipex using the cache, but stay cancellable
                    try:
                        locks.append(lock.acquire(blocking=True, timeout=0.5))
                        break
                    except PipexError:
                        if self._interrupted():
                            yield False
                            return
            yield True
        finally:
            for lock in locks:
                lock.release()

    def cleanup(self) -> tuple[str, ...]:
        """Remove the container (forced: a stop that failed is ended here); the errors, never raised."""
        if self.container is None:
            return ()
        self.ctx.running.discard(self.container)
        try:
            self.ctx.executor.cleanup(self.container)
        except PipexError as exc:
            return (f"container {self.container[:12]}: {exc.message}",)
        return ()


def execute(plan: StepPlan, ctx: StepContext) -> StepRun:
    """Run a step with its retries; commit the final attempt's run and record it in the state."""
    spec = plan.spec
    ref = StepRef(spec.id, spec.name)
    ws = ctx.workspace
    started = time.time()
    previous: list[Path] = []
    attempts = spec.retries + 1
    for attempt in range(1, attempts + 1):
        run_id = new_run_id()
        run_dir = ws.new_staging(run_id)
        mark_staging(run_dir, spec.id)  # lets `pipex logs -f` and `show` find a live step's run
        for n, old in enumerate(previous, start=1):  # keep every earlier attempt's logs in the final run
            for stream in ("stdout", "stderr"):
                src = old / f"{stream}.log"
                if src.exists():
                    shutil.copyfile(src, run_dir / f"attempt-{n}.{stream}.log")
        sink = LogSink(
            run_dir,
            functools.partial(_log, ctx, ref, attempt) if ctx.logs else None,
            stdout=ctx.stdout,
            stderr=ctx.stderr,
            last_only=ctx.logs == "last",
            masker=ctx.masker,
        )
        # timeoutSec bounds each attempt (setup + run together); a timed-out attempt is retried like a failure.
        deadline = None if spec.timeout_sec is None else time.monotonic() + spec.timeout_sec
        att = _Attempt(plan, ctx, run_dir, deadline, ref, attempt)
        fault: PipexError | None = None
        try:
            status, code, reason, message = att.run(sink)
        except CommandNotFound as exc:  # what a shell says and does: exit 127, naming the executable
            status, code, reason, message = "failure", COMMAND_NOT_FOUND_EXIT, "command", exc.message
        except NetworkUnavailable as exc:
            status, code, reason, message = "failure", None, "network", exc.message
        except PipexError as exc:
            status, code, reason, message = "failure", None, "engine", exc.message
            if ctx.cancel.is_set():  # the stop broke a create/start/attach in flight: that is the cancel
                status, reason, message = "cancelled", "cancelled", None
        except OSError as exc:  # the host side: the workdir's disk is full, a name too long, …
            status, code, reason, message = "failure", None, "engine", None
            fault = from_os_error(exc, f"running step {spec.id!r}")
        finally:
            # Each part of the clean-up runs whatever the one before it did (a full disk fails the log flush).
            try:
                sink.close()
            except OSError as exc:
                fault = fault or from_os_error(exc, f"writing the logs of step {spec.id!r}")
            finally:
                att.cleanup()
        if fault is not None:
            # Nothing more can be written reliably: drop this attempt's staging (it frees space) and end the run.
            with contextlib.suppress(PipexError, OSError):
                remove(run_dir, ctx.executor.remove_tree)
            raise fault
        if message is not None and ctx.masker is not None:
            message = ctx.masker.text(message)  # an engine's answer may quote what it was given
        retryable = status in ("failure", "timeout") and attempt < attempts and not ctx.cancel.is_set()
        if not retryable:
            done = _finish_or_fault(
                plan,
                ctx,
                run_dir,
                previous,
                attempt,
                started,
                status,
                code,
                reason,
                message,
                tuple(sink.tail()),
                att.outputs,
                job=att.job,
                node=att.node,
            )
            return dataclasses.replace(done, setup_seconds=att.setup_seconds)
        delay = spec.retry_delay_ms / 1000
        ctx.emit(
            StepRetry,
            step=ref,
            attempt=attempt + 1,
            max=attempts,
            delay=delay,
            reason=message or reason or "failed",
        )
        previous.append(run_dir)
        if ctx.cancel.wait(delay):
            return _finish_or_fault(
                plan,
                ctx,
                run_dir,
                previous[:-1],
                attempt,
                started,
                "cancelled",
                code,
                "cancelled",
                None,
                tuple(sink.tail()),
                job=att.job,
                node=att.node,
            )
    raise AssertionError("unreachable")


def _log(ctx: StepContext, ref: StepRef, attempt: int, stream: StreamName, lines: list[str]) -> None:
    if ctx.emit_lines is not None:  # the whole chunk at once: one hand-over, not one per line
        ctx.emit_lines(ref, attempt, stream, lines)
        return
    for line in lines:
        ctx.emit(StepLog, step=ref, attempt=attempt, stream=stream, line=line)


def _finish_or_fault(
    plan: StepPlan, ctx: StepContext, run_dir: Path, *args: Any, job: str | None, node: str | None
) -> StepRun:
    """``_finish``; a host I/O failure (full disk while committing) becomes its one-line error, and the
    attempt, if not committed yet, is dropped from staging (never visible as a run; it frees the space)."""
    try:
        return _finish(plan, ctx, run_dir, *args, job=job, node=node)
    except OSError as exc:
        with contextlib.suppress(PipexError, OSError):
            remove(run_dir, ctx.executor.remove_tree)  # gone already when the commit's rename happened
        raise from_os_error(exc, f"recording step {plan.spec.id!r}") from exc


def _finish(
    plan: StepPlan,
    ctx: StepContext,
    run_dir: Path,
    previous: list[Path],
    attempt: int,
    started: float,
    status: StepStatus,
    code: int | None,
    reason: str | None,
    message: str | None,
    tail: tuple[str, ...],
    found: dict[str, Any] | None = None,
    *,
    job: str | None = None,
    node: str | None = None,
) -> StepRun:
    ws = ctx.workspace
    found = found or {}
    run_id = run_dir.name
    for old in previous:  # their logs were copied into this run as attempt-<n>.*.log
        remove(old, ctx.executor.remove_tree)
    artifacts = run_dir / "artifacts"
    imageuser.close_output(artifacts, ctx.invoking_uid, ctx.invoking_gid)
    if ctx.invoking_uid != 0:  # rootless too: a non-root image user without keep-id writes as a subuid
        with contextlib.suppress(PipexError):
            ctx.executor.normalize_ownership(artifacts, ctx.invoking_uid, ctx.invoking_gid, image=plan.spec.image)
    # The container is gone and the tree final: dependents may mount it while it is hashed (early.py).
    early = heavy = None
    if plan.release is not None and status == "success":
        early = EarlyArtifacts(run_id, artifacts, ws.run_dir(run_id) / "artifacts")
        heavy = Heavy(plan.release.bytes, functools.partial(plan.release.to, early, found))
    try:
        digest, size = ctx.tree_digest(artifacts, ARTIFACTS_FORMAT, heavy)
        # Its own work ends here: the wait below for inputs still being recorded is not part of its duration.
        finished = time.time()
        if plan.settle is not None:  # started on inputs not recorded then: its fingerprint needs their digests
            plan, status, reason, message = _settle(plan, status, reason, message)
        if early is not None and status != "success":
            early.failed(WorkspaceError(f"step {plan.spec.id!r} could not record its run: {message}"))
            early = None
        if plan.manifests:  # the file lists of mounts and sources, so --explain can name what changed next time
            write_json(run_dir / "manifests.json", {k: dict(v) for k, v in plan.manifests.items()}, durable=False)
        meta = run_meta(plan, ctx, run_id, attempt, started, finished, status, code, reason, message, digest, size)
        meta["outputs"] = found
        if job is not None:  # the final attempt's batch job: `pipex inspect` names it (a local run has none)
            meta["job"] = job
        if node is not None:  # and the node it ran on (from the job: checked to be a host name)
            meta["node"] = node
        if early is None:
            ws.commit(run_id, meta)
        else:  # once no dependent is between choosing the staged path and mounting it
            early.publish(functools.partial(ws.commit, run_id, meta))
        entry = RunEntry(run_id, status, plan.fingerprint, meta["finishedAt"], meta["durationMs"], digest, size)
        ws.record(plan.spec.id, dataclasses.replace(entry, has_outputs=bool(found)))
    except BaseException as exc:  # a dependent that started early must not wait for a run that never comes
        if early is not None:  # told as the run's error says it (``_finish_or_fault``), not as a bare OSError
            early.failed(from_os_error(exc, f"recording step {plan.spec.id!r}") if isinstance(exc, OSError) else exc)
        raise
    if early is not None:
        early.recorded_as(digest)
    if status == "success" and ctx.store is not None:
        from pipex.engine.sharing import push  # only a run with a cache store needs it

        push(plan, ctx, ws.run_dir(run_id), meta, digest, size)
    return StepRun(
        status,
        code,
        reason,
        run_id,
        attempt,
        started,
        finished - started,
        digest,
        size,
        message,
        tail,
        outputs=found,
        job=job,
        node=node,
    )


def _settle(
    plan: StepPlan, status: StepStatus, reason: str | None, message: str | None
) -> tuple[StepPlan, StepStatus, str | None, str | None]:
    """The plan of a step started on inputs not recorded yet, with its fingerprint; when an input was never
    recorded (the run is ending on a fault), the step is recorded as cancelled, with no fingerprint."""
    assert plan.settle is not None
    try:
        return plan.settle(plan), status, reason, message
    except (PipexError, OSError) as exc:
        said = exc.message if isinstance(exc, PipexError) else str(exc)
        unsettled = dataclasses.replace(plan, settle=None)
        return unsettled, "cancelled", "cancelled", f"an input's run was not recorded: {said}"


def record_failure(spec: StepSpec, ctx: StepContext, *, reason: str, message: str, attempt: int, started: float) -> str:
    """Commit a failed run for a step that never got a container (image or limits problems), so its reason
    is on disk like any other failure (``pipex logs``/``inspect`` read it); returns the run id."""
    ws = ctx.workspace
    run_id = new_run_id()
    run_dir = ws.new_staging(run_id)
    (run_dir / "stdout.log").write_bytes(b"")
    (run_dir / "stderr.log").write_text(f"pipex: {message}\n", encoding="utf-8")
    finished = time.time()
    finished_at, duration_ms = _iso(finished), round((finished - started) * 1000)
    meta = {
        "runId": run_id,
        "stepId": spec.id,
        "stepName": spec.name,
        "status": "failure",
        "reason": reason,
        "message": message,
        "attempt": attempt,
        "startedAt": _iso(started),
        "finishedAt": finished_at,
        "durationMs": duration_ms,
        "exitCode": None,
        "image": spec.image,
        "imageId": None,
        "imageDigest": None,
        "cmd": list(spec.cmd),
        "env": redact_env(dict(spec.env)),
        "secrets": [{"name": s.name, "source": s.origin} for s in spec.secrets],
        "fingerprint": None,
        "artifactsDigest": None,
        "artifactsSize": 0,
        "runtime": {
            "engine": ctx.info.engine,
            "version": ctx.info.version,
            "rootless": ctx.info.rootless,
            "apiVersion": ctx.info.api_version,
        },
        "pipexVersion": ctx.pipex_version,
    }
    ws.commit(run_id, meta)
    ws.record(spec.id, RunEntry(run_id, "failure", "", finished_at, duration_ms, None, 0))
    return run_id
