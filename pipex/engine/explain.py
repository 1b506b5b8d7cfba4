"""Why a step will run: compare its fingerprint parts with those of its last successful run.

Reasons come in a fixed order — format, image, cmd, setup, outputPath, allowNetwork, env, inputs, mounts, sources,
kit — and within a group sorted by name, so the same change always reads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipex.engine.digest import TRUNCATED, diff_manifests
from pipex.engine.fingerprint import ABSENT, FingerprintResult

_MAX_FILES = 3  # files named per mount before "and N more"
_SIMPLE = (
    ("cmd", "cmd changed"),
    ("setup", "setup changed"),
    ("outputPath", "outputPath changed"),
    ("allowNetwork", "allowNetwork changed"),
)


def short_id(image_id: str) -> str:
    """``sha256:`` and the first 12 hex digits, as engines print image ids."""
    algorithm, _, hexdigits = image_id.rpartition(":")
    return f"{algorithm or 'sha256'}:{hexdigits[:12]}"


def _members(before: Mapping[str, str], after: Mapping[str, str], group: str) -> list[tuple[str, str]]:
    """(name, "added" | "removed" | "changed") for the ``<group>.<name>`` parts that differ, sorted by name."""
    prefix = group + "."
    names = {key[len(prefix) :] for parts in (before, after) for key in parts if key.startswith(prefix)}
    found = []
    for name in sorted(names):
        old, new = before.get(prefix + name), after.get(prefix + name)
        if old != new:
            found.append((name, "added" if old is None else "removed" if new is None else "changed"))
    return found


def _files(old: Mapping[str, str] | None, new: Mapping[str, str] | None) -> str:
    if old is None or new is None or TRUNCATED in old or TRUNCATED in new:  # too big to list (or not saved)
        return "contents changed"
    diff = diff_manifests(old, new)
    items = sorted(
        [(p, "changed") for p in diff.changed]
        + [(p, "added") for p in diff.added]
        + [(p, "removed") for p in diff.removed]
    )
    if not items or items == [("", "changed")]:
        return "contents changed"
    text = ", ".join(f"{path or '.'} {verb}" for path, verb in items[:_MAX_FILES])
    if len(items) > _MAX_FILES:
        text += f" and {len(items) - _MAX_FILES} more"
    return text


def explain(
    current: FingerprintResult,
    previous_parts: Mapping[str, str] | None,
    *,
    forced: bool = False,
    previous_manifests: Mapping[str, Mapping[str, str]] | None = None,
    current_manifests: Mapping[str, Mapping[str, str]] | None = None,
) -> list[str]:
    """Human reasons why ``current`` is not a cache hit against ``previous_parts`` (``fingerprintParts`` of the
    last successful run; ``None``: there is none).

    Manifests are keyed like the parts (``mounts./app``); ``current_manifests`` defaults to those of
    ``current.trees``. Without the previous ones a changed mount reads ``contents changed``. An empty list means
    every part is equal (the caller's reason applies, e.g. the previous run is gone from disk).
    """
    if forced:
        return ["forced"]
    if previous_parts is None:
        return ["no previous successful run"]
    now = current.parts
    if previous_parts.get("v") != now.get("v"):
        return ["fingerprint format changed"]
    old_manifests = previous_manifests or {}
    new_manifests = current.manifests() if current_manifests is None else current_manifests

    def changed(key: str) -> bool:
        return previous_parts.get(key) != now.get(key)

    reasons: list[str] = []
    if changed("image"):
        new_id = short_id(current.image_id)
        if changed("image.ref"):
            reasons.append(f"image changed to {current.image_ref} ({new_id})")
        else:
            reasons.append(f"image {current.image_ref} now resolves to {new_id}")
    reasons.extend(message for key, message in _SIMPLE if changed(key))

    before = len(reasons)
    reasons.extend(f"env: {name} {status}" for name, status in _members(previous_parts, now, "env"))
    if len(reasons) == before and changed("env"):
        reasons.append("env changed")
    before = len(reasons)
    for step, status in _members(previous_parts, now, "inputs"):
        if status != "changed":
            reasons.append(f"input {step} {status}")
        elif now[f"inputs.{step}"] == ABSENT:
            reasons.append(f"input {step}: no longer available")
        else:
            reasons.append(f"input {step}: artifacts changed")
    if len(reasons) == before and changed("inputs"):
        reasons.append("inputs changed")  # copyToOutput toggled, or the inputs reordered
    for prefix, label in (("mounts", "mount"), ("sources", "source")):
        before = len(reasons)
        for container, status in _members(previous_parts, now, prefix):
            if status != "changed":
                reasons.append(f"{label} {container} {status}")
            else:
                key = f"{prefix}.{container}"
                reasons.append(f"{label} {container}: {_files(old_manifests.get(key), new_manifests.get(key))}")
        if len(reasons) == before and changed(prefix):
            reasons.append(f"{prefix} changed")  # reordered
    if changed("kit"):
        reasons.append("kit parameters changed")
    # Secrets with affectsOutput (by name, never a value: the parts are digests of HMACs).
    reasons.extend(f"secret {name} {status}" for name, status in _members(previous_parts, now, "secrets"))
    read_verbs = {"changed": "changed", "added": "now read", "removed": "no longer read"}
    reasons.extend(f"{ref} {read_verbs[status]}" for ref, status in _members(previous_parts, now, "reads"))
    return reasons
