"""The Slurm executor through the engine against a fake Slurm: ``sbatch``/``squeue``/``scancel`` scripts on PATH
that keep their jobs in a state dir and end each job at once (its exit file written, as the real job script
does). What is checked: the job id ``sbatch`` answered reaches the events (``step_job`` per attempt, ``job`` on
``step_end``), the run's record (``meta.json``, what ``pipex inspect`` shows) and the plain view; so does the node
the job says it ran on (``node`` on ``step_end`` and in the record), unless what it wrote is no host name."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from pipex.cli.reporters.plain import PlainReporter
from pipex.engine.events import StepEnd, StepJob, StepLog
from pipex.executors.slurmconf import SlurmOptions
from pipex.testing import TestResult, run
from tests.unit.engine.test_engine_support import of, write

# sbatch --parsable: a new id per call; the job "runs" at once: it writes its node file (the state dir's
# `node-bytes` verbatim, else a link to `node-link`, else a FIFO if `node-fifo` exists, else "node<id>"), its log
# and its exit code (the next one of the state dir's `codes` file, else 0) into its job dir (--chdir), the files
# the real job script writes.
SBATCH = """
import os, pathlib, sys
state = pathlib.Path(os.environ["FAKE_SLURM"])
args = sys.argv[1:]
assert "--parsable" in args, args
job_dir = pathlib.Path(next(a.split("=", 1)[1] for a in args if a.startswith("--chdir=")))
assert "podman run" in sys.stdin.read()
jobs = state / "jobs"
jobs.mkdir(exist_ok=True)
job_id = str(4100 + len(list(jobs.iterdir())))
codes_file = state / "codes"
codes = codes_file.read_text().split() if codes_file.exists() else []
code = codes.pop(0) if codes else "0"
codes_file.write_text(" ".join(codes))
if (state / "node-bytes").exists():
    (job_dir / "node").write_bytes((state / "node-bytes").read_bytes())
elif (state / "node-link").exists():
    (job_dir / "node").symlink_to(state / "node-link")
elif (state / "node-fifo").exists():
    os.mkfifo(job_dir / "node")
else:
    (job_dir / "node").write_text(f"node{job_id}\\n")
(job_dir / "stdout").write_text(f"hello from job {job_id}\\n")
if (state / "exit-link").exists():  # a link to a file holding a code: never followed
    (job_dir / "exit").symlink_to(state / "exit-link")
elif (state / "exit-fifo").exists():  # never opened for a blocking read
    os.mkfifo(job_dir / "exit")
else:
    (job_dir / "exit.tmp").write_text(code + "\\n")
    os.rename(job_dir / "exit.tmp", job_dir / "exit")
(jobs / job_id).write_text("COMPLETED")
print(job_id + ";fake")
"""

SQUEUE = """
import os, pathlib
jobs = pathlib.Path(os.environ["FAKE_SLURM"]) / "jobs"
for job in sorted(jobs.iterdir()) if jobs.exists() else ():
    print(f"{job.name}|{job.read_text()}|node1")
"""

SCANCEL = """
import os, pathlib, sys
with open(pathlib.Path(os.environ["FAKE_SLURM"]) / "cancelled", "a") as fh:
    fh.write(" ".join(sys.argv[1:]) + "\\n")
"""

PIPELINE = """
id: jobs
steps:
  - id: flaky
    image: alpine:3.20
    cmd: [sh, -c, "echo hi"]
    retries: 1
  - id: after
    image: alpine:3.20
    cmd: [sh, -c, "echo after"]
    inputs: [{step: flaky}]
