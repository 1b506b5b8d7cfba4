"""Ending containers for sure: a stop that is retried and escalated to a kill, and removals that never skip.

On a saturated machine (or a dying engine) any single request may fail or hang: a stop that is not answered
must not leave a step running past its timeout, and one removal that fails must not keep the next ones from
being tried. Every wait here is bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipex.errors import ContainerGone, PipexError
from pipex.runtime import labels
from pipex.runtime.base import Runtime

STOP_SLACK = 3.0  # seconds a stop may take beyond its grace before the container is killed
KILL_DELAYS = (0.0, 0.5, 1.0, 2.0)  # retries of the kill, then the removal (forced) ends it anyway


def halt(runtime: Runtime, container: str, grace: float, *, kill: bool = False, slack: float = STOP_SLACK) -> bool:
    """Stop ``container`` (SIGTERM, SIGKILL after ``grace`` s); when the stop fails or is not answered within
    ``grace + slack`` s, kill it, retrying a few times. ``kill``: at once. Whether the engine said it ended: a
    container it no longer knows (``ContainerGone``: removed meanwhile, e.g. by its step's own clean-up) has."""
    if not kill:
        answered = threading.Event()
        ok: list[bool] = []

        def stop() -> None:
            try:
                runtime.stop(container, grace=grace)
                ok.append(True)
            except ContainerGone:
                ok.append(True)  # nothing left to stop: killing it would only fail, KILL_DELAYS long
            except PipexError:
                pass
            finally:
                answered.set()

        # In its own thread: a stop request may hang far longer than its grace on a loaded engine.
        threading.Thread(target=stop, name=f"pipex-stop-{container[:12]}", daemon=True).start()
        if answered.wait(grace + slack) and ok:
            return True
    for delay in KILL_DELAYS:
        time.sleep(delay)
        try:
            runtime.kill(container)
            return True
        except ContainerGone:
            return True
        except PipexError:
            continue
    return False


@dataclass(frozen=True, slots=True)
class Removal:
    """What a clean-up removed, and what it could not (one line per container)."""

    removed: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def remove_each(runtime: Runtime, containers: Iterable[str]) -> Removal:
    """Force-remove every container, each on its own: one failure is collected, the next is still tried. A
    container the engine no longer knows (``ContainerGone``, a removal that raced another) counts as removed."""
    removed: list[str] = []
    errors: list[str] = []
    for cid in containers:
        try:
            runtime.remove(cid)
            removed.append(cid)
        except ContainerGone:
            removed.append(cid)
        except PipexError as exc:
            errors.append(f"container {cid[:12]}: {exc.message}")
    return Removal(tuple(removed), tuple(errors))


def sweep(runtime: Runtime, workdir: Path, workspace: str, *, pid: int | None = None) -> Removal:
    """Remove the containers labelled for ``workspace`` of ``workdir`` (only those of process ``pid`` when
    given: the ones this run made). Listing failures are collected too: a clean-up never raises."""
    wanted = labels.owner_labels(workdir, workspace)
    if pid is not None:
        wanted[labels.PID] = str(pid)
        wanted[labels.HOST] = labels.this_host()
    try:
        found = runtime.list(wanted)
    except PipexError as exc:
        return Removal(errors=(f"cannot list the containers of workspace {workspace!r}: {exc.message}",))
    return remove_each(runtime, [c.id for c in found])


def sweep_workspaces(runtime: Runtime, workdir: Path, names: Iterable[str]) -> Removal:
    """``pipex rm``/``clean``: remove every container of these workspaces (the caller holds their locks, so no
    live run owns any of them)."""
    removed: list[str] = []
    errors: list[str] = []
    for name in names:
        done = sweep(runtime, workdir, name)
        removed += done.removed
        errors += done.errors
    return Removal(tuple(removed), tuple(errors))
