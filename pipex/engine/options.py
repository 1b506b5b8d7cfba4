"""The options of one run, validated once (they come from the CLI, the Python API or a detached run's file)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipex.errors import UsageError
from pipex.model.suggest import did_you_mean

PullPolicy = Literal["always", "missing", "never"]

# StepLog events: every line (True), none (False), or the last line of each chunk read ("last": enough for a
# view of each step's latest line, at a fraction of the cost of a step printing hundreds of thousands of lines).
LogEvents = bool | Literal["last"]


@dataclass(frozen=True, slots=True)
class RunOptions:
    workspace: str | None = None
    force: bool | tuple[str, ...] = False  # True: every step; a tuple: those steps
    target: tuple[str, ...] = ()
    concurrency: int | None = None  # None: number of CPUs
    dry_run: bool = False
    explain: bool = False
    env_file: Path | None = None
    timeout: float | None = None
    pull: PullPolicy = "missing"
    strict_limits: bool = False
    logs: LogEvents = True  # StepLog events (the log files are always written)
    environ: Mapping[str, str] | None = field(default=None, compare=False)

    @property
    def slots(self) -> int:
        return self.concurrency or os.cpu_count() or 1

    def forced(self, step: str) -> bool:
        return self.force is True or (isinstance(self.force, tuple) and step in self.force)

    def check(self, step_ids: Sequence[str]) -> None:
        """Unknown ids in --target/--force are errors with a suggestion (improved: silently ignored before)."""
        if self.concurrency is not None and self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1", hint="e.g. --concurrency 4")
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")
        if self.pull not in ("always", "missing", "never"):
            raise UsageError(f'unknown pull policy "{self.pull}"', hint="use always, missing or never")
        known = set(step_ids)
        named = [("--target", s) for s in self.target]
        if isinstance(self.force, tuple):
            named += [("--force", s) for s in self.force]
        for option, step in named:
            if step not in known:
                guess = did_you_mean(step, step_ids)
                raise UsageError(
                    f'{option}: unknown step "{step}"' + (f'; did you mean "{guess}"?' if guess else ""),
                    hint="the step ids are: " + ", ".join(step_ids[:20]) + (" …" if len(step_ids) > 20 else ""),
                )
