"""``Engine``: the Python API of a run — an async stream of events ending in exactly one ``PipelineEnd``.

Problems found before the run starts (invalid options, engine unreachable, workspace busy) are raised as
``PipexError``s before the first event; once ``PipelineStart`` is out, everything ends with ``PipelineEnd``
and the record on disk is written (success, failure, timeout, cancel, Ctrl-C, consumer gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, overload

from pipex import __version__
from pipex.engine.emitter import Emitter
from pipex.engine.events import Event, Metrics, PipelineEnd, PipelineStart, RunResult, RunWarning, StepRef
from pipex.engine.options import LogEvents, PullPolicy, RunOptions
from pipex.engine.plan import Running, StepContext
from pipex.errors import PipexError, RuntimeUnavailable
from pipex.workspace.ids import new_run_id
from pipex.workspace.layout import Workspace

if TYPE_CHECKING:
    from pipex.daemon.spawn import DetachedRun
    from pipex.engine.scheduler import Scheduler
    from pipex.model.pipeline import Pipeline
    from pipex.model.spec import StepSpec
    from pipex.runtime.base import Runtime
    from pipex.workspace.api import WorkspaceHandle

RuntimeChoice = Literal["auto", "podman", "docker"]
FAIR_BATCH = 64  # events handed over at most before the event loop gets a turn


def resolve_workdir(
    workdir: str | Path | None, pipeline: Pipeline | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """``--workdir`` > ``PIPEX_WORKDIR`` > ``.pipex.yml`` ``workdir:`` > the user data dir."""
    from pipex import config

    if workdir is not None:
        return Path(workdir).expanduser().absolute()
    env = config.env(environ)
    if env.get(config.PIPEX_WORKDIR):
        return Path(env[config.PIPEX_WORKDIR]).expanduser().absolute()
    if pipeline is not None and pipeline.config.workdir and pipeline.config_path is not None:
        return (pipeline.config_path.parent / Path(pipeline.config.workdir).expanduser()).absolute()
    return config.default_workdir()


def select_steps(specs: Sequence[StepSpec], targets: Sequence[str]) -> list[StepSpec]:
    """The targets plus all their transitive dependencies (optional ones that exist included), in file order."""
    if not targets:
        return list(specs)
    by_id = {s.id: s for s in specs}
    keep: set[str] = set()
    stack = list(targets)
    while stack:
        sid = stack.pop()
        if sid in keep or sid not in by_id:
            continue
        keep.add(sid)
        stack.extend(i.step for i in by_id[sid].inputs)
    return [s for s in specs if s.id in keep]


class Engine:
    def __init__(
        self,
        workdir: str | Path | None = None,
        runtime: RuntimeChoice | Runtime = "auto",
        *,
        host: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.runtime_choice = runtime
        self.host = host
        self.environ = environ
        self._active: Scheduler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._interrupts = 0

    # -- workspaces -----------------------------------------------------------------------------------------
    def workspace(self, name: str) -> WorkspaceHandle:
        """A workspace of this engine's workdir: ``show()``, ``logs()``, ``inspect()``, ``artifacts()``,
        ``read()``, ``export()``, ``prune()``, ``remove_step()``, ``remove()`` (see ``pipex.workspace.api``)."""
        from pipex.workspace.api import WorkspaceHandle, engine_remove_tree

        if isinstance(self.runtime_choice, str):
            remove_tree = engine_remove_tree(self.runtime_choice, self.host, self.environ)
        else:
            remove_tree = self.runtime_choice.remove_tree
        return WorkspaceHandle(resolve_workdir(self.workdir, None, self.environ), name, remove_tree)

    # -- runtime --------------------------------------------------------------------------------------------
    def _open_runtime(self, pipeline: Pipeline, warnings: list[str] | None = None) -> tuple[Runtime, bool]:
        """The runtime and whether this run owns it (and must close it); ``warnings`` gets discovery's."""
        if not isinstance(self.runtime_choice, str):
            return self.runtime_choice, False
        from pipex.runtime.factory import open_runtime

        kind = self.runtime_choice
        if kind == "auto" and pipeline.config.runtime != "auto":
            kind = pipeline.config.runtime
        note = None if warnings is None else warnings.append
        if self.host:
            return open_runtime(kind, self.host, environ=self.environ, on_warning=note), True
        source = ".pipex.yml host" if pipeline.config.host else "--host"
        host = pipeline.config.host
        return open_runtime(kind, host, environ=self.environ, host_source=source, on_warning=note), True

    def interrupt(self) -> None:
        """Ctrl-C: the first stops the run cleanly (status ``interrupted``), a second kills containers at once."""
        self._signal_stop("interrupted")

    def cancel(self) -> None:
        """Like ``interrupt``, recorded as ``cancelled`` (``pipex cancel`` of a detached run)."""
        self._signal_stop("cancelled")

    def _signal_stop(self, status: Literal["cancelled", "interrupted"]) -> None:
        self._interrupts += 1
        active, loop = self._active, self._loop
        if active is None or loop is None:
            return
        kill = self._interrupts > 1
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            active.stop(status, kill=kill)
        else:  # from a signal handler thread or another thread: the scheduler lives on its loop
            loop.call_soon_threadsafe(functools.partial(active.stop, status, kill=kill))

    # -- run ------------------------------------------------------------------------------------------------
    @overload
    def run(
        self,
        pipeline: Pipeline,
        workspace: str | None = None,
        force: bool | Sequence[str] = False,
        target: Sequence[str] | None = None,
        concurrency: int | None = None,
        dry_run: bool = False,
        env_file: str | Path | None = None,
        timeout: float | None = None,
        *,
        pull: PullPolicy = "missing",
        explain: bool = False,
        strict_limits: bool = False,
        logs: LogEvents = True,
        detach: Literal[False] = False,
    ) -> AsyncIterator[Event]: ...

    @overload
    def run(
        self,
        pipeline: Pipeline,
        workspace: str | None = None,
        force: bool | Sequence[str] = False,
        target: Sequence[str] | None = None,
        concurrency: int | None = None,
        dry_run: bool = False,
        env_file: str | Path | None = None,
        timeout: float | None = None,
        *,
        pull: PullPolicy = "missing",
        explain: bool = False,
        strict_limits: bool = False,
        logs: LogEvents = True,
        detach: Literal[True],
    ) -> DetachedRun: ...

    def run(
        self,
        pipeline: Pipeline,
        workspace: str | None = None,
        force: bool | Sequence[str] = False,
        target: Sequence[str] | None = None,
        concurrency: int | None = None,
        dry_run: bool = False,
        env_file: str | Path | None = None,
        timeout: float | None = None,
        *,
        pull: PullPolicy = "missing",
        explain: bool = False,
        strict_limits: bool = False,
        logs: LogEvents = True,
        detach: bool = False,
    ) -> AsyncIterator[Event] | DetachedRun:
        """The run's events; ``logs=False`` leaves out ``StepLog`` events (the log files are written all the same),
        which saves their cost for a consumer that shows no log lines; ``logs="last"`` keeps only the last line
        of each chunk read from a step (what a view of each step's latest line needs).

        ``detach=True`` starts the run in a background pipex process instead and returns a ``DetachedRun`` once
        that process holds the workspace lock (errors before that are raised here); ``attach`` follows it.
        A dry run is never detached (it is read-only)."""
        options = RunOptions(
            workspace=workspace,
            force=force if isinstance(force, bool) else tuple(force),
            target=tuple(target or ()),
            concurrency=concurrency,
            dry_run=dry_run,
            explain=explain,
            env_file=Path(env_file) if env_file else None,
            timeout=timeout,
            pull=pull,
            strict_limits=strict_limits,
            logs=logs,
            environ=self.environ,
        )
        if detach and not dry_run:
            from pipex.daemon.spawn import detach_run

            return detach_run(self, pipeline, options)
        return self._stream(lambda: self._prepare(pipeline, options), options)

    async def _stream(self, prepare: Callable[[], _Prepared], options: RunOptions) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        prepared = prepare()  # raises before the first event
        emitter = Emitter(prepared.run_id, prepared.ws.name, loop)
        driver = asyncio.create_task(self._drive(prepared, options, emitter))
        cancelled = False
        direct = 0
        try:
            while True:
                # Buffered events are taken without a task and a trip through the loop each (that doubled the
                # cost of every log line); every FAIR_BATCH events the loop still runs, so the run's own tasks,
                # signal handlers and a cancel of the consumer are never starved by a fast-talking step.
                event = emitter.get_nowait() if direct < FAIR_BATCH else None
                if event is not None:
                    direct += 1
                else:
                    direct = 0
                    getter = asyncio.ensure_future(emitter.get())
                    try:
                        event = await getter
                    except asyncio.CancelledError:
                        # The consumer's task was cancelled: stop the run and still deliver its PipelineEnd.
                        getter.cancel()
                        cancelled = True
                        self._stop_active("cancelled")
                        continue
                yield event
                if isinstance(event, PipelineEnd):
                    break
        finally:
            emitter.close()
            if not driver.done():
                self._stop_active("cancelled")
                with contextlib.suppress(asyncio.CancelledError):
                    await driver
            else:
                driver.result()  # surface an unexpected error
        if cancelled:
            # The PipelineEnd is delivered; now honour the cancel, or the consumer's task (and asyncio.timeout
            # or a TaskGroup around it) would carry on as if nothing had been cancelled.
            raise asyncio.CancelledError

    def _stop_active(self, status: Literal["cancelled", "interrupted", "timeout"]) -> None:
        if self._active is not None:
            self._active.stop(status)

    # -- exec and attach -------------------------------------------------------------------------------------
    def exec(
        self,
        source: Pipeline | str | os.PathLike[str],
        workspace: str,
        *,
        step: str | None = None,
        inputs: Sequence[str] = (),
        ephemeral: bool = False,
        force: bool = False,
        env_file: str | Path | None = None,
        pull: PullPolicy = "missing",
        logs: LogEvents = True,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> AsyncIterator[Event]:
        """Run one step in ``workspace``: the step of a step file (or of a pipeline; ``step`` picks one), its
        inputs and ``inputs`` (``"[alias=]step"``) mounted from the workspace's last successful runs.
        ``ephemeral``: always runs, keeps no run and no state. ``stdout``/``stderr``: also write the step's
        standard output/error there, byte for byte, as it arrives. Events as for ``run``."""
        from pipex.engine.execstep import prepare_exec

        options = RunOptions(
            workspace=workspace,
            force=force or ephemeral,
            concurrency=1,
            env_file=Path(env_file) if env_file else None,
            pull=pull,
            logs=logs,
            environ=self.environ,
        )
        setup = prepare_exec(self, source, options, step=step, inputs=inputs, ephemeral=ephemeral)

        def prepare() -> _Prepared:
            prepared: _Prepared = setup(self._prepare)
            prepared.stdout = stdout
            prepared.stderr = stderr
            return prepared

        return self._stream(prepare, options)

    def attach(self, workspace: str, run_id: str | None = None) -> AsyncIterator[Event]:
        """The events of the workspace's detached run (``run_id``: an earlier one): those so far, then live
        ones until its ``PipelineEnd``. Leaving the loop early does not stop the run."""
        from pipex.daemon.follow import follow

        return follow(Workspace(resolve_workdir(self.workdir, None, self.environ), workspace), run_id)

    def run_sync(self, pipeline: Pipeline, **kwargs: Any) -> RunResult:
        """Run to the end and return the terminal record."""

        async def collect() -> RunResult:
            result: RunResult | None = None
            async for event in self.run(pipeline, **kwargs):
                if isinstance(event, PipelineEnd):
                    result = event.result
            assert result is not None
            return result

        return asyncio.run(collect())

    # -- internals ------------------------------------------------------------------------------------------
    def _prepare(self, pipeline: Pipeline, options: RunOptions, command: str = "pipex run") -> _Prepared:
        from pipex.kits.resolve import resolve_steps
        from pipex.model.dotenv import load_dotenv

        cli_env = load_dotenv(options.env_file) if options.env_file else {}
        specs = resolve_steps(pipeline, cli_env=cli_env)
        options.check([s.id for s in specs])
        specs = select_steps(specs, options.target)
        ws = Workspace(resolve_workdir(self.workdir, pipeline, self.environ), options.workspace or pipeline.id)
        runtime: Runtime | None = None
        owned = False
        lock = None
        warnings: list[str] = []
        try:
            try:
                runtime, owned = self._open_runtime(pipeline, warnings)
            except RuntimeUnavailable:
                if not options.dry_run:
                    raise
            if not options.dry_run:
                assert runtime is not None
                lock = ws.lock(command)
                from pipex.runtime.reaper import reap

                reap(runtime, ws.workdir, ws.name)
                ws.clear_staging(runtime.remove_tree)
        except BaseException:
            if lock is not None:
                lock.release()
            if owned and runtime is not None:
                runtime.close()
            raise
        env = dict(os.environ if self.environ is None else self.environ)
        env.update(cli_env)
        prepared = _Prepared(new_run_id(), pipeline, specs, ws, runtime, owned, lock, env)
        prepared.warnings = warnings
        return prepared

    async def _drive(self, p: _Prepared, options: RunOptions, emitter: Emitter) -> None:
        from pipex.engine.fingerprints import Fingerprinter
        from pipex.engine.images import ImageResolver
        from pipex.engine.scheduler import Scheduler
        from pipex.runtime.labels import container_labels

        started = time.monotonic()
        fingerprinter = Fingerprinter(
            p.ws, read_only=options.dry_run, info=None if options.dry_run or p.runtime is None else p.runtime.info
        )
        sched: Scheduler | None = None
        result: RunResult | None = None
        try:
            ctx = None
            if p.runtime is not None and not options.dry_run:
                ctx = StepContext(
                    runtime=p.runtime,
                    workspace=p.ws,
                    run_id=p.run_id,
                    emit=emitter.emit,
                    emit_lines=emitter.emit_lines,
                    cancel=threading.Event(),
                    running=Running(),
                    tree_digest=fingerprinter.artifacts_digest,
                    labels=lambda rid, sid: container_labels(p.ws.workdir, p.ws.name, rid, sid),
                    pipex_version=__version__,
                    logs=options.logs,
                    stdout=p.stdout,
                    stderr=p.stderr,
                    invoking_uid=os.getuid(),
                    invoking_gid=os.getgid(),
                )
            sched = Scheduler(
                p.specs,
                options=options,
                workspace=p.ws,
                emitter=emitter,
                ctx=ctx,
                images=ImageResolver(p.runtime, options.pull, dry_run=options.dry_run),
                fingerprinter=fingerprinter,
                condition_env=p.condition_env,
            )
            sched.provided.update(p.provided)  # exec: inputs from the workspace's earlier runs
            self._active = sched
            self._loop = asyncio.get_running_loop()
            await emitter.emit_async(
                PipelineStart,
                pipeline=p.pipeline.id,
                steps=tuple(StepRef(s.id, s.name) for s in p.specs),
                dry_run=options.dry_run,
            )
            for warning in p.warnings:
                await emitter.emit_async(RunWarning, message=warning)
            timer = None
            if options.timeout is not None:
                timer = asyncio.get_running_loop().call_later(options.timeout, sched.stop, "timeout")
            try:
                status, metrics = await sched.run()
            finally:
                if timer is not None:
                    timer.cancel()
            result = sched.result(p.run_id, time.monotonic() - started, status, metrics)
        except asyncio.CancelledError:
            if sched is not None:
                result = sched.result(
                    p.run_id, time.monotonic() - started, sched.stop_status or "cancelled", sched.metrics()
                )
            raise
        except PipexError as exc:
            result = RunResult(
                run_id=p.run_id,
                workspace=p.ws.name,
                status="failed",
                steps=(),
                duration=time.monotonic() - started,
                metrics=Metrics(),
                failure_kind="engine",
                error=exc.message,
                errors=(exc.message,),
                dry_run=options.dry_run,
            )
        finally:
            self._active = None
            fingerprinter.close()
            if p.on_finish is not None:
                p.on_finish()  # with the lock still held (exec --ephemeral deletes its staged run)
            if p.lock is not None:
                p.lock.release()
            if p.owned and p.runtime is not None:
                p.runtime.close()
            if result is None:
                result = RunResult(
                    run_id=p.run_id,
                    workspace=p.ws.name,
                    status="failed",
                    steps=(),
                    duration=time.monotonic() - started,
                    metrics=Metrics(),
                    failure_kind="engine",
                    error="internal error",
                    dry_run=options.dry_run,
                )
            await emitter.emit_async(PipelineEnd, result=result)


class _Prepared:
    def __init__(
        self,
        run_id: str,
        pipeline: Pipeline,
        specs: list[StepSpec],
        ws: Workspace,
        runtime: Runtime | None,
        owned: bool,
        lock: Any,
        condition_env: dict[str, str],
    ) -> None:
        self.run_id = run_id
        self.pipeline = pipeline
        self.specs = specs
        self.ws = ws
        self.runtime = runtime
        self.owned = owned
        self.lock = lock
        self.condition_env = condition_env
        self.provided: dict[str, Any] = {}  # step id → scheduler.Provided, known before the run starts
        self.on_finish: Callable[[], None] | None = None
        self.stdout: BinaryIO | None = None  # exec: a copy of the step's raw stdout
        self.stderr: BinaryIO | None = None  # exec --ephemeral: a copy of its raw stderr
        self.warnings: list[str] = []  # said once the run has started (RunWarning)