"""


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "slurm"
    bin_dir = state / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in (("sbatch.py", SBATCH), ("squeue", SQUEUE), ("scancel", SCANCEL)):
        tool = bin_dir / name
        tool.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        tool.chmod(0o755)
    # when each sbatch call began, taken by a shell (a Python start-up would add its own, uneven delay)
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ndate +%s.%N >> "$FAKE_SLURM/calls"\nexec {bin_dir}/sbatch.py "$@"\n')
    (bin_dir / "sbatch").chmod(0o755)
    monkeypatch.setenv("FAKE_SLURM", str(state))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return state


def slurm_run(project: Path, workdir: Path) -> TestResult:
    return run(project, workdir=workdir, executor="slurm", slurm=SlurmOptions(poll_interval=0.05))


def meta(result: TestResult, step: str) -> dict[str, object]:
    run_id = result.outcome(step).run_id
    data: dict[str, object] = json.loads((result.workdir / "jobs" / "runs" / f"{run_id}" / "meta.json").read_text())
    return data


def test_each_attempt_s_job_id_reaches_the_events_and_the_final_one_the_record(
    fake_slurm: Path, tmp_path: Path
) -> None:
    (fake_slurm / "codes").write_text("1")  # the first job fails: flaky's retry is a second job
    write(tmp_path / "p", PIPELINE)
    result = slurm_run(tmp_path / "p", tmp_path / "wd")
    assert result.status == "success"
    assert [(e.step.id, e.attempt, e.job) for e in of(result, StepJob)] == [
        ("flaky", 1, "4100"),
        ("flaky", 2, "4101"),
        ("after", 1, "4102"),
    ]
    assert [(e.step.id, e.job) for e in of(result, StepEnd)] == [("flaky", "4101"), ("after", "4102")]
    assert of(result, StepEnd, "flaky")[0].to_json()["job"] == "4101"
    assert of(result, StepJob, "after")[0].to_json()["job"] == "4102"
    assert (meta(result, "flaky")["job"], meta(result, "after")["job"]) == ("4101", "4102")
    # the node each final attempt's job said it ran on: on step_end and in the record (`pipex inspect` shows it)
    assert [(e.step.id, e.node) for e in of(result, StepEnd)] == [("flaky", "node4101"), ("after", "node4102")]
    assert of(result, StepEnd, "after")[0].to_json()["node"] == "node4102"
    assert (meta(result, "flaky")["node"], meta(result, "after")["node"]) == ("node4101", "node4102")
    # the logs the job wrote into its job dir are the step's, read from the shared files
    assert [e.line for e in of(result, StepLog, "after")] == ["hello from job 4102"]
    # every id pipex put on an event is one the (fake) cluster knows
    assert {e.job for e in of(result, StepJob)} == {p.name for p in (fake_slurm / "jobs").iterdir()}


def test_each_job_id_is_a_line_of_the_plain_view(fake_slurm: Path, tmp_path: Path) -> None:
    write(tmp_path / "p", PIPELINE)
    result = slurm_run(tmp_path / "p", tmp_path / "wd")
    out = io.StringIO()
    reporter = PlainReporter(out, workspace="jobs")
    for event in result.events:
        reporter.handle(event)
    reporter.close()
    assert [line for line in out.getvalue().splitlines() if "job 41" in line] == [
        "· flaky  job 4100",
        "· after  job 4101",
    ]
    # each end line names the node its job ran on (after the duration, which varies)
    ends = [re.sub(r"  \S+s on ", "  <duration> on ", line) for line in out.getvalue().splitlines()]
    assert [line for line in ends if " on " in line] == [
        "✓ flaky  <duration> on node4100",
        "✓ after  <duration> on node4101",
    ]


def hostile(state: Path, kind: str) -> None:
    """What a job may leave as its node file instead of a host name (the fake sbatch writes it)."""
    if kind == "link":  # a link to a file holding a valid name: never followed
        (state / "node-link").write_text("node9\n")
    elif kind == "fifo":  # never opened for a blocking read
        (state / "node-fifo").touch()
    else:
        data = {
            "too long": b"n" * 254 + b"\n",
            "way too long": b"n" * 100_000,
            "escape": b"node1\x1b[31m\n",
            "space": b"node 1\n",
            "two lines": b"node1\nnode2\n",
            "non-ascii": "nöde\n".encode(),
            "leading dot": b".node\n",
            "empty": b"",
        }[kind]
        (state / "node-bytes").write_bytes(data)


@pytest.mark.parametrize(
    "kind",
    ["too long", "way too long", "escape", "space", "two lines", "non-ascii", "leading dot", "empty", "link", "fifo"],
)
def test_a_node_file_that_holds_no_host_name_is_ignored(fake_slurm: Path, tmp_path: Path, kind: str) -> None:
    hostile(fake_slurm, kind)
    write(tmp_path / "p", PIPELINE)
    result = slurm_run(tmp_path / "p", tmp_path / "wd")
    assert result.status == "success"
    assert [(e.step.id, e.node) for e in of(result, StepEnd)] == [("flaky", None), ("after", None)]
    assert "node" not in of(result, StepEnd, "flaky")[0].to_json()
    assert "node" not in meta(result, "flaky")


@pytest.mark.parametrize("kind", ["exit-link", "exit-fifo"])
def test_an_exit_file_that_is_not_a_regular_file_fails_the_step_without_a_hang(
    fake_slurm: Path, tmp_path: Path, kind: str
) -> None:
    (fake_slurm / kind).write_text("0\n")  # the link's target says success: it must not be believed
    write(tmp_path / "p", "id: x\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [sh, -c, 'echo hi']}\n")
    result = slurm_run(tmp_path / "p", tmp_path / "wd")
    assert result.status == "failed"
    assert [(e.step.id, e.status) for e in of(result, StepEnd)] == [("a", "failure")]


def test_the_longest_host_name_is_believed(fake_slurm: Path, tmp_path: Path) -> None:
    name = "n" + "-" * 251 + "9"  # 253 characters: DNS's limit
    (fake_slurm / "node-bytes").write_text(name + "\n")
    write(tmp_path / "p", PIPELINE)
    result = slurm_run(tmp_path / "p", tmp_path / "wd")
    assert [e.node for e in of(result, StepEnd)] == [name, name]
    assert meta(result, "after")["node"] == name


FAN = """
id: fan
steps:
  - id: s
    image: alpine:3.20
    matrix: {n: ["1", "2", "3", "4", "5", "6"]}
    cmd: [sh, -c, "echo ${{ matrix.n }}"]
"""


def test_submit_rate_spaces_the_sbatch_calls_of_a_fan_out(fake_slurm: Path, tmp_path: Path) -> None:
    write(tmp_path / "p", FAN)
    result = run(tmp_path / "p", workdir=tmp_path / "wd", executor="slurm",
                 slurm=SlurmOptions(poll_interval=0.05, submit_rate=2))  # fmt: skip
    assert result.status == "success"
    assert len(of(result, StepJob)) == 6
    calls = sorted(float(t) for t in (fake_slurm / "calls").read_text().split())
    # 2 per second at most: the sixth call 2.5 s after the first (less what a loaded host delays a process start
    # by); without the pacing, the four calls at once would all be over in well under a second
    assert calls[-1] - calls[0] >= 1.5, calls


def test_a_local_run_has_no_job(tmp_path: Path) -> None:
    write(tmp_path / "p", PIPELINE)
    result = run(tmp_path / "p", workdir=tmp_path / "wd")
    assert result.status == "success"
    assert of(result, StepJob) == []
    assert [e.job for e in of(result, StepEnd)] == [None, None]
    assert "job" not in of(result, StepEnd, "flaky")[0].to_json()
    assert "job" not in meta(result, "flaky")
    assert [e.node for e in of(result, StepEnd)] == [None, None]  # where a local step ran is this host
    assert "node" not in of(result, StepEnd, "flaky")[0].to_json()
    assert "node" not in meta(result, "flaky")
