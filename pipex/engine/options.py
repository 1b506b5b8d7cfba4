"""The options of one run, validated once: the only carrier of them, from the CLI or the Python API to the engine,
and to a detached run's background process (as JSON: ``to_json``/``from_json``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from pipex.errors import UsageError
from pipex.model.suggest import did_you_mean

PullPolicy = Literal["always", "missing", "never"]

# StepLog events: every line (True), none (False), or the last line of each chunk read ("last": enough for a
# view of each step's latest line, at a fraction of the cost of a step printing hundreds of thousands of lines).
LogEvents = bool | Literal["last"]


class RunKeywords(TypedDict, total=False):
    """``Engine.run``'s keyword conveniences: each builds the ``RunOptions`` field of the same name."""

    workspace: str | None
    force: bool | Sequence[str]
    target: Sequence[str] | None
    concurrency: int | None
    dry_run: bool
    env_file: str | os.PathLike[str] | None
    timeout: float | None
    pull: PullPolicy
    explain: bool
    strict_limits: bool
    logs: LogEvents


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

    @classmethod
    def build(cls, environ: Mapping[str, str] | None = None, **keywords: Any) -> RunOptions:
        """From ``RunKeywords`` (lists for ``force``/``target``, a ``str`` path for ``env_file``)."""
        force = keywords.pop("force", False)
        target = keywords.pop("target", None)
        env_file = keywords.pop("env_file", None)
        return cls(
            force=force if isinstance(force, bool) else tuple(force),
            target=tuple(target or ()),
            env_file=Path(env_file) if env_file else None,
            environ=environ,
            **keywords,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON object ``from_json`` reads back (``environ`` is not part of it: a process has its own)."""
        return {
            "workspace": self.workspace,
            "force": self.force if isinstance(self.force, bool) else list(self.force),
            "target": list(self.target),
            "concurrency": self.concurrency,
            "dryRun": self.dry_run,
            "explain": self.explain,
            "envFile": None if self.env_file is None else str(self.env_file.absolute()),
            "timeout": self.timeout,
            "pull": self.pull,
            "strictLimits": self.strict_limits,
            "logs": self.logs,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> RunOptions:
        force = data["force"]
        return cls(
            workspace=data["workspace"],
            force=force if isinstance(force, bool) else tuple(force),
            target=tuple(data["target"]),
            concurrency=data["concurrency"],
            dry_run=data["dryRun"],
            explain=data["explain"],
            env_file=None if data["envFile"] is None else Path(data["envFile"]),
            timeout=data["timeout"],
            pull=data["pull"],
            strict_limits=data["strictLimits"],
            logs=data["logs"],
            environ=environ,
        )

    @property
    def slots(self) -> int:
        return self.concurrency or os.cpu_count() or 1

    def forced(self, step: str) -> bool:
        """``step`` (or an instance ``step[key]``) is forced: by ``--force``, ``--force step`` (all its instances)
        or ``--force 'step[key]'`` (that one)."""
        if self.force is True:
            return True
        if not isinstance(self.force, tuple):
            return False
        return step in self.force or ("[" in step and step.partition("[")[0] in self.force)

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
            # an instance (`--force 'convert[eu]'`): its step must exist; its keys are known only when it runs
            if step not in known and not (
                option == "--force" and step.endswith("]") and step.partition("[")[0] in known
            ):
                guess = did_you_mean(step, step_ids)
                raise UsageError(
                    f'{option}: unknown step "{step}"' + (f'; did you mean "{guess}"?' if guess else ""),
                    hint="the step ids are: " + ", ".join(step_ids[:20]) + (" …" if len(step_ids) > 20 else ""),
                )
