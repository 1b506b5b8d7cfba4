"""The run's view of fingerprints: compute them with the workspace's stat cache, and say why a step runs."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipex.engine.digest import TreeDigest, tree_digest
from pipex.engine.fingerprint import FingerprintResult, compute
from pipex.engine.statcache import StatCache
from pipex.errors import WorkspaceError
from pipex.model.spec import StepSpec
from pipex.runtime.base import ImageRef, Resources, RuntimeInfo
from pipex.workspace.layout import Workspace
from pipex.workspace.state import RunEntry

STATCACHE_FILE = ".statcache"
# The reason given when a dry run cannot resolve a step's image: it cannot tell cached from changed.
UNRESOLVED_IMAGE = "cannot be resolved now (engine unreachable or image absent)"


class Fingerprinter:
    def __init__(self, ws: Workspace, *, read_only: bool, info: Callable[[], RuntimeInfo] | None) -> None:
        self.ws = ws
        self.read_only = read_only  # a dry run writes nothing, not even the stat cache
        self.info = info  # asked only for steps with resource limits
        self.cache = StatCache.open(ws.path / STATCACHE_FILE, writable=not read_only)
        self._mount_digest = functools.partial(tree_digest, cache=self.cache)

    def compute(self, spec: StepSpec, image: ImageRef, input_digests: dict[str, str]) -> FingerprintResult:
        return compute(spec, image=image, input_digests=input_digests, mount_digest=self._mount_digest)

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
        from pipex.runtime import resources

        limits = resources.to_resources(spec.resources)
        if self.info is None or spec.resources is None:
            return limits, {}
        info = self.info()
        if strict:
            resources.require_enforced(limits, info)
        return limits, dict(resources.enforcement(limits, info))

    def artifacts_digest(self, path: Path) -> tuple[str, int]:
        # No manifest and no stat cache: a step's output is hashed once, when committed, and its file list is
        # never needed (explain names files of mounts and sources only), so nothing per file is kept.
        found: TreeDigest = tree_digest(path, manifest=False)
        return found.digest, found.size

    def close(self) -> None:
        if not self.read_only and self.ws.exists():
            self.cache.save()


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
