"""``pipex doctor``: how pipex finds the engine, what the engine can do, and how to fix what is wrong."""

from __future__ import annotations

import json as jsonlib
import sys
from typing import TYPE_CHECKING

import typer

from pipex.cli import options
from pipex.errors import RuntimeUnavailable, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from pipex.runtime.doctor import Report

EPILOG = options.epilog(
    [
        ("pipex doctor", "check the engine and this machine"),
        ("pipex --runtime docker doctor", "only consider Docker-API engines"),
        ("pipex --host unix:///run/podman/podman.sock doctor", ""),
        ("pipex doctor --json | jq '.checks[] | select(.status != \"ok\")'", ""),
    ],
    "Each check is ok, warn (works, but worse than it could) or fail (pipex cannot run), with its fix. "
    'Exit 0 when pipex can run (no fail), else 3. With --json: {"checks": list of {"name", "status", '
    '"detail", "fix"}, "summary": {"ok", "warn", "fail", "canRun"}}.',
)

_MARKS = {"ok": ("ok", "\x1b[32m"), "warn": ("warn", "\x1b[33m"), "fail": ("FAIL", "\x1b[1;31m")}


def doctor(
    ctx: typer.Context,
    executor: options.Executor = None,
    json: options.Json = False,
    workdir: options.Workdir = None,
) -> None:
    """Check the container engine and this machine, and say how to fix each problem."""
    opts = options.resolve(ctx, json=json, workdir=workdir)
    # start-up: `pipex doctor` loads this only when it runs
    from pipex.runtime.doctor import diagnose

    report = diagnose(opts.runtime or "auto", opts.host)
    if executor not in (None, "local", "slurm"):
        raise UsageError(f'unknown executor "{executor}"', hint="use local or slurm")
    if executor == "slurm":
        report = _with_slurm(report, opts.workdir)
    if opts.json:
        typer.echo(jsonlib.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        color = opts.color(sys.stdout)
        for check in report.checks:
            word, code = _MARKS[check.status]
            mark = f"{code}{word:<4}\x1b[0m" if color else f"{word:<4}"
            lines = check.detail.splitlines() or [""]
            typer.echo(f"{mark}  {check.name:<16} {lines[0]}")
            for line in lines[1:]:
                typer.echo(f"      {'':<16} {line.strip()}")
            if check.fix and check.status != "ok":
                typer.echo(f"      {'':<16} fix: {check.fix}")
        if report.can_run:
            warnings = report.count("warn")
            plural = "" if warnings == 1 else "s"
            typer.echo(f"pipex can run ({warnings} warning{plural})" if warnings else "pipex can run")
    if report.can_run:
        return
    if opts.json:
        raise typer.Exit(RuntimeUnavailable.exit_code)
    failed = report.count("fail")
    raise RuntimeUnavailable(
        f"pipex cannot run: {failed} check{'' if failed == 1 else 's'} failed",
        hint="apply the fixes of the checks marked FAIL above, then run `pipex doctor` again",
    )


def _with_slurm(report: Report, workdir: Path | None) -> Report:
    """The engine's checks plus Slurm's: tools, cluster, a workdir shared with the nodes."""
    # start-up: `pipex doctor` loads this only when it runs
    from pathlib import Path

    from pipex.engine.engine import Engine, slurm_options
    from pipex.executors.slurmdoctor import slurm_checks
    from pipex.model.project import find_project_config
    from pipex.runtime.doctor import Report

    config, _ = find_project_config(Path.cwd())
    checks = slurm_checks(Engine(workdir=workdir).workdir_for(), slurm_options(config))
    return Report((*report.checks, *checks))


def register(app: typer.Typer) -> None:
    app.command(epilog=EPILOG)(doctor)
