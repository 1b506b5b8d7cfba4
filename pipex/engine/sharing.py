"""The engine's two hooks into the shared cache (``cacheStore``, ``pipex.store``): ``restore`` on a local miss,
``push`` after a committed success.

A hit becomes an ordinary committed run of this workspace — new run id, this step's id, name, inputs and mounts, the
stored artifacts and logs — whose meta says ``"source": "store"`` and names the stored run. Its artifacts digest is
recomputed here, in the tree format the record names (``artifactsDigestFormat`` in its meta, absent: 1, so entries
written by an older pipex still hit), and must equal the record's: from the listing the store just materialised,
each file of which it hashed while copying it (so no byte is read twice; in format 2 a file of 8 MiB or more is read
once more, its chunked digest not being its SHA-256), which with the exact recreation of that listing (descriptors,
``O_EXCL``, explicit modes) is what a walk of the tree would give. So what a step reads downstream is exactly what
the original run produced. Any problem with the store (corrupt entry, unreadable share, full disk there) is a
warning on the step and the step simply runs (or is not shared): the store is a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipex.engine.digest import FORMATS, file_digest, listing_digest
from pipex.engine.events import StepRef, StepWarning
from pipex.engine.plan import StepContext, StepPlan, StepRun
from pipex.engine.runmeta import run_meta
from pipex.engine.storerules import ignored_entry, shareable, stored_outputs
from pipex.errors import PipexError, StoreCorrupt
from pipex.store.record import Entry
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
            artifacts = run_dir / "artifacts"
            digest, size = listing_digest(
                _listing(fetched.tree),
                version,
                lambda rel, expected: file_digest(str(artifacts / rel), expected, version)[0],
            )
            if digest != fetched.artifacts_digest:
                raise StoreCorrupt("its artifacts do not match the recorded digest")
            kept = stored_outputs(fetched.meta, plan.spec)
    except (StoreCorrupt, PipexError, OSError) as exc:
        _warn(ctx, plan, ignored_entry(plan.fingerprint, exc))
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
    if kept:
        meta["outputs"] = kept
    # Neither the rename into runs/ nor state.json is waited for here: both become durable with the next state.json
    # write (the workspace orders them), so 100 hits do not wait on 200 fsyncs one after the other. A crash before
    # then forgets the hit (the store still holds it: one more fetch), never leaves half a run or a state naming one.
    ctx.workspace.commit(run_id, meta, wait=False)
    entry = RunEntry(
        run_id, "success", plan.fingerprint, meta["finishedAt"], meta["durationMs"], digest, size, bool(kept)
    )
    ctx.workspace.record(plan.spec.id, entry, wait=False)
    return StepRun("success", 0, None, run_id, 1, started, finished - started, digest, size, outputs=kept)


def _listing(tree: tuple[Entry, ...]) -> Iterator[tuple[str, str, int, str]]:
    for e in tree:
        if e.kind == "l":
            target = os.fsencode(e.target)  # the bytes os.symlink wrote
            yield e.rel, "l", len(target), hashlib.sha256(target).hexdigest()
        else:
            yield e.rel, e.kind, e.size, e.blob


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
    if not shareable(plan.spec):
        return
    try:
        ctx.store.put(plan.fingerprint, run_dir, meta, digest, size)
    except NotShareable as exc:
        _warn(ctx, plan, f"not stored in the cache store: {exc}")
    except (PipexError, OSError) as exc:
        why = exc.message if isinstance(exc, PipexError) else (exc.strerror or str(exc))
        _warn(ctx, plan, f"could not write to the cache store {ctx.store.root}: {why}")
