"""What a detached run's background process needs, written by the parent as one JSON file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipex.config import RUNTIME_KINDS, RuntimeKind
from pipex.engine.options import RunOptions
from pipex.errors import PipexError
from pipex.model.secret import Secret

RUNTIMES: tuple[RuntimeKind, ...] = RUNTIME_KINDS


@dataclass(frozen=True, slots=True)
class DetachedRequest:
    pipeline: Path  # the pipeline file, absolute: the child loads it again (it may use kits, env files…)
    cwd: Path  # the directory it was loaded from: the same project boundary and .pipex.yml
    workdir: Path
    runtime: RuntimeKind
    host: str | None
    options: RunOptions

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": str(self.pipeline),
            "cwd": str(self.cwd),
            "workdir": str(self.workdir),
            "runtime": self.runtime,
            "host": self.host,
            "options": self.options.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], secrets: Mapping[str, Secret] | None = None) -> DetachedRequest:
        """``secrets``: the values of the options' ``secretNames``, received apart from the JSON."""
        runtime = data["runtime"]
        missing = set(data["options"].get("secretNames", ())) - set(secrets or {})
        if missing:
            raise ValueError(f"the values of the secrets {sorted(missing)} did not arrive")
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}")
        return cls(
            pipeline=Path(data["pipeline"]),
            cwd=Path(data["cwd"]),
            workdir=Path(data["workdir"]),
            runtime=runtime,
            host=data["host"],
            options=RunOptions.from_json(data["options"], secrets=secrets),
        )

    @classmethod
    def read(cls, path: Path, secrets: Mapping[str, Secret] | None = None) -> DetachedRequest:
        """The request in ``path``, which is deleted (it is this one process's)."""
        try:
            with path.open(encoding="utf-8") as file:
                data = json.load(file)
            path.unlink()
            return cls.from_json(data, secrets)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PipexError(f"cannot read the detached run's request {path}: {exc}") from exc
