"""A successful step's artifacts handed to its dependents before they are digested and committed.

Hashing a big output is the one cost of a step that grows with its bytes: 1 GiB takes ~0.3-0.7 s on two cores,
during which a dependent that only reads the files would wait for nothing. Once the container is removed its
output can no longer change, so a dependent may already mount it (read-only) from the staged run while the
producer hashes it. Two things must then hold, and this object holds them:

- the staged directory must still be there when the dependent's container mounts it: the producer's commit (the
  rename from ``staging/`` to ``runs/``) waits while any dependent holds a **pin**, taken before its container is
  made and given back once the container has started (an established bind mount survives the rename of its
  source; one made after it would find nothing), or when the attempt ends;
- the dependent's fingerprint needs the producer's artifacts digest: ``wait`` gives it once the producer's run is
  committed and recorded, so the dependent's own run never names a run that is not in ``runs/`` yet.

Only a dependent that cannot be a cache hit starts early (see ``Scheduler``): one that could, waits for the digest
as before. Only a tree of at least ``RunOptions.early_bytes`` bytes is handed over early: below that the hashing
costs less than the hand-over is worth.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class EarlyArtifacts:
    """One producer's staged artifacts; thread-safe (the producer's and the dependents' worker threads)."""

    def __init__(self, run_id: str, staged: Path, final: Path) -> None:
        self.run_id = run_id
        self._final = final
        self._path = staged
        self._pins = 0
        self._changed = threading.Condition()
        self.recorded: Future[str] = Future()  # the artifacts digest, once the run is committed and recorded

    def pin(self) -> Path:
        """The directory to mount now; ``unpin`` once the container has started (or will never start)."""
        with self._changed:
            self._pins += 1
            return self._path

    def unpin(self) -> None:
        with self._changed:
            self._pins -= 1
            if self._pins == 0:
                self._changed.notify_all()

    def publish(self, commit: Callable[[], T]) -> T:
        """Run ``commit`` (the rename that moves the staged directory) when no dependent is between choosing the
        path and mounting it; a pin taken after it gets the final path."""
        with self._changed:
            self._changed.wait_for(lambda: self._pins == 0)
            done = commit()
            self._path = self._final
            return done

    def recorded_as(self, digest: str) -> None:
        self.recorded.set_result(digest)

    def failed(self, exc: BaseException) -> None:
        """The producer's run was not recorded: a dependent waiting for its digest gets ``exc``."""
        if not self.recorded.done():
            self.recorded.set_exception(exc)

    def wait(self) -> tuple[str, Path]:
        """(artifacts digest, committed artifacts dir), blocking until the producer recorded its run; raises what
        kept it from recording it."""
        return self.recorded.result(), self._final
