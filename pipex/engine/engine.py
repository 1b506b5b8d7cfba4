"""``Engine``: the Python API of a run — an async stream of events ending in exactly one ``PipelineEnd``.

Problems found before the run starts (invalid options, engine unreachable, workspace busy) are raised as
``PipexError``s before the first event; once ``PipelineStart`` is out, everything ends with ``PipelineEnd``
and the record on disk is written (success, failure, timeout, cancel, Ctrl-C, consumer gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Unpack

from pipex.config import RuntimeKind
from pipex.engine.emitter import Emitter
from pipex.engine.events import (
    Event,
    LogLines,
    Metrics,
    PipelineEnd,
    PipelineStart,
    RunError,
    RunResult,
    RunWarning,
    StepRef,
)
from pipex.engine.options import ExecutorKind, LogEvents, PullPolicy, RunKeywords, RunOptions, SlurmOptions
from pipex.engine.plan import Running, StepContext
from pipex.engine.secrets import RunSecrets, resolve
from pipex.errors import PipexError, RuntimeUnavailable, StoreError, UsageError, from_os_error
from pipex.model.project import (
    configured_cache_store,
    configured_workdir,
    find_configured_workdir,
    find_project_config,
)
from pipex.model.secret import Secret
from pipex.version import __version__
from pipex.workspace.ids import new_run_id
from pipex.workspace.layout import Workspace
from pipex.workspace.workdir import resolve_workdir

if TYPE_CHECKING:
    from pipex.engine.recorder import Recorder
    from pipex.engine.scheduler import Scheduler
    from pipex.engine.subfanout import Replan
    from pipex.executors.base import Executor
    from pipex.model.pipeline import Pipeline
    from pipex.model.project import ProjectConfig
    from pipex.model.spec import StepSpec
    from pipex.runtime.base import Runtime
    from pipex.store import Store
    from pipex.workspace.api import WorkspaceHandle

FAIR_BATCH = 64  # events handed over at most before the event loop gets a turn


def select_steps(specs: Sequence[StepSpec], targets: Sequence[str]) -> list[StepSpec]:
    """The targets plus all their transitive dependencies (optional ones that exist included), in file order.
    An instance (``convert[eu]``) selects its fan-out step; the scheduler runs only that instance of it."""
    if not targets:
        return list(specs)
    by_id = {s.id: s for s in specs}
    keep: set[str] = set()
    stack = [t.rpartition("[")[0] if t.endswith("]") else t for t in targets]
    while stack:
        sid = stack.pop()
        if sid in keep or sid not in by_id:
            continue
        keep.add(sid)
        stack.extend(i.step for i in by_id[sid].inputs)
    return [s for s in specs if s.id in keep]


def _check_scope_instances(pipeline: Pipeline, options: RunOptions) -> None:
    """``--target/--force 'etl[xx]'`` naming no instance of a fanned sub-pipeline ``etl``: said with its
    instances (its steps' ids would suggest nothing useful)."""
    named = [("--target", t) for t in options.target]
    if isinstance(options.force, tuple):
        named += [("--force", f) for f in options.force]
    for option, name in named:
        group = name.rpartition("[")[0]
        if not name.endswith("]") or name in pipeline.scopes or group not in pipeline.scopes:
            continue
        keys = [s[len(group) + 1 : -1] for s in pipeline.scopes if s.endswith("]") and s.rpartition("[")[0] == group]
        if not keys:
            raise UsageError(
                f'{option}: sub-pipeline "{group}" has no instances (no matrix or foreach): "{name}" names none',
                hint=f"name the sub-pipeline: {option} {group}",
            )
        shown = ", ".join(keys[:10]) + (" …" if len(keys) > 10 else "")
        raise UsageError(
            f'{option}: sub-pipeline "{group}" has no instance "{name[len(group) + 1 : -1]}"',
            hint=f"its instances: {shown}",
        )


class Engine:
    def __init__(
        self,
        workdir: str | Path | None = None,
        runtime: RuntimeKind | Runtime = "auto",
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
    def workdir_for(self, pipeline: Pipeline | None = None) -> Path:
        """The workdir (``pipex.workspace.workdir``): the pipeline's ``.pipex.yml``, else the one that applies
        in the current directory, as for every CLI command."""
        if pipeline is not None:
            configured = configured_workdir(pipeline.config, pipeline.config_path)
            return resolve_workdir(self.workdir, configured=configured, environ=self.environ)
        return resolve_workdir(
            self.workdir, configured=lambda: find_configured_workdir(environ=self.environ), environ=self.environ
        )

    def workspace(self, name: str) -> WorkspaceHandle:
        """A workspace of this engine's workdir: ``show()``, ``logs()``, ``inspect()``, ``artifacts()``,
        ``read()``, ``export()``, ``runs()``, ``report()``, ``prune()``, ``remove_step()``, ``remove()`` (see
        ``pipex.workspace.api``)."""
        # start-up: only the workspace API needs these
        from pipex.engine.removal import engine_remove_tree
        from pipex.workspace.api import WorkspaceHandle

        if isinstance(self.runtime_choice, str):
            remove_tree = engine_remove_tree(self.runtime_choice, self.host, self.environ)
        else:
            remove_tree = self.runtime_choice.remove_tree
        from pipex.report import render  # start-up: the report renderer only for the workspace API

        return WorkspaceHandle(self.workdir_for(), name, remove_tree, render=render)

    # -- runtime --------------------------------------------------------------------------------------------
    def start_engine_early(self, cwd: Path | None = None) -> bool:
        """A run is coming: when it will use the private Podman service (no socket found), begin starting it now,
        so that Podman's start overlaps reading and checking the pipeline. Decided as ``_open_runtime`` will be,
        with the ``.pipex.yml`` that applies in ``cwd``; anything unexpected means no early start (the run then
        starts the service itself and reports what fails). ``True`` when a start was begun."""
        if not isinstance(self.runtime_choice, str) or self.host:
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an ignored .pipex.yml is reported when the pipeline is loaded
            try:
                project, _ = find_project_config(cwd or Path.cwd(), environ=self.environ)
            except PipexError:
                return False  # reported when the pipeline is loaded
        if project.host:
            return False
        kind = project.runtime if self.runtime_choice == "auto" else self.runtime_choice
        # start-up: the runtime's discovery only for a command that will run containers
        from pipex.runtime.discovery import prestart

        return prestart(kind, environ=self.environ)

    def _open_runtime(self, pipeline: Pipeline, warnings: list[str] | None = None) -> tuple[Runtime, bool]:
        """The runtime and whether this run owns it (and must close it); ``warnings`` gets discovery's."""
        if not isinstance(self.runtime_choice, str):
            return self.runtime_choice, False
        # start-up: the engine clients (~50 ms) only when a runtime is opened by name
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

    def interrupt(self) -> int:
        """Ctrl-C: the first stops the run cleanly (status ``interrupted``), a second kills containers at once.
        Returns how many steps are running (being stopped), for the caller to say so."""
        return self._signal_stop("interrupted")

    def cancel(self) -> int:
        """Like ``interrupt``, recorded as ``cancelled`` (``pipex cancel`` of a detached run)."""
        return self._signal_stop("cancelled")

    @property
    def interrupts(self) -> int:
        """How many stop requests (Ctrl-C, SIGTERM, cancel) this engine received."""
        return self._interrupts

    def _signal_stop(self, status: Literal["cancelled", "interrupted"]) -> int:
        self._interrupts += 1
        active, loop = self._active, self._loop
        if active is None or loop is None:
            return 0
        running_steps = active.running_now
        kill = self._interrupts > 1
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            active.stop(status, kill=kill)
        else:  # from a signal handler thread or another thread: the scheduler lives on its loop
            loop.call_soon_threadsafe(functools.partial(active.stop, status, kill=kill))
        return running_steps

    # -- run ------------------------------------------------------------------------------------------------
    def run(
        self, pipeline: Pipeline, options: RunOptions | None = None, **keywords: Unpack[RunKeywords]
    ) -> AsyncIterator[Event]:
        """The run's events. ``options``: every option of the run (what the CLI and a detached run pass); the
        keywords (``workspace=``, ``force=``, ``dry_run=``…, see ``RunKeywords``) build one instead.
        ``logs=False`` leaves out ``StepLog`` events (the log files are written all the same), which saves their
        cost for a consumer that shows no log lines; ``logs="last"`` keeps only the last line of each chunk read
        from a step (what a view of each step's latest line needs). ``secrets={"NAME": value}`` gives the values
        of the steps' declared secrets (``str`` or ``pipex.Secret``), before their own sources.

        A run in a background process is started by the daemon layer: ``pipex.daemon.start``."""
        return self._stream(functools.partial(self._prepare, pipeline, self.run_options(options, keywords)))

    def run_options(self, options: RunOptions | None, keywords: Mapping[str, Any]) -> RunOptions:
        """``options``, or the ``RunOptions`` the keyword conveniences describe (not both)."""
        if options is None:
            return RunOptions.build(self.environ, **keywords)
        if keywords:
            raise UsageError(
                "give a run's options either as a RunOptions or as keywords, not both: " + ", ".join(keywords),
                hint="dataclasses.replace(options, ...) changes fields of a RunOptions",
            )
        return options

    async def _stream(self, prepare: Callable[[], _Prepared]) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        try:
            prepared = prepare()  # raises before the first event
        except OSError as exc:  # the workdir cannot be written: full disk, a name too long, …
            raise from_os_error(exc, "preparing the workspace") from exc
        options = prepared.options
        on_lines = options.on_log_lines
        prepared.recorder = _recorder(prepared, options)
        emitter = Emitter(
            prepared.run_id,
            prepared.ws.name,
            loop,
            observer=prepared.recorder,
            batches=on_lines is not None,
        )
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
                        cancelled = True
                        self._stop_active("cancelled")
                        if getter.cancel() or getter.cancelled():
                            continue
                        event = getter.result()  # taken just before the cancel landed: delivered, not lost
                if isinstance(event, LogLines):
                    # Only with on_log_lines (the emitter hands chunks whole then). Called here, when the
                    # consumer asks for its next event, so every event before these lines has been handled.
                    assert on_lines is not None
                    on_lines(event)
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
        secrets: Mapping[str, str | Secret] | None = None,
        executor: ExecutorKind | None = None,
    ) -> AsyncIterator[Event]:
        """Run one step in ``workspace``: the step of a step file (or of a pipeline; ``step`` picks one), its
        inputs and ``inputs`` (``"[alias=]step"``) mounted from the workspace's last successful runs.
        ``ephemeral``: always runs, keeps no run and no state. ``stdout``/``stderr``: also write the step's
        standard output/error there, byte for byte, as it arrives. ``secrets``: values of the step's declared
        secrets by name (as ``run``'s). ``executor``: where it runs (default: ``.pipex.yml``'s, else local).
        Events as for ``run``."""
        # start-up: only exec needs it
        from pipex.engine.execstep import prepare_exec

        options = RunOptions(
            workspace=workspace,
            force=force or ephemeral,
            concurrency=1,
            env_file=Path(env_file) if env_file else None,
            pull=pull,
            logs=logs,
            executor=executor,
            environ=self.environ,
            secrets={name: Secret(value) for name, value in (secrets or {}).items()},
        )
        setup = prepare_exec(self, source, options, step=step, inputs=inputs, ephemeral=ephemeral)

        def prepare() -> _Prepared:
            prepared: _Prepared = setup(self._prepare)
            prepared.stdout = stdout
            prepared.stderr = stderr
            if ephemeral:  # keeps nothing: not in the workspace, not in a shared cache either
                prepared.store = None
            return prepared

        return self._stream(prepare)

    def run_sync(
        self, pipeline: Pipeline, options: RunOptions | None = None, **keywords: Unpack[RunKeywords]
    ) -> RunResult:
        """Run to the end and return the terminal record."""
        options = self.run_options(options, keywords)

        async def collect() -> RunResult:
            result: RunResult | None = None
            async for event in self.run(pipeline, options):
                if isinstance(event, PipelineEnd):
                    result = event.result
            assert result is not None
            return result

        return asyncio.run(collect())

    # -- internals ------------------------------------------------------------------------------------------
    def _prepare(self, pipeline: Pipeline, options: RunOptions, command: str = "pipex run") -> _Prepared:
        # start-up: `import pipex` stays cheap; a run loads the kits and the model here
        from pipex.kits.resolve import resolve_steps
        from pipex.model.handwritten.dotenv import load_dotenv

        cli_env = load_dotenv(options.env_file) if options.env_file else {}
        specs = resolve_steps(pipeline, cli_env=cli_env)
        if pipeline.scopes:  # --target etl / --force etl: every step of the sub-pipeline
            _check_scope_instances(pipeline, options)
            force = options.force if isinstance(options.force, bool) else pipeline.expand_ids(options.force)
            options = dataclasses.replace(options, target=pipeline.expand_ids(options.target), force=force)
        later = {s.id for s in specs if s.pipeline is not None}  # sub-pipelines whose steps are known at run time
        options.check([s.id for s in specs], {s.id for s in specs if s.fan_out is not None}, later)
        specs = select_steps(specs, options.target)
        ws = Workspace(self.workdir_for(pipeline), options.workspace or pipeline.id)
        runtime: Runtime | None = None
        executor: Executor | None = None
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
                # start-up: a dry run never reaps
                from pipex.runtime.reaper import reap

                reap(runtime, ws.workdir, ws.name)
                ws.clear_staging(runtime.remove_tree)
                executor = _executor(pipeline, options, runtime, self.environ)
        except BaseException:
            if lock is not None:
                lock.release()
            if owned and runtime is not None:
                runtime.close()
            raise
        env = dict(os.environ if self.environ is None else self.environ)
        try:
            secrets = self._secrets(specs, options, env, runtime)
        except BaseException:
            if lock is not None:
                lock.release()
            if owned and runtime is not None:
                runtime.close()
            raise
        env.update(cli_env)
        prepared = _Prepared(new_run_id(), pipeline, options, specs, ws, runtime, owned, lock, env, command)
        prepared.warnings = warnings
        prepared.secrets = secrets
        if any(spec.pipeline is not None for spec in specs):  # a sub-pipeline inlined once its list is known
            from pipex.engine.replan import Replanner  # start-up: only such a pipeline re-plans

            prepared.replan = Replanner(pipeline, cli_env, options.force)
        prepared.executor = executor
        try:
            prepared.store = _open_store(pipeline, options)
        except BaseException:
            if lock is not None:
                lock.release()
            if owned and runtime is not None:
                runtime.close()
            raise
        return prepared

    @staticmethod
    def _secrets(
        specs: Sequence[StepSpec], options: RunOptions, environ: Mapping[str, str], runtime: Runtime | None
    ) -> RunSecrets:
        """Every declared secret's value, before anything runs (``SecretMissing`` names what has none)."""
        if not any(spec.secrets for spec in specs):
            return RunSecrets()
        podman = any(s.source == "podman" for spec in specs for s in spec.secrets)
        store = runtime is None or (podman and runtime.info().libpod_api)
        return resolve(specs, options.secrets, environ, engine_store=store)

    async def _drive(self, p: _Prepared, options: RunOptions, emitter: Emitter) -> None:
        # start-up: `import pipex` stays cheap; only a run loads the scheduler
        from pipex.engine.fingerprints import Fingerprinter
        from pipex.engine.images import ImageResolver
        from pipex.engine.scheduler import Scheduler
        from pipex.runtime.labels import container_labels

        started = time.monotonic()
        fingerprinter = Fingerprinter(
            p.ws,
            read_only=options.dry_run,
            info=None if options.dry_run or p.runtime is None else p.runtime.info,
            secrets=p.secrets.by_step,
        )
        sched: Scheduler | None = None
        result: RunResult | None = None
        ctx: StepContext | None = None
        try:
            if p.executor is not None and not options.dry_run:
                if options.concurrency is None and p.executor.parallelism is not None:
                    options = dataclasses.replace(options, concurrency=p.executor.parallelism)
                ctx = StepContext(
                    executor=p.executor,
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
                    store=p.store,
                    secrets=p.secrets.by_step,
                    masker=p.secrets.masker or None,
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
                store=p.store,
                replan=p.replan,
            )
            if p.recorder is not None:
                sched.on_steps = p.recorder.expand
            sched.provided.update(p.provided)  # exec: inputs from the workspace's earlier runs
            if p.command == "pipex run" and not options.dry_run:
                sched.gates.remember(p.pipeline.source, options)  # what `pipex resume` runs again
            else:
                sched.gates.writable = False  # exec neither suspends nor resumes a pipeline's run
            self._active = sched
            self._loop = asyncio.get_running_loop()
            await emitter.emit_async(
                PipelineStart,
                pipeline=p.pipeline.id,
                steps=tuple(StepRef(s.id, s.name) for s in p.specs),
                dry_run=options.dry_run,
                resumed_from=sched.gates.resumed_from,
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
        except (PipexError, OSError) as exc:
            fault = exc if isinstance(exc, PipexError) else _os_fault(exc)
            line = f"{fault.message}; {fault.hint}" if fault.hint else fault.message
            result = RunResult(
                run_id=p.run_id,
                workspace=p.ws.name,
                status="failed",
                steps=tuple(sched.record.ordered()) if sched is not None else (),
                duration=time.monotonic() - started,
                metrics=sched.metrics() if sched is not None else Metrics(),
                failure_kind="engine",
                error=fault.message,
                errors=(RunError(None, "engine", "engine", line),),
                dry_run=options.dry_run,
                failure_source="engine",
            )
        finally:
            self._active = None
            if ctx is not None and ctx.running.creates and p.runtime is not None:
                # The backstop: whatever a step's own clean-up could not remove (a full disk, an engine that
                # failed a request) is removed here, each container on its own.
                from pipex.executors.halt import sweep

                left = await asyncio.to_thread(sweep, p.runtime, p.ws.workdir, p.ws.name, pid=os.getpid())
                if left.errors and result is not None:  # said, not raised: the next start reaps them
                    note = (
                        f"{len(left.errors)} container(s) could not be removed ({left.errors[0]}); "
                        "the next run removes them"
                    )
                    result = dataclasses.replace(
                        result, errors=(*result.errors, RunError(None, "engine", "engine", note))
                    )
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
                    errors=(RunError(None, "pipex", "pipex", "internal error"),),
                    dry_run=options.dry_run,
                    failure_source="pipex",
                )
            await emitter.emit_async(PipelineEnd, result=result)


def _executor(pipeline: Pipeline, options: RunOptions, runtime: Runtime, environ: Mapping[str, str] | None) -> Executor:
    """The run's executor: ``--executor`` else ``.pipex.yml``'s ``executor:``; Slurm's settings likewise."""
    from pipex.executors.factory import make_executor  # start-up: only a run that starts steps needs it

    kind = options.executor or pipeline.config.executor
    slurm = options.slurm or slurm_options(pipeline.config)
    return make_executor(kind, runtime, slurm, environ)


def slurm_options(config: ProjectConfig) -> SlurmOptions:
    """``.pipex.yml``'s ``slurm:`` as the executor's settings."""
    conf = config.slurm
    return SlurmOptions(
        partition=conf.partition,
        account=conf.account,
        qos=conf.qos,
        extra_args=tuple(conf.extra_args),
        poll_interval=conf.poll_interval,
        submit_rate=conf.submit_rate,
    )


def _os_fault(exc: OSError) -> PipexError:
    return from_os_error(exc, "running the pipeline")


class _Prepared:
    def __init__(
        self,
        run_id: str,
        pipeline: Pipeline,
        options: RunOptions,
        specs: list[StepSpec],
        ws: Workspace,
        runtime: Runtime | None,
        owned: bool,
        lock: Any,
        condition_env: dict[str, str],
        command: str = "pipex run",
    ) -> None:
        self.command = command  # "pipex run" or "pipex exec"
        self.run_id = run_id
        self.pipeline = pipeline
        self.options = options
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
        self.store: Store | None = None  # the shared cache: --cache-store, else .pipex.yml's cacheStore
        self.secrets = RunSecrets()  # the declared secrets' values, looked up before anything runs
        self.executor: Executor | None = None  # where the steps run (None: a dry run)
        self.replan: Replan | None = None  # sub-pipelines known at run time (subfanout.py)
        self.recorder: Recorder | None = None  # the run record's writer (a `pipex run` that is no dry run)


def _open_store(pipeline: Pipeline, options: RunOptions) -> Store | None:
    """The run's shared cache store (``None``: none configured). A dry run only looks entries up: it creates
    nothing, and a store that does not exist yet (a real run would create it) holds no entry."""
    root = options.cache_store
    if root is None:
        root = configured_cache_store(pipeline.config, pipeline.config_path)
    if root is None:
        return None
    from pipex.store import Store  # start-up: only a run with a cache store opens one

    if options.dry_run:
        try:
            return Store.open(root, create=False)
        except StoreError:
            return None
    return Store.open(root)


def _recorder(p: _Prepared, options: RunOptions) -> Recorder | None:
    """The pipeline-run record's writer, for a ``pipex run`` (a dry run writes nothing; ``exec`` is no run)."""
    if options.dry_run or p.command != "pipex run":
        return None
    from pipex.engine.recorder import Recorder  # start-up: dry runs and exec write no record

    return Recorder(p.ws, p.run_id, p.pipeline, p.specs, options)
