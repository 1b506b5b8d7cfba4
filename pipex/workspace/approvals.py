"""``approvals.json``: the approval gates of a workspace, and how to resume its last run.

Per gate: what it waits for (the fingerprint of its inputs when a run reached it, that run, the gate's message)
and the last decision (approved or rejected, by whom, when, the text, and the fingerprint it was given for: a
decision holds only while the gate's inputs are the same). Besides: the run left ``suspended`` (the next run is
its resumption) and the last run's pipeline file and options (what ``pipex resume`` runs again).

Written whole and atomically (``write_json``), by the holder of the workspace lock only: a run, or
``pipex approve``/``reject`` (which take it).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipex.errors import WorkspaceError
from pipex.workspace.atomic import read_json, write_json

FILE = "approvals.json"
VERSION = 1


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def user_name() -> str:
    """Who decides: the login name (``USER``/``LOGNAME`` first, as a CI job sets them), else the uid."""
    try:
        return os.environ.get("USER") or os.environ.get("LOGNAME") or getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@dataclass(frozen=True, slots=True)
class Decision:
    approved: bool
    by: str
    at: str
    text: str
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "by": self.by,
            "at": self.at,
            "text": self.text,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: Any) -> Decision | None:
        if not isinstance(data, dict):
            return None
        return cls(
            bool(data.get("approved")),
            str(data.get("by", "")),
            str(data.get("at", "")),
            str(data.get("text", "")),
            str(data.get("fingerprint", "")),
        )


@dataclass(frozen=True, slots=True)
class Waiting:
    fingerprint: str
    run_id: str
    since: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "runId": self.run_id, "since": self.since, "message": self.message}

    @classmethod
    def from_json(cls, data: Any) -> Waiting | None:
        if not isinstance(data, dict):
            return None
        return cls(str(data.get("fingerprint", "")), str(data.get("runId", "")), str(data.get("since", "")),
                   str(data.get("message", "")))  # fmt: skip


class Approvals:
    """The file's content, read once; ``save`` writes it back (the caller holds the workspace lock)."""

    def __init__(self, ws_dir: Path) -> None:
        self.path = ws_dir / FILE
        data: Any = {}
        if self.path.is_file():
            try:
                data = read_json(self.path)
            except (OSError, ValueError) as exc:
                raise WorkspaceError(f"{self.path} is damaged: {exc}", hint="remove it; the gates wait again") from exc
        gates = data.get("gates") if isinstance(data, dict) else None
        self.decisions: dict[str, Decision] = {}
        self.waiting: dict[str, Waiting] = {}
        for step, entry in (gates or {}).items():
            if not isinstance(entry, dict):
                continue
            if (decision := Decision.from_json(entry.get("decision"))) is not None:
                self.decisions[step] = decision
            if (waiting := Waiting.from_json(entry.get("waiting"))) is not None:
                self.waiting[step] = waiting
        self.suspended: str | None = data.get("suspended") if isinstance(data, dict) else None
        self.last_run: dict[str, Any] | None = data.get("lastRun") if isinstance(data, dict) else None

    def decide(self, step: str, *, approved: bool, text: str, fingerprint: str, by: str | None = None) -> Decision:
        decision = Decision(approved, by or user_name(), now_iso(), text, fingerprint)
        self.decisions[step] = decision
        if approved:
            self.waiting.pop(step, None)
        return decision

    def save(self) -> None:
        steps = sorted(set(self.decisions) | set(self.waiting))
        gates = {
            step: {
                "waiting": self.waiting[step].to_json() if step in self.waiting else None,
                "decision": self.decisions[step].to_json() if step in self.decisions else None,
            }
            for step in steps
        }
        data = {"version": VERSION, "suspended": self.suspended, "lastRun": self.last_run, "gates": gates}
        write_json(self.path, data)
