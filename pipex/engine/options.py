"""The options of one run, validated once: the only carrier of them, from the CLI or the Python API to the engine,
and to a detached run's background process (as JSON: ``to_json``/``from_json``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from pipex.engine.events import LogLines
from pipex.errors import UsageError
from pipex.executors.slurmconf import SlurmOptions
from pipex.model.secret import VARIABLE, Secret
from pipex.model.suggest import did_you_mean

PullPolicy = Literal["always", "missing", "never"]
ExecutorKind = Literal["local", "slurm"]
EXECUTORS: tuple[ExecutorKind, ...] = ("local", "slurm")

# StepLog events: every line (True), none (False), or the last line of each chunk read ("last": enough for a
# view of each step's latest line, at a fraction of the cost of a step printing hundreds of thousands of lines).
LogEvents = bool | Literal["last"]

__all__ = ["EXECUTORS", "ExecutorKind", "LogEvents", "PullPolicy", "RunKeywords", "RunOptions", "SlurmOptions"]


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
    cache_store: str | os.PathLike[str] | None
    secrets: Mapping[str, str | Secret]
    approve: Sequence[str]
    executor: ExecutorKind | None
    slurm: SlurmOptions | None
    early_bytes: int


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
    cache_store: Path | None = None  # --cache-store (else .pipex.yml's cacheStore)
    approve: tuple[str, ...] = ()  # approval gates approved in advance (run --approve)
    # Where steps run: None = .pipex.yml's `executor:` (default local); `slurm` None = .pipex.yml's `slurm:`.
    executor: ExecutorKind | None = None
    slurm: SlurmOptions | None = None
    environ: Mapping[str, str] | None = field(default=None, compare=False)
    # Secret values given for this run by name (--secret-file, --secret, secrets=): never in to_json (a detached
    # run gets them through a pipe, see pipex.daemon.spawn), never in a repr.
    secrets: Mapping[str, Secret] = field(default_factory=dict, compare=False, repr=False)
    # A consumer that renders whole chunks (the CLI's reporters): the lines of each chunk a step wrote go to this
    # callable as one LogLines, in their place in the event order (called between the events before and after
    # them), instead of one StepLog event per line — no object per line (a step printing 200,000 lines). Not in
    # to_json: a process of its own has its own consumer.
    on_log_lines: Callable[[LogLines], None] | None = field(default=None, compare=False, repr=False)
    # A step's artifacts of at least this many bytes are handed to the dependents that cannot be cache hits while
    # they are hashed, before the commit (engine/early.py): below it the hash costs less than the hand-over.
    early_bytes: int = field(default=32 << 20, compare=False)

    @classmethod
    def build(cls, environ: Mapping[str, str] | None = None, **keywords: Any) -> RunOptions:
        """From ``RunKeywords`` (lists for ``force``/``target``, a ``str`` path for ``env_file``)."""
        force = keywords.pop("force", False)
        target = keywords.pop("target", None)
        env_file = keywords.pop("env_file", None)
        cache_store = keywords.pop("cache_store", None)
        secrets = keywords.pop("secrets", None) or {}
        approve = tuple(keywords.pop("approve", ()))
        return cls(
            approve=approve,
            force=force if isinstance(force, bool) else tuple(force),
            target=tuple(target or ()),
            env_file=Path(env_file) if env_file else None,
            cache_store=Path(cache_store) if cache_store else None,
            environ=environ,
            secrets={name: Secret(value) for name, value in secrets.items()},
            **keywords,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON object ``from_json`` reads back (``environ`` is not part of it: a process has its own; nor are
        the ``secrets``' values: only their names, so the reader knows to expect them from elsewhere)."""
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
            "cacheStore": None if self.cache_store is None else str(self.cache_store.absolute()),
            "secretNames": sorted(self.secrets),
            "approve": list(self.approve),
            "executor": self.executor,
            "slurm": None if self.slurm is None else self.slurm.to_json(),
        }

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
        secrets: Mapping[str, Secret] | None = None,
    ) -> RunOptions:
        """``secrets``: the values of ``secretNames``, received another way than the JSON."""
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
            cache_store=None if data.get("cacheStore") is None else Path(data["cacheStore"]),
            approve=tuple(data.get("approve") or ()),
            executor=data.get("executor"),
            slurm=None if data.get("slurm") is None else SlurmOptions.from_json(data["slurm"]),
            environ=environ,
            secrets=dict(secrets or {}),
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
        return step in self.force or (step.endswith("]") and step.rpartition("[")[0] in self.force)

    def check(self, step_ids: Sequence[str], fan_out: Collection[str] = (), later: Collection[str] = ()) -> None:
        """Unknown ids in --target/--force are errors with a suggestion (improved: silently ignored before);
        ``fan_out``: the ids of the fan-out steps, the only ones an instance (``step[key]``) may name; ``later``:
        sub-pipelines whose steps are known only at run time (``etl[eu].extract``, ``etl.extract``: --force and
        --approve take them as they are, --target cannot select what does not exist yet)."""
        if self.concurrency is not None and self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1", hint="e.g. --concurrency 4")
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("--timeout must be a positive number of seconds")
        if self.executor is not None and self.executor not in EXECUTORS:
            raise UsageError(f'unknown executor "{self.executor}"', hint="use local or slurm")
        if self.pull not in ("always", "missing", "never"):
            raise UsageError(f'unknown pull policy "{self.pull}"', hint="use always, missing or never")
        for name in self.secrets:
            if not VARIABLE.match(name):
                raise UsageError(f"secret name {name[:40]!r} is not a variable name", hint="letters, digits and _")
        known = set(step_ids)
        named = [("--target", s) for s in self.target] + [("--approve", s) for s in self.approve]
        if isinstance(self.force, tuple):
            named += [("--force", s) for s in self.force]
        for option, step in named:
            root = step.partition(".")[0].partition("[")[0]
            if later and root in later and "." in step:
                if option == "--target":
                    raise UsageError(
                        f'--target: the steps of sub-pipeline "{root}" are known only once it runs: "{step}"',
                        hint=f"name the sub-pipeline or one of its instances: --target {root}, --target '{root}[KEY]'",
                    )
                continue
            # an instance (`--target/--force 'convert[eu]'`): its step must exist; its keys are known only when
            # it runs
            if step not in known and not (
                option != "--approve" and step.endswith("]") and step.rpartition("[")[0] in known
            ):
                group, bracket, key = step.rpartition("[") if step.endswith("]") else (step, "", "")
                guess = did_you_mean(group, step_ids) if bracket else did_you_mean(step, step_ids)
                guess = f"{guess}[{key}" if guess and bracket else guess
                raise UsageError(
                    f'{option}: unknown step "{step}"' + (f'; did you mean "{guess}"?' if guess else ""),
                    hint="the step ids are: " + ", ".join(step_ids[:20]) + (" …" if len(step_ids) > 20 else ""),
                )
            group = step.rpartition("[")[0]
            if step not in known and group not in fan_out:
                raise UsageError(
                    f'{option}: "{group}" has no instances (no matrix or foreach): "{step}" names none',
                    hint=f"name the step: {option} {group}",
                )
