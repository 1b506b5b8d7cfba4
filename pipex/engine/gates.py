"""Approval gates: whether a gate passes, fails or holds the run, and the workspace's memory of it.

A gate never starts a container. When its inputs have settled, it looks for a decision bound to the fingerprint of
its inputs (their artifacts digests): approved → it succeeds and its dependents run; rejected → it fails (reason
``rejected``, a ``dependency`` failure); none (or one given for other inputs) → it *waits*: its dependents are held,
everything else runs, and the run ends ``suspended``. ``pipex approve``/``reject`` record the decision for the
fingerprint the gate waits with; ``run --approve`` decides in advance. The next run of the workspace is the
resumption of the suspended one (``resumedFrom``): the cache reuses everything already done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pipex.engine.events import RunStatus
from pipex.engine.options import RunOptions
from pipex.errors import UsageError
from pipex.model.spec import StepSpec
from pipex.workspace.approvals import Approvals, Decision, Waiting, now_iso
from pipex.workspace.layout import Workspace

Verdict = Literal["approved", "rejected", "waiting"]


def inputs_fingerprint(spec: StepSpec, digests: Mapping[str, str]) -> str:
    """What an approval is bound to: the gate and the artifacts digest of each of its inputs."""
    doc = {"gate": spec.id, "inputs": sorted(digests.items())}
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class Gates:
    """One run's view of the workspace's gates (read at the start; written only when the run may write)."""

    def __init__(self, ws: Workspace, options: RunOptions, *, writable: bool) -> None:
        self.ws = ws
        self.options = options
        self.writable = writable and ws.exists()
        self.store = Approvals(ws.path) if ws.exists() else None
        self.resumed_from = self.store.suspended if self.store is not None else None

    def decide(self, spec: StepSpec, digests: Mapping[str, str], run_id: str, *, complete: bool) -> tuple[Verdict, str]:
        """The gate's verdict and what to say about it. ``complete``: every input's digest is known (not in a dry
        run where an input would run first)."""
        fingerprint = inputs_fingerprint(spec, digests)
        store = self.store
        if complete and spec.id in self.options.approve:
            if store is not None and self.writable:
                store.decide(spec.id, approved=True, text="pipex run --approve", fingerprint=fingerprint)
                store.save()
            return "approved", "approved in advance (--approve)"
        decision = store.decisions.get(spec.id) if store is not None else None
        if complete and decision is not None and decision.fingerprint == fingerprint:
            said = f" ({decision.text})" if decision.text else ""
            if decision.approved:
                return "approved", f"approved by {decision.by} at {decision.at}{said}"
            return "rejected", f"rejected by {decision.by} at {decision.at}{said}"
        if store is not None and self.writable and complete:
            store.waiting[spec.id] = Waiting(fingerprint, run_id, now_iso(), spec.gate or "")
            store.save()
        message = spec.gate or "waiting for approval"
        if decision is not None and decision.fingerprint != fingerprint:
            message += " (its inputs changed since the last decision)"
        return "waiting", message

    def remember(self, source: Path | None, options: RunOptions) -> None:
        """What ``pipex resume`` runs again: this pipeline file and these options (not ``--force``, which would
        redo the work a resumption keeps, nor ``--approve``, already recorded)."""
        if self.store is None or not self.writable or source is None:
            return
        data = options.to_json()
        data.update(force=False, approve=[])
        self.store.last_run = {"file": str(source), "cwd": str(Path.cwd()), "options": data}  # cwd: the project
        self.store.save()

    def finish(self, run_id: str, status: RunStatus) -> None:
        """A suspended run is what the next run resumes; any other end closes the suspension."""
        store = self.store
        if store is None or not self.writable:
            return
        suspended = run_id if status == "suspended" else None
        if store.suspended != suspended:
            store.suspended = suspended
            store.save()


def decide_gate(ws: Workspace, step: str, *, approved: bool, text: str = "") -> tuple[Decision, str]:
    """``pipex approve``/``reject``: record the decision for the inputs the gate waits with, atomically, under the
    workspace lock (a run in progress makes it ``WorkspaceBusy``). → the decision and the run it waited in."""
    ws.require()
    with ws.lock("pipex approve" if approved else "pipex reject"):
        store = Approvals(ws.path)
        waiting = store.waiting.get(step)
        if waiting is None:
            verb = "approve" if approved else "reject"
            known = ", ".join(sorted(store.waiting)) or "none"
            raise UsageError(
                f'step "{step}" is not an approval gate waiting in workspace "{ws.name}" (waiting: {known})',
                hint=f"to {verb} a gate before a run reaches it: pipex run --approve {step}"
                if approved
                else "a gate can be rejected once a run waits at it",
            )
        decision = store.decide(step, approved=approved, text=text, fingerprint=waiting.fingerprint)
        if not approved:
            store.waiting.pop(step, None)
        store.save()
    return decision, waiting.run_id


def last_run(ws: Workspace) -> tuple[Path, Path, RunOptions]:
    """What ``pipex resume`` runs again: the workspace's last pipeline file, the directory it was run from (the
    project) and the options."""
    ws.require()
    data = Approvals(ws.path).last_run
    if not data or not isinstance(data.get("file"), str) or not isinstance(data.get("options"), dict):
        raise UsageError(
            f'workspace "{ws.name}" has no run to resume',
            hint="run its pipeline with `pipex run` (resume re-runs the last pipeline file run in it)",
        )
    file = Path(data["file"])
    if not file.is_file():
        raise UsageError(f"the last pipeline file of workspace {ws.name!r} is gone: {file}", hint="pipex run FILE")
    try:
        options = RunOptions.from_json(data["options"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f'the last options of workspace "{ws.name}" cannot be read ({exc})', hint="pipex run") from exc
    cwd = Path(data.get("cwd") or file.parent)
    return file, cwd if cwd.is_dir() else file.parent, options
