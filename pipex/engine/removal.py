"""A ``remove_tree`` for the workspace's maintenance (``prune``, ``rm``…) that reaches for the engine only when
needed: the workspace stays storage and never opens a runtime itself; its callers (``Engine.workspace``, the CLI's
workspace commands) build this and hand it down."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipex.config import RuntimeKind
from pipex.errors import PipexError, WorkspaceError


def engine_remove_tree(
    kind: RuntimeKind = "auto", host: str | None = None, environ: Any = None
) -> Callable[[Path], None]:
    """A ``remove_tree`` that connects to the engine only when the user cannot delete a file by themselves
    (files a container wrote as a subordinate uid under rootless Podman)."""

    def remove_tree(path: Path) -> None:
        # start-up: the runtime clients cost ~50 ms to import, and most deletions never need the engine
        from pipex.runtime.factory import open_runtime

        try:
            runtime = open_runtime(kind, host, environ=environ)
        except PipexError as exc:
            raise WorkspaceError(
                f"cannot delete {path}: files in it belong to a container user, and no engine answers "
                f"to delete them ({exc.message})",
                hint=f"start the engine, or run `podman unshare rm -rf {path}`",
            ) from exc
        try:
            # The helper container needs an image the engine has: one a run of this workspace used.
            image = next((ref for ref in _images_near(path) if runtime.image(ref) is not None), None)
            runtime.remove_tree(path, image=image)
        finally:
            runtime.close()

    return remove_tree


def _images_near(path: Path) -> list[str]:
    """The images (IDs first) of the runs of the workspace that holds ``path`` (or is ``path``), newest first."""
    for base in (path, *path.parents):
        runs = base / "runs"
        if not runs.is_dir():
            continue
        found: list[str] = []
        for meta in sorted(runs.glob("*/meta.json"), reverse=True):
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for key in ("imageId", "image"):
                ref = data.get(key) if isinstance(data, dict) else None
                if isinstance(ref, str) and ref and ref not in found:
                    found.append(ref)
        return found
    return []
