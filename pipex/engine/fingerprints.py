"""The run's view of fingerprints: compute them with the workspace's stat cache, and say why a step runs."""

from __future__ import annotations

import functools
import json
import os
import secrets as random
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipex.engine.digest import ARTIFACTS_FORMAT, Heavy, TreeDigest, tree_digest
from pipex.engine.fingerprint import FingerprintResult, compute
from pipex.engine.statcache import StatCache
from pipex.errors import WorkspaceError
from pipex.model.secret import looks_secret
from pipex.model.spec import StepSpec
from pipex.runtime.base import ImageRef, Resources, RuntimeInfo, SecretMount
from pipex.workspace.layout import Workspace
from pipex.workspace.state import RunEntry

STATCACHE_FILE = ".statcache"
KEY_FILE = "secret.key"  # the workspace's random HMAC key for secret values in fingerprints (0600)
# The reason given when a dry run cannot resolve a step's image: it cannot tell cached from changed.
UNRESOLVED_IMAGE = "cannot be resolved now (engine unreachable or image absent)"


class Fingerprinter:
    def __init__(
        self,
        ws: Workspace,
        *,
        read_only: bool,
        info: Callable[[], RuntimeInfo] | None,
        secrets: Mapping[str, tuple[SecretMount, ...]] | None = None,
    ) -> None:
        """``secrets``: each step's secrets; those with ``affectsOutput`` enter its fingerprint as HMACs."""
        self.ws = ws
        self.secrets = secrets or {}
        self._key: bytes | None = None
        self._key_lock = threading.Lock()
        self.read_only = read_only  # a dry run writes nothing, not even the stat cache
        self.info = info  # asked only for steps with resource limits
        self.cache = StatCache.open(ws.path / STATCACHE_FILE, writable=not read_only)
        self._mount_digest = functools.partial(tree_digest, cache=self.cache)

    def compute(
        self,
        spec: StepSpec,
        image: ImageRef,
        input_digests: dict[str, str],
        reads: Mapping[str, Any] | None = None,
    ) -> FingerprintResult:
        names = {name for name in spec.env if looks_secret(name)}
        affecting = {s.name for s in spec.secrets if s.affects_output}
        if not names and not affecting:
            return compute(spec, image=image, input_digests=input_digests, mount_digest=self._mount_digest, reads=reads)
        values = {
            m.name: m.value if m.value is not None else f"store:{m.store}".encode()
            for m in self.secrets.get(spec.id, ())
            if m.name in affecting
        }
        return compute(
            spec,
            image=image,
            input_digests=input_digests,
            mount_digest=self._mount_digest,
            secret_names=names,
            hmac_key=self._hmac_key(),
            secrets=values,
            reads=reads,
        )

    def _hmac_key(self) -> bytes:
        """The workspace's key, made on first use (0600, published whole: two runs agree on one key). A dry
        run never writes: without a key yet, one for this process only (those steps show as changed)."""
        with self._key_lock:  # fingerprints are also computed in worker threads (early.py, mounts)
            if self._key is None:
                self._key = self._read_or_make_key()
            return self._key

    def _read_or_make_key(self) -> bytes:
        path = self.ws.path / KEY_FILE
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        key = random.token_bytes(32)
        if self.read_only or not self.ws.path.is_dir():
            return key
        # Written under a name of its own, then linked into place: another pipex never reads a key half written
        # (an exclusive create of the key itself let it read an empty file between the create and the write).
        draft = path.with_name(f".{KEY_FILE}.{random.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(key)
            try:
                os.link(draft, path)
            except FileExistsError:  # another pipex made it first: its key is the workspace's
                return path.read_bytes()
            return key
        finally:
            draft.unlink(missing_ok=True)

    def reasons(
        self,
        spec: StepSpec,
        current: FingerprintResult | None,
        last_ok: RunEntry | None,
        *,
        forced: bool,
        image: ImageRef | None,
        unknown_inputs: list[str],
    ) -> list[str]:
        """Why the step runs (or would run), in the words ``--explain`` and ``--dry-run`` print."""
        if forced:
            return ["forced"]
        if image is None:
            return [f"image {spec.image} {UNRESOLVED_IMAGE}"]
        if unknown_inputs:
            return [f"input {step} would run" for step in unknown_inputs]
        assert current is not None
        if last_ok is None:
            return ["no previous successful run"]
        run_dir = self.ws.run_dir(last_ok.run_id)
        if not run_dir.is_dir():
            return [f"previous successful run {last_ok.run_id} is gone from disk"]
        try:
            meta = self.ws.read_meta(last_ok.run_id)
        except WorkspaceError:
            return ["previous run's metadata is unreadable"]
        parts = meta.get("fingerprintParts")
        manifests = _load_json(run_dir / "manifests.json")
        from pipex.engine.explain import explain  # only a step that is not cached is explained

        found = explain(current, parts if isinstance(parts, dict) else None, previous_manifests=manifests)
        return found or ["fingerprint changed"]

    def limits(self, spec: StepSpec, *, strict: bool) -> tuple[Resources, dict[str, Any]]:
        """The engine limits of a step and the record of their enforcement (for meta.json)."""
        # start-up: a fully cached run never asks for limits
        from pipex.engine.limits import to_resources
        from pipex.runtime import resources

        limits = to_resources(spec.resources)
        if self.info is None or spec.resources is None:
            return limits, {}
        info = self.info()
        if strict:
            resources.require_enforced(limits, info)
        return limits, dict(resources.enforcement(limits, info))

    def artifacts_digest(
        self, path: Path, version: int = ARTIFACTS_FORMAT, heavy: Heavy | None = None
    ) -> tuple[str, int]:
        # No manifest and no stat cache: a step's output is hashed once, when committed, and its file list is
        # never needed (explain names files of mounts and sources only), so nothing per file is kept.
        # ``version``: another format only to check a stored run recorded in it (sharing.restore).
        # ``heavy``: told when the tree turns out big (its dependents may start while it is hashed: early.py).
        found: TreeDigest = tree_digest(path, manifest=False, version=version, heavy=heavy)
        return found.digest, found.size

    def close(self) -> None:
        if not self.read_only and self.ws.exists():
            self.cache.save()
        else:
            self.cache.close()  # never leave the database open (Python 3.13 warns of an unclosed connection)


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
