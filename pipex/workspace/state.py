"""``state.json``: for every step, its last run and its last successful run.

``lastSuccess`` and ``last`` are kept apart so a failure never hides the last good run (``prune`` keeps it, and
the cache can still hit on it). The file is replaced atomically after every step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipex.errors import WorkspaceError
from pipex.workspace.atomic import write_json

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class RunEntry:
    run_id: str
    status: str
    fingerprint: str
    finished_at: str
    duration_ms: int
    artifacts_digest: str | None = None
    artifacts_size: int = 0
    # The run wrote step outputs (they live in its meta.json: state.json stays small, rewritten after each step).
    has_outputs: bool = False

    def to_json(self) -> dict[str, Any]:
        data = {
            "runId": self.run_id,
            "status": self.status,
            "fingerprint": self.fingerprint,
            "finishedAt": self.finished_at,
            "durationMs": self.duration_ms,
            "artifactsDigest": self.artifacts_digest,
            "artifactsSize": self.artifacts_size,
        }
        if self.has_outputs:
            data["hasOutputs"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunEntry:
        return cls(
            run_id=str(data["runId"]),
            status=str(data["status"]),
            fingerprint=str(data.get("fingerprint", "")),
            finished_at=str(data.get("finishedAt", "")),
            duration_ms=int(data.get("durationMs", 0)),
            artifacts_digest=data.get("artifactsDigest"),
            artifacts_size=int(data.get("artifactsSize", 0)),
            has_outputs=data.get("hasOutputs") is True,
        )


@dataclass(slots=True)
class StepState:
    last_success: RunEntry | None = None
    last: RunEntry | None = None


@dataclass(slots=True)
class State:
    steps: dict[str, StepState] = field(default_factory=dict)

    def record(self, step_id: str, entry: RunEntry) -> None:
        current = self.steps.setdefault(step_id, StepState())
        current.last = entry
        if entry.status == "success":
            current.last_success = entry

    def forget(self, step_id: str) -> None:
        self.steps.pop(step_id, None)

    def referenced_runs(self) -> set[str]:
        ids: set[str] = set()
        for st in self.steps.values():
            for entry in (st.last, st.last_success):
                if entry is not None:
                    ids.add(entry.run_id)
        return ids

    def to_json(self) -> dict[str, Any]:
        steps: dict[str, Any] = {}
        for step_id in sorted(self.steps):
            st = self.steps[step_id]
            steps[step_id] = {
                "lastSuccess": st.last_success.to_json() if st.last_success else None,
                "last": st.last.to_json() if st.last else None,
            }
        return {"version": STATE_VERSION, "steps": steps}

    @classmethod
    def from_json(cls, data: Any) -> State:
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("unsupported state version")
        state = cls()
        for step_id, raw in (data.get("steps") or {}).items():
            ls = raw.get("lastSuccess")
            last = raw.get("last")
            state.steps[step_id] = StepState(
                last_success=RunEntry.from_json(ls) if ls else None,
                last=RunEntry.from_json(last) if last else None,
            )
        return state


def load_state(path: Path) -> State:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State()
    except OSError as exc:
        raise WorkspaceError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return State.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WorkspaceError(
            f"{path} is damaged ({exc})",
            hint="remove it to start this workspace's cache afresh; committed runs stay under runs/",
        ) from exc


def save_state(path: Path, state: State) -> None:
    write_json(path, state.to_json())
