"""What a run and a dry run may take from (and give to) the shared cache, and how a bad entry is said: one place, so
that ``--dry-run`` claims ``cached (store)`` exactly where a real run would materialise the step from the store."""

from __future__ import annotations

from pipex.errors import PipexError
from pipex.model.spec import StepSpec


def shareable(spec: StepSpec) -> bool:
    """Whether the step's results go through the store (read on a local miss, written after a success).

    A step that uses secrets never does: its artifacts may hold what a secret gave it, and a store is read by other
    users (and its fingerprint holds an HMAC keyed per workspace, so another workspace's entry could not match)."""
    return not spec.secrets


def ignored_entry(fingerprint: str, exc: Exception) -> str:
    """The step warning for an entry the store holds but that cannot be used (corrupt, truncated, unreadable)."""
    why = exc.message if isinstance(exc, PipexError) else (getattr(exc, "strerror", None) or str(exc))
    return f"ignored the cache store's entry {fingerprint[7:19]}: {why}"
