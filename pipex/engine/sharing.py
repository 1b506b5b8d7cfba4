"""The engine's two hooks into the shared cache (``cacheStore``, ``pipex.store``): ``restore`` on a local miss,
``push`` after a committed success.

A hit becomes an ordinary committed run of this workspace — new run id, this step's id, name, inputs and mounts, the
stored artifacts and logs — whose meta says ``"source": "store"`` and names the stored run. Its artifacts digest is
recomputed here, in the tree format the record names (``artifactsDigestFormat`` in its meta, absent: 1, so entries
written by an older pipex still hit), and must equal the record's: together with the store's per-blob hashing, what
a step reads downstream is exactly what the original run produced. Any problem with the store (corrupt entry,
unreadable share, full disk there) is a warning on the step and the step simply runs (or is not shared): the store
is a cache.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipex.engine.digest import FORMATS
from pipex.engine.events import StepRef, StepWarning
from pipex.engine.plan import StepContext, StepPlan, StepRun
from pipex.engine.runner import run_meta
from pipex.errors import PipexError, StoreCorrupt
from pipex.store.store import NotShareable
from pipex.workspace.atomic import write_json
from pipex.workspace.ids import new_run_id
from pipex.workspace.layout import remove
from pipex.workspace.state import RunEntry


def _warn(ctx: StepContext, plan: StepPlan, message: str) -> None:
    ctx.emit(StepWarning, step=StepRef(plan.spec.id, plan.spec.name), message=message)


def restore(plan: StepPlan, ctx: StepContext) -> StepRun | None:
    """The step's run materialised from the store and committed, or ``None`` (a miss, or a bad entry: warned)."""
    assert ctx.store is not None
    started = time.time()
    run_id = new_run_id()
    run_dir = ctx.workspace.new_staging(run_id)
    try:
        fetched = ctx.store.fetch(plan.fingerprint, run_dir)
        if fetched is not None:
            version = digest_format(fetched.meta)
            digest, size = ctx.tree_digest(run_dir / "artifacts", version)
            if digest != fetched.artifacts_digest:
                raise StoreCorrupt("its artifacts do not match the recorded digest")
    except (StoreCorrupt, PipexError, OSError) as exc:
        why = exc.message if isinstance(exc, PipexError) else (exc.strerror or str(exc))
        _warn(ctx, plan, f"ignored the cache store's entry {plan.fingerprint[7:19]}: {why}")
        fetched = None
    if fetched is None:
        with contextlib.suppress(PipexError, OSError):
            remove(run_dir, ctx.executor.remove_tree)
        return None
    if plan.manifests:
        write_json(run_dir / "manifests.json", {k: dict(v) for k, v in plan.manifests.items()}, durable=False)
    finished = time.time()
    meta = run_meta(plan, ctx, run_id, 1, started, finished, "success", 0, None, None, digest, size, version)
    meta["source"] = "store"
    meta["stored"] = _origin(fetched.meta, fetched.stored_at)
    ctx.workspace.commit(run_id, meta)
    entry = RunEntry(run_id, "success", plan.fingerprint, meta["finishedAt"], meta["durationMs"], digest, size)
    ctx.workspace.record(plan.spec.id, entry)
    return StepRun("success", 0, None, run_id, 1, started, finished - started, digest, size)


def digest_format(meta: Mapping[str, Any]) -> int:
    """The tree format of a stored run's artifacts digest (its meta is hostile JSON): ``StoreCorrupt`` for one this
    pipex does not know (a newer pipex's entry: ignored with a warning, the step runs)."""
    version = meta.get("artifactsDigestFormat", 1)
    if type(version) is not int or version not in FORMATS:
        raise StoreCorrupt(f"its artifacts digest is in a format this pipex does not know ({str(version)[:16]})")
    return version


def _origin(meta: Mapping[str, Any], stored_at: str) -> dict[str, Any]:
    """What the run record keeps of the stored run: a few scalars of hostile JSON, type-checked, nothing else."""
    out: dict[str, Any] = {"storedAt": stored_at}
    for key, kind in (("runId", str), ("finishedAt", str), ("durationMs", int), ("pipexVersion", str)):
        value = meta.get(key)
        if isinstance(value, kind) and not isinstance(value, bool) and len(str(value)) <= 64:
            out[key] = value
    return out


def push(plan: StepPlan, ctx: StepContext, run_dir: Path, meta: Mapping[str, Any], digest: str, size: int) -> None:
    """Write a committed success through to the store; a failure there is a warning, never the step's."""
    assert ctx.store is not None
    if plan.spec.secrets:
        # Never shared: its artifacts may hold what a secret gave it, and a store is read by other users.
        return
    try:
        ctx.store.put(plan.fingerprint, run_dir, meta, digest, size)
    except NotShareable as exc:
        _warn(ctx, plan, f"not stored in the cache store: {exc}")
    except (PipexError, OSError) as exc:
        why = exc.message if isinstance(exc, PipexError) else (exc.strerror or str(exc))
        _warn(ctx, plan, f"could not write to the cache store {ctx.store.root}: {why}")
