"""The shared cache (``cacheStore``): finished step runs, content-addressed by fingerprint, shared between workdirs,
machines and users.

Layout of a store directory (all of it may be on a shared filesystem)::

    ac/<hex>             one JSON record per fingerprint ``sha256:<hex>``: the run's meta, the artifacts tree (names,
                         kinds, blob digests, sizes), the logs' blob digests, and the artifacts digest
    cas/<hh>/<hex>       file contents by SHA-256 (``hh``: its first two hex digits), written once, read-only
    tmp/                 writes in progress (each write: a temp file here, fsync, rename into place)

Every byte read from a store is treated as hostile, like a container's output: records are bounded and checked
(paths are relative, reproducible and created below the destination's descriptors only), every blob is hashed while
it is copied and must match its name, and the caller compares the artifacts digest of what was materialised (computed
from the listing it was materialised from: ``Fetched.tree``) with the record's. A record appears by one rename after
all its blobs are in place, so readers never see a partial entry; two writers of one entry write the same bytes and
the later rename wins harmlessly.

The store imports the workspace's safe tree walker and nothing above it (the engine drives it).
"""

from pipex.store.store import Fetched, Peeked, Store

__all__ = ["Fetched", "Peeked", "Store"]
