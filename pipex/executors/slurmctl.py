"""Slurm's command-line tools as pipex uses them: ``sbatch --parsable`` (script on stdin), one ``squeue`` for all
of a user's jobs, one ``scancel`` for many jobs. Never ``sacct``: without slurmdbd it answers nothing and exits 0.
Every call is bounded in time; failures become ``pipex.errors`` with the tool's own last line."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipex.errors import EngineError, RuntimeUnavailable

CALL_TIMEOUT = 60.0  # a slurmctld under load may be slow, but never this slow
TOOLS = ("sbatch", "squeue", "scancel")
# States in which a job may still run (or is being torn down: its processes may still be alive).
ACTIVE = frozenset(
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "RESIZING", "REQUEUED",
        "REQUEUE_FED", "REQUEUE_HOLD", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class JobState:
    state: str  # squeue's %T: PENDING, RUNNING, COMPLETED, CANCELLED, …
    node: str  # %N: the node(s), empty while pending

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def require_tools() -> None:
    missing = missing_tools()
    if missing:
        raise RuntimeUnavailable(
            f"executor slurm: {', '.join(missing)} not found on PATH",
            hint="run pipex on a host of the cluster with Slurm's client tools, or use --executor local",
        )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    shown = lines[-1] if lines else "no output"
    return "".join(c if c.isprintable() else "?" for c in shown)[:300]


def _call(argv: Sequence[str], stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            list(argv), input=stdin, check=False, capture_output=True, text=True, timeout=CALL_TIMEOUT, errors="replace"
        )
    except FileNotFoundError as exc:
        raise RuntimeUnavailable(f"executor slurm: {argv[0]} not found", hint="install Slurm's client tools") from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"{argv[0]} did not answer within {CALL_TIMEOUT:g} s", hint="is slurmctld up?") from exc
    if done.returncode != 0:
        raise EngineError(f"{argv[0]} failed: {_last_line(done.stderr or done.stdout)}")
    return done.stdout


def sbatch(script: str, options: Sequence[str]) -> str:
    """Submit ``script`` (on stdin); the job id."""
    out = _call(["sbatch", "--parsable", *options], stdin=script)
    job_id = out.strip().split(";", 1)[0]
    if not job_id.isdigit():
        raise EngineError(f"sbatch answered no job id: {_last_line(out)}")
    return job_id


def squeue() -> dict[str, JobState]:
    """Every job of this user that slurmctld still knows (finished ones until MinJobAge), by id."""
    out = _call(["squeue", "--me", "--noheader", "--states=all", "--format=%i|%T|%N"])
    jobs: dict[str, JobState] = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3 and parts[0]:
            jobs[parts[0]] = JobState(parts[1], parts[2])
    return jobs


def scancel(job_ids: Iterable[str]) -> None:
    """Cancel the jobs in one call. Always the plain cancel (SIGTERM, SIGKILL after KillWait), even for a kill:
    the job script's trap must get to remove the container, which a SIGKILL of the script would skip."""
    ids = sorted(set(job_ids), key=int)
    if ids:
        _call(["scancel", *ids])
