"""Resolving each image of a run once: local lookup, pull by policy, ID/digest for the fingerprint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from pipex.engine.options import PullPolicy
from pipex.errors import ImageNotFound, RuntimeUnavailable
from pipex.runtime.base import ImageRef, PullProgress, Runtime


class ImageResolver:
    def __init__(self, runtime: Runtime | None, policy: PullPolicy, *, dry_run: bool = False) -> None:
        self.runtime = runtime
        self.policy: PullPolicy = "never" if dry_run else policy
        self.dry_run = dry_run
        self.pull_seconds = 0.0
        self._tasks: dict[str, asyncio.Task[ImageRef]] = {}

    async def resolve(self, reference: str, progress: Callable[[PullProgress], None] | None = None) -> ImageRef:
        """Every step using ``reference`` shares one lookup (and at most one pull) per run."""
        task = self._tasks.get(reference)
        if task is None:
            task = asyncio.create_task(asyncio.to_thread(self._resolve, reference, progress))
            self._tasks[reference] = task
        try:
            return await asyncio.shield(task)
        except Exception:
            if self._tasks.get(reference) is task:  # a failed lookup may be retried
                del self._tasks[reference]
            raise

    def _resolve(self, reference: str, progress: Callable[[PullProgress], None] | None) -> ImageRef:
        if self.runtime is None:
            raise RuntimeUnavailable(f"cannot resolve image {reference!r}: no container engine")
        found = None if self.policy == "always" else self.runtime.image(reference)
        if found is not None:
            return found
        if self.policy == "never":
            raise ImageNotFound(
                reference,
                f"image {reference!r} is not present and the pull policy is never",
                hint=f"pull it (`podman pull {reference}`) or run with --pull missing",
            )
        started = time.monotonic()
        try:
            return self.runtime.pull(reference, progress)
        finally:
            self.pull_seconds += time.monotonic() - started
