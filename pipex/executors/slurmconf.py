"""The Slurm executor's settings (``.pipex.yml`` ``slurm:``), as a plain value that crosses to a detached run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_POLL = 2.0


@dataclass(frozen=True, slots=True)
class SlurmOptions:
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    extra_args: tuple[str, ...] = ()  # added to every sbatch call, after pipex's own options
    poll_interval: float = DEFAULT_POLL  # seconds between two squeue calls
    submit_rate: float | None = None  # sbatch calls per second at most (None: no limit)

    def to_json(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "account": self.account,
            "qos": self.qos,
            "extraArgs": list(self.extra_args),
            "pollInterval": self.poll_interval,
            "submitRate": self.submit_rate,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SlurmOptions:
        return cls(
            partition=data.get("partition"),
            account=data.get("account"),
            qos=data.get("qos"),
            extra_args=tuple(data.get("extraArgs") or ()),
            poll_interval=float(data.get("pollInterval", DEFAULT_POLL)),
            submit_rate=data.get("submitRate"),
        )
