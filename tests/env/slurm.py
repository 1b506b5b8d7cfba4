"""A private single-node Slurm cluster for one test session (or a benchmark), after
/work/shared/slurm-test-recipe.md: munged, slurmctld and slurmd with their own ports, config, state, logs and
munge socket under one dir, all running as the test user (then slurmd runs only that user's jobs, which is all
the tests need). ``stop`` ends the daemons by PID and removes the dir, whatever happened; it is idempotent.

Clients find it through ``env()`` (``SLURM_CONF``; the daemons live in /usr/sbin, the tools in /usr/bin).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.env.users import SYSTEM_PATH, TestUser, as_user_argv, base_env, make_user_dir

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "mungekey")
START_TIMEOUT = 30.0
CPUS = 8  # more than the real cores (config_overrides): many tiny jobs at once, as a cluster would run them
_ports = iter(range(16817 + (os.getpid() % 200) * 2, 65000, 2))


class SlurmStartError(Exception):
    pass


def missing_binaries() -> list[str]:
    return [name for name in DAEMONS if shutil.which(name, path=SYSTEM_PATH) is None]


def _free_port_pair() -> int:
    for port in _ports:
        ok = True
        for p in (port, port + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return port
    raise SlurmStartError("no free port pair for slurmctld/slurmd")


CONF = """\
ClusterName=pipextest
SlurmctldHost={host}
SlurmctldPort={port}
SlurmdPort={port1}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.socket.2
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/slurmd-%n
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd-%n.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/log/jobcomp.txt
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MinJobAge=300
MailProg=/bin/true
SlurmdParameters=config_overrides
MessageTimeout=10
SlurmdTimeout=30
SlurmctldTimeout=30
ReturnToService=2
InactiveLimit=0
KillWait=5
Waittime=0
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class SlurmCluster:
    root: Path
    user: TestUser
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    startup_seconds: float = 0.0
    node: str = ""  # the single node's name (NodeName: this host's short name), set by start

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def _env(self) -> dict[str, str]:
        return {**base_env(self.user), **self.env()}

    def run(self, argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """A Slurm client command as the test user."""
        return subprocess.run(
            as_user_argv(self.user, argv),
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            check=False,
        )

    def start(self) -> None:
        began = time.monotonic()
        root = self.root
        make_user_dir(root, self.user, 0o755)
        for sub in ("etc", "munge", "state", "spool", "log", "run"):
            make_user_dir(root / sub, self.user, 0o700 if sub == "munge" else 0o755)
        (root / "munge").chmod(0o755)  # clients (the same user) reach the socket; munged wants 0755 or stricter
        port = _free_port_pair()
        host = self.node = socket.gethostname().split(".")[0]
        self.conf.write_text(
            CONF.format(host=host, port=port, port1=port + 1, user=self.user.name, root=root, cpus=CPUS)
        )
        self.conf.chmod(0o644)
        key = root / "munge" / "munge.key"
        self._check(["mungekey", "-c", "-k", str(key)])
        self._check(
            [
                "munged", "--force", "-S", str(root / "munge/munge.socket.2"), f"--key-file={key}",
                f"--pid-file={root}/run/munged.pid", f"--log-file={root}/log/munged.log",
                f"--seed-file={root}/munge/seed",
            ]
        )  # fmt: skip
        for name, argv in (("slurmctld", ["slurmctld", "-i", "-D"]), ("slurmd", ["slurmd", "-D"])):
            with (root / "log" / f"{name}.stdout").open("wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        as_user_argv(self.user, argv),
                        env=self._env(),
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd="/",
                        start_new_session=True,
                    )
                )
        while True:
            state = self.run(["sinfo", "-h", "-N", "-o", "%t"]).stdout.strip()
            if state == "idle":
                break
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() - began > START_TIMEOUT:
                raise SlurmStartError(f"slurm did not come up (node state {state!r}):\n{self.log_tail()}")
            time.sleep(0.1)
        self.startup_seconds = time.monotonic() - began

    def _check(self, argv: list[str]) -> None:
        done = subprocess.run(
            as_user_argv(self.user, argv),
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=30,
            cwd="/",
            check=False,
        )
        if done.returncode != 0:
            raise SlurmStartError(f"{argv[0]} failed: {done.stderr.strip()}")

    def log_tail(self) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log", "slurmctld.stdout", "slurmd.stdout", "munged.log"):
            with contextlib.suppress(OSError):
                lines = (self.root / "log" / name).read_text(errors="replace").splitlines()
                out.append(f"--- {name}\n" + "\n".join(lines[-15:]))
        return "\n".join(out)

    def jobs(self) -> list[str]:
        """``id|state|reason`` of the jobs still queued or running."""
        done = self.run(["squeue", "-h", "-o", "%i|%T|%r"])
        return [line for line in done.stdout.split() if line]

    def known_jobs(self) -> dict[str, tuple[str, str]]:
        """id → (state, name) of every job slurmctld still knows, finished ones too (until MinJobAge)."""
        done = self.run(["squeue", "-h", "-t", "all", "-o", "%i|%T|%j"])
        rows = (line.split("|") for line in done.stdout.split() if line)
        return {row[0]: (row[1], row[2]) for row in rows if len(row) == 3}

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        pidfile = self.root / "run" / "munged.pid"
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        self.procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)
