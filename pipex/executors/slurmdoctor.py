"""``pipex doctor --executor slurm``: Slurm's tools are here, the cluster answers with a node to run on, and the
workdir is shared with the nodes (a tiny job writes a probe file there that this host then reads)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
from pathlib import Path

from pipex.executors.slurmconf import SlurmOptions
from pipex.runtime.doctor import Check, Status

PROBE_TIMEOUT = 120.0  # the probe job may wait in the queue a while on a busy cluster


def _run(argv: list[str], stdin: str | None = None, timeout: float = 30.0) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    text = (done.stdout + done.stderr).strip()
    return done.returncode, "".join(c if c.isprintable() or c == "\n" else "?" for c in text)[-300:]


def slurm_checks(workdir: Path, options: SlurmOptions) -> list[Check]:
    missing = [tool for tool in ("sbatch", "squeue", "scancel", "sinfo") if shutil.which(tool) is None]
    if missing:
        fix = "install Slurm's client tools (Debian: apt install slurm-client) and its config on this host"
        return [Check("slurm tools", "fail", f"not on PATH: {', '.join(missing)}", fix)]
    checks = [Check("slurm tools", "ok", "sbatch, squeue, scancel and sinfo found")]
    where = [f"--partition={options.partition}"] if options.partition else []
    code, out = _run(["sinfo", "--noheader", "--format=%t", *where])
    if code != 0:
        checks.append(Check("slurm cluster", "fail", f"sinfo failed: {out}", "is slurmctld up? check SLURM_CONF"))
        return checks
    states = out.split()
    usable = [s for s in states if s.rstrip("*~#") in ("idle", "mix", "alloc")]
    if not usable:
        detail = f"no node can take jobs (states: {', '.join(states) or 'none'})"
        checks.append(
            Check("slurm cluster", "fail", detail, "bring a node up: scontrol update NodeName=… State=RESUME")
        )
        return checks
    idle = sum(s.rstrip("*~#") in ("idle", "mix") for s in states)
    status: Status = "ok" if idle else "warn"
    checks.append(Check("slurm cluster", status, f"{len(usable)} node(s) up, {idle} with free CPUs", None))
    checks.append(_shared_workdir(workdir, options))
    return checks


def _shared_workdir(workdir: Path, options: SlurmOptions) -> Check:
    fix = "put the workdir on a filesystem every node mounts at the same path (--workdir, .pipex.yml workdir:)"
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return Check("shared workdir", "fail", f"cannot create {workdir}: {exc.strerror}", fix)
    token = secrets.token_hex(8)
    probe = workdir / f".pipex-doctor-{token}"
    flags = [f"--{k}={v}" for k, v in (("partition", options.partition), ("account", options.account)) if v]
    flags += list(options.extra_args)
    script = f"#!/bin/sh\necho {token} > '{probe}'\n"
    argv = ["sbatch", "--parsable", "--wait", "--job-name=pipex-doctor", "--output=/dev/null", *flags]
    try:
        code, out = _run(argv, stdin=script, timeout=PROBE_TIMEOUT)
        if code != 0:
            return Check("shared workdir", "fail", f"the probe job failed: {out}", "see `sbatch` above")
        try:
            seen = probe.read_text().strip()
        except OSError:
            seen = ""
        if seen != token:
            return Check("shared workdir", "fail", f"a job's file in {workdir} is not visible here", fix)
        return Check("shared workdir", "ok", f"a job wrote into {workdir} and this host read it")
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
