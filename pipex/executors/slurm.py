"""``SlurmExecutor``: each attempt of a step is one Slurm batch job running the step's container on a node.

The controller (this process) stays where it is: it resolves images and fingerprints, owns the workspace and
commits runs, as with ``LocalExecutor``. Per attempt, ``submit`` writes the job script (``slurmscript``) into a
job dir inside the attempt's staging dir (on the shared filesystem), ``run`` submits it with ``sbatch``, streams
the job's log files to ``output`` as they grow, and returns when the job's ``exit`` file appears (with the node
the job's ``node`` file names, on the ``Outcome``). One poller thread asks ``squeue`` about every job in flight
once per ``poll_interval``: a job Slurm no longer runs that left no ``exit`` file after a grace period (a file
may appear late on NFS) was lost — an ``EngineError``, which the step runner records as a failure (reason
``engine``) and retries like any other. ``stop`` cancels: the stops of one tick are gathered into one
``scancel``; the job's trap removes the container on the node.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipex.errors import EngineError, PipexError
from pipex.executors import slurmctl
from pipex.executors.base import Outcome, Output, Task
from pipex.executors.slurmconf import SlurmOptions
from pipex.executors.slurmscript import env_file, job_script
from pipex.runtime.base import LogChunk, Runtime, RuntimeInfo, Stream

JOB_DIR = ".slurm"  # inside the attempt's staging dir; removed by cleanup, before the commit
FILE_TICK = 0.1  # seconds between two looks at a job's files (cheap: a stat or two)
TIME_MARGIN = 60.0  # seconds added to timeoutSec for --time: pipex's own timeout fires first
STOP_GATHER = 0.05  # seconds the stops of one Ctrl-C are gathered for one scancel
PARALLEL_JOBS = 256  # attempts in flight when --concurrency is not given: the cluster queues the rest
# sbatch calls at once: a fan-out's jobs reach the queue sooner than one call after the other (each is a
# process and a round trip to slurmctld), without a burst of hundreds of processes at a busy slurmctld.
SUBMIT_PARALLEL = 4
READ_CHUNK = 1 << 20
# A node's name as a job reports it: a host name (letters, digits, '.', '-', '_'; at most 253 characters, DNS's
# limit). Anything else in the file is not believed: the name goes on events, records and terminals.
_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


@dataclass(slots=True)
class _Job:
    dir: Path
    name: str
    job_id: str | None = None
    stopped: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Poller:
    """One ``squeue`` per tick for all the jobs in flight; each ``run`` reads the last answer."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._watched: set[str] = set()
        self._states: dict[str, slurmctl.JobState] = {}
        self._seen: set[str] = set()
        self._answered = 0  # squeue answers so far (a job absent from one taken after its submit is gone)
        self._thread: threading.Thread | None = None
        self.error: PipexError | None = None

    def watch(self, job_id: str) -> int:
        """Start watching; the number of the next answer that knows of the job (if it still exists)."""
        with self._lock:
            self._watched.add(job_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="pipex-squeue", daemon=True)
                self._thread.start()
            return self._answered + 1

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._watched.discard(job_id)
            self._states.pop(job_id, None)
            self._seen.discard(job_id)

    def state(self, job_id: str, since: int) -> tuple[slurmctl.JobState | None, bool]:
        """(the job's last known state or None, whether an answer taken after its submit has been read)."""
        with self._lock:
            return self._states.get(job_id), self._answered >= since

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._watched:
                    self._thread = None
                    return
            try:
                states = slurmctl.squeue()
                self.error = None
            except PipexError as exc:  # said by the waiting runs only if it lasts (see SlurmExecutor.run)
                self.error = exc
                time.sleep(self.interval)
                continue
            with self._lock:
                for job_id in self._watched:
                    self._states[job_id] = states.get(job_id, slurmctl.JobState("GONE", ""))
                self._answered += 1
            time.sleep(self.interval)


class _Tail:
    """Hands what the job wrote to its ``stdout``/``stderr`` files to ``output``, as the files grow."""

    def __init__(self, job_dir: Path) -> None:
        self.files = {Stream.STDOUT: job_dir / "stdout", Stream.STDERR: job_dir / "stderr"}
        self.offsets = {Stream.STDOUT: 0, Stream.STDERR: 0}

    def pump(self, output: Output) -> None:
        for stream, path in self.files.items():
            try:
                with path.open("rb") as fh:
                    fh.seek(self.offsets[stream])
                    while data := fh.read(READ_CHUNK):
                        self.offsets[stream] += len(data)
                        output(LogChunk(stream, data))
            except FileNotFoundError:
                continue


