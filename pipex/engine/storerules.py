"""What a run and a dry run may take from (and give to) the shared cache, and how a bad entry is said: one place, so
that ``--dry-run`` claims ``cached (store)`` exactly where a real run would materialise the step from the store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipex.engine import outputs
from pipex.errors import PipexError, StoreCorrupt
from pipex.model.spec import StepSpec


def shareable(spec: StepSpec) -> bool:
    """Whether the step's results go through the store (read on a local miss, written after a success).

    A step that uses secrets never does: its artifacts may hold what a secret gave it, and a store is read by other
    users (and its fingerprint holds an HMAC keyed per workspace, so another workspace's entry could not match)."""
    return not spec.secrets


def stored_outputs(meta: Mapping[str, Any], spec: StepSpec) -> dict[str, Any]:
    """The step outputs of a stored run (its meta's ``outputs``), for dependents' conditions as a local hit gives
    them; ``StoreCorrupt`` unless they are what a step could have written (names, at most ``outputs.MAX_BYTES``)
    and hold every output the step declares."""
    found = meta.get("outputs", {})
    if not isinstance(found, dict) or any(
        not isinstance(k, str) or len(k) > 200 or not outputs.KEY.match(k) for k in found
    ):
        raise StoreCorrupt("the record's step outputs are malformed")
    if len(json.dumps(found, ensure_ascii=False)) > outputs.MAX_BYTES:
        raise StoreCorrupt("the record's step outputs are larger than a step may write")
    failure, _ = outputs.check_declared(found, spec.outputs)
    if failure is not None:
        raise StoreCorrupt(f"the stored run lacks what the step declares: {failure}")
    return found


def ignored_entry(fingerprint: str, exc: Exception) -> str:
    """The step warning for an entry the store holds but that cannot be used (corrupt, truncated, unreadable)."""
    why = exc.message if isinstance(exc, PipexError) else (getattr(exc, "strerror", None) or str(exc))
    return f"ignored the cache store's entry {fingerprint[7:19]}: {why}"