def _read_code(path: Path) -> int | None:
    """An exit code the job wrote (hostile bytes: only a small number is believed); ``None`` while there is none."""
    data = _read_bounded(path, 16)
    if data is None:
        return None
    text = data.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() and int(text) < 256 else -1


def read_node(path: Path) -> str | None:
    """The node name the job wrote (hostile bytes: a regular file, not a link, read up to a bound, a host name's
    characters and length); ``None`` when there is none or it is not one."""
    data = _read_bounded(path, 256)  # a valid name and its newline fit: anything longer is refused below
    if data is None:
        return None
    text = data.removesuffix(b"\n").decode("ascii", "replace")
    return text if _NODE_NAME.fullmatch(text) else None


def _read_bounded(path: Path, limit: int) -> bytes | None:
    """At most ``limit`` bytes of a file a job wrote on the shared filesystem: ``None`` when it does not exist (yet),
    ``b""`` when it is not a regular file (a link, a FIFO: never followed, never waited on) or cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:  # a symbolic link (ELOOP), unreadable
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, limit)
    except OSError:
        return b""
    finally:
        os.close(fd)


class SlurmExecutor:
    """Blocking calls from the engine's worker threads, like ``LocalExecutor``; ``runtime`` is the controller's
    own engine, used for what happens on this host (``info`` for the records, ownership and removal of trees
    written by containers: the same user's rootless Podman, the same shared filesystem)."""

    parallelism = PARALLEL_JOBS
    # A job's container starts on a node, some time after the job is seen running: ``started`` is never called,
    # so a step never mounts an upstream run before it is committed.
    tells_started = False

    def __init__(self, runtime: Runtime, options: SlurmOptions, environ: dict[str, str] | None = None) -> None:
        slurmctl.require_tools()
        self.runtime = runtime
        self.options = options
        env = os.environ if environ is None else environ
        self.runtime_dir = env.get("XDG_RUNTIME_DIR")
        self.lost_grace = max(10.0, 3 * options.poll_interval)
        self._poller = _Poller(options.poll_interval)
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._submit_lock = threading.Lock()
        self._submitting = threading.BoundedSemaphore(SUBMIT_PARALLEL)
        self._last_submit = 0.0
        self._cancel_lock = threading.Lock()
        self._to_cancel: set[str] = set()
        self._cancel_wake = threading.Event()
        self._canceller: threading.Thread | None = None

    def info(self) -> RuntimeInfo:
        return self.runtime.info()

    # -- one attempt ------------------------------------------------------------------------------------------
    def submit(self, task: Task) -> str:
        job_dir = task.staging / JOB_DIR
        job_dir.mkdir(mode=0o700)
        env_path = job_dir / "env"
        fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(env_file(task.container))
        (job_dir / "job.sh").write_text(job_script(task, job_dir, self.runtime_dir), encoding="utf-8")
        handle = str(job_dir)
        with self._lock:
            self._jobs[handle] = _Job(job_dir, _job_name(task.step))
        return handle

    def run(
        self,
        handle: str,
        task: Task,
        output: Output,
        *,
        cancelled: Callable[[], bool],
        interrupted: Callable[[], bool],
        placed: Callable[[str], None] | None = None,
        started: Callable[[], None] | None = None,  # never called: see tells_started
    ) -> Outcome:
        job = self._jobs[handle]
        if task.setup is None:
            return self._run(job, task, output, cancelled, placed)
        # The setup phase's exclusive caches are held for the whole job: its setup runs on the node.
        with task.setup.exclusive() as held:
            if not held:
                return Outcome(None, "start") if cancelled() else Outcome(1, "setup")
            return self._run(job, task, output, cancelled, placed)

    def _run(
        self,
        job: _Job,
        task: Task,
        output: Output,
        cancelled: Callable[[], bool],
        placed: Callable[[str], None] | None,
    ) -> Outcome:
        if cancelled() or job.stopped:
            return Outcome(None, "start")
        job_id = self._sbatch(job, task)
        with job.lock:
            job.job_id = job_id
            stopped = job.stopped
        if stopped:
            self._cancel(job_id)
        if placed is not None:
            placed(job_id)
        since = self._poller.watch(job_id)
        tail = _Tail(job.dir)
        ended_at: float | None = None
        try:
            while True:
                time.sleep(FILE_TICK)
                tail.pump(output)
                code = _read_code(job.dir / "exit")
                if code is None:
                    setup_code = _read_code(job.dir / "setup-exit")
                    if setup_code is not None:
                        tail.pump(output)
                        output.flush_lines()
                        return Outcome(setup_code, "setup", node=read_node(job.dir / "node"))
                else:
                    tail.pump(output)
                    output.flush_lines()
                    if code < 0:
                        raise EngineError(f"slurm job {job_id} wrote an unreadable exit status")
                    return Outcome(code, node=read_node(job.dir / "node"))
                state, current = self._poller.state(job_id, since)
                if not current or state is None or state.active:
                    ended_at = None
                    continue
                # Slurm says the job is over and no exit file is there (yet: NFS may show it late).
                if job.stopped:
                    output.flush_lines()
                    return Outcome(None, node=read_node(job.dir / "node"))  # none if it was cancelled queued
                now = time.monotonic()
                if ended_at is None:
                    ended_at = now
                elif now - ended_at >= self.lost_grace:
                    output.flush_lines()
                    what = "left the queue" if state.state == "GONE" else f"ended {state.state}"
                    raise EngineError(
                        f"slurm job {job_id} {what} without an exit status (lost)",
                        hint=f"see {job.dir / 'job.out'} and the node's slurmd log",
                    )
        finally:
            self._poller.forget(job_id)

    def _sbatch(self, job: _Job, task: Task) -> str:
        script = (job.dir / "job.sh").read_text(encoding="utf-8")
        rate = self.options.submit_rate
        if rate:  # each call takes the next slot of the rate; the calls themselves may overlap
            with self._submit_lock:
                at = max(time.monotonic(), self._last_submit + 1.0 / rate)
                self._last_submit = at
            time.sleep(max(0.0, at - time.monotonic()))
        with self._submitting:
            return slurmctl.sbatch(script, sbatch_options(task, job, self.options))

    # -- stopping ---------------------------------------------------------------------------------------------
    def stop(self, handle: str, *, kill: bool = False) -> None:
        job = self._jobs.get(handle)
        if job is None:
            return
        with job.lock:
            job.stopped = True
            job_id = job.job_id
        if job_id is not None:
            self._cancel(job_id)

    def _cancel(self, job_id: str) -> None:
        """Queue a cancel; the canceller sends the cancels queued within ``STOP_GATHER`` in one ``scancel``."""
        with self._cancel_lock:
            self._to_cancel.add(job_id)
            if self._canceller is None:
                self._canceller = threading.Thread(target=self._cancel_loop, name="pipex-scancel", daemon=True)
                self._canceller.start()
            self._cancel_wake.set()

    def _cancel_loop(self) -> None:
        while True:
            self._cancel_wake.wait()
            time.sleep(STOP_GATHER)
            with self._cancel_lock:
                ids, self._to_cancel = self._to_cancel, set()
                self._cancel_wake.clear()
            with contextlib.suppress(PipexError):  # a job that ended meanwhile; the lost check covers the rest
                slurmctl.scancel(ids)

    def cleanup(self, handle: str) -> None:
        with self._lock:
            job = self._jobs.pop(handle, None)
        if job is None:
            return
        state, _ = self._poller.state(job.job_id, 0) if job.job_id else (None, False)
        if job.job_id is not None and (state is None or state.active) and not (job.dir / "exit").exists():
            with contextlib.suppress(PipexError):
                slurmctl.scancel([job.job_id])  # a run that ended by an error must not leave its job queued
        shutil.rmtree(job.dir, ignore_errors=True)

    def remove_tree(self, path: Path) -> None:
        self.runtime.remove_tree(path)

    def normalize_ownership(self, path: Path, uid: int, gid: int, *, image: str) -> None:
        self.runtime.normalize_ownership(path, uid, gid, image=image)


def _job_name(step: str) -> str:
    return "pipex-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in step)[:64]


def sbatch_options(task: Task, job: _Job, options: SlurmOptions) -> list[str]:
    """pipex's sbatch options for one attempt, then ``.pipex.yml``'s ``extraArgs``, then the step's own."""
    out = [
        f"--job-name={job.name}",
        f"--output={job.dir / 'job.out'}",
        f"--chdir={job.dir}",
        "--no-requeue",  # pipex retries a failed attempt itself; a requeued job would run it twice
    ]
    partition = (task.slurm.partition if task.slurm else None) or options.partition
    for flag, value in (("partition", partition), ("account", options.account), ("qos", options.qos)):
        if value:
            out.append(f"--{flag}={value}")
    res = task.container.resources
    if res.cpus is not None:
        out.append(f"--cpus-per-task={max(1, math.ceil(res.cpus))}")
    if res.memory is not None:
        out.append(f"--mem={max(1, math.ceil(res.memory / (1 << 20)))}M")
    if task.timeout is not None:
        out.append(f"--time={max(1, math.ceil((task.timeout + TIME_MARGIN) / 60))}")
    return [*out, *options.extra_args, *(task.slurm.extra_args if task.slurm else ())]
