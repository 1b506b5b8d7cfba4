"""A store record (``ac/<hex>``): its JSON shape, written by ``Store.put`` and checked field by field when read.

A record read from the store may have been written by anybody with write access to it: ``parse`` accepts only the
exact shape below and bounded sizes, and raises ``StoreCorrupt`` naming the first problem otherwise::

    {"format": "pipex-store-1", "fingerprint": "sha256:<hex>", "artifactsDigest": "sha256:<hex>",
     "artifactsSize": N, "storedAt": "<ISO 8601>", "meta": {... the run's meta.json ...},
     "tree": [["d", "sub"], ["f", "sub/a.csv", "<sha256 hex>", size], ["x", "run.sh", "<hex>", size],
              ["l", "latest", "<target>"]],
     "logs": {"stdout.log": ["<hex>", size], "stderr.log": ["<hex>", size]}}

``tree`` lists directories before their contents; ``x`` is a file with its user-execute bit set, ``l`` a symlink the
step wrote (recreated as the same link, never followed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pipex.errors import StoreCorrupt
from pipex.workspace.safetree import name_problem

FORMAT = "pipex-store-1"
MAX_RECORD_BYTES = 64 * 1024 * 1024  # a record lists names and digests: far below this even for 100k files
LOG_NAMES = ("stdout.log", "stderr.log")
_HEX = re.compile(r"[0-9a-f]{64}")
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")

EntryKind = Literal["d", "f", "x", "l"]


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    rel: str
    blob: str = ""  # sha256 hex of a file's bytes
    size: int = 0
    target: str = ""  # a symlink's target


@dataclass(frozen=True, slots=True)
class Record:
    fingerprint: str
    artifacts_digest: str
    artifacts_size: int
    stored_at: str
    meta: Mapping[str, Any]
    tree: tuple[Entry, ...]
    logs: Mapping[str, tuple[str, int]]

    def blobs(self) -> dict[str, int]:
        """Every blob the record refers to → its size."""
        out = {e.blob: e.size for e in self.tree if e.kind in ("f", "x")}
        out.update(dict(self.logs.values()))
        return out

    def to_json(self) -> bytes:
        tree: list[list[Any]] = []
        for e in self.tree:
            if e.kind == "d":
                tree.append([e.kind, e.rel])
            elif e.kind == "l":
                tree.append([e.kind, e.rel, e.target])
            else:
                tree.append([e.kind, e.rel, e.blob, e.size])
        doc = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "artifactsDigest": self.artifacts_digest,
            "artifactsSize": self.artifacts_size,
            "storedAt": self.stored_at,
            "meta": dict(self.meta),
            "tree": tree,
            "logs": {name: list(value) for name, value in self.logs.items()},
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def fingerprint_key(fingerprint: str) -> str:
    """The hex part of ``sha256:<hex>`` (the record's file name); ``ValueError`` for anything else."""
    if not _FINGERPRINT.fullmatch(fingerprint):
        raise ValueError(f"not a fingerprint: {fingerprint!r}")
    return fingerprint[len("sha256:") :]


def is_blob_name(name: str) -> bool:
    return bool(_HEX.fullmatch(name))


def check_rel(rel: Any) -> str:
    """A path a record names, if a copy can reproduce it below the destination and nowhere else."""
    if not isinstance(rel, str) or not rel:
        raise StoreCorrupt("a path in the record is empty or not a string")
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\0" in rel:
        raise StoreCorrupt(f"the record names a path outside its tree: {rel!r}")
    problem = name_problem(rel)
    if problem is not None:
        raise StoreCorrupt(f"the record names an unreproducible path {rel!r}: {problem}")
    return rel


def _size(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise StoreCorrupt("a size in the record is not a non-negative integer")
    return value


def _blob(value: Any) -> str:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise StoreCorrupt("a blob digest in the record is malformed")
    return value


def _entry(item: Any, dirs: set[str]) -> Entry:
    if not isinstance(item, list) or not item or item[0] not in ("d", "f", "x", "l"):
        raise StoreCorrupt("a tree entry of the record is malformed")
    kind = item[0]
    want = {"d": 2, "l": 3, "f": 4, "x": 4}[kind]
    if len(item) != want:
        raise StoreCorrupt("a tree entry of the record is malformed")
    rel = check_rel(item[1])
    parent = rel.rpartition("/")[0]
    if parent and parent not in dirs:
        raise StoreCorrupt(f"the record lists {rel!r} before its directory")
    if rel in dirs:
        raise StoreCorrupt(f"the record lists {rel!r} twice")
    if kind == "d":
        dirs.add(rel)
        return Entry("d", rel)
    if kind == "l":
        target = item[2]
        if not isinstance(target, str) or not target or "\0" in target or len(target) > 4096:
            raise StoreCorrupt(f"the record's link {rel!r} has a malformed target")
        return Entry("l", rel, target=target)
    return Entry(kind, rel, blob=_blob(item[2]), size=_size(item[3]))


def parse(data: bytes, fingerprint: str) -> Record:
    """The record in ``data``, checked; ``StoreCorrupt`` for anything else (truncated JSON included)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise StoreCorrupt("the record is not valid JSON (truncated?)") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StoreCorrupt(f"the record is not in the {FORMAT} format")
    if doc.get("fingerprint") != fingerprint:
        raise StoreCorrupt("the record is filed under another fingerprint than its own")
    digest, meta, tree, logs = doc.get("artifactsDigest"), doc.get("meta"), doc.get("tree"), doc.get("logs")
    if not isinstance(digest, str) or not _FINGERPRINT.fullmatch(digest):
        raise StoreCorrupt("the record's artifacts digest is malformed")
    if not isinstance(meta, dict) or meta.get("status") != "success":
        raise StoreCorrupt("the record's meta is not a successful run's")
    if not isinstance(tree, list) or not isinstance(logs, dict) or set(logs) - set(LOG_NAMES):
        raise StoreCorrupt("the record's tree or logs are malformed")
    stored_at = doc.get("storedAt")
    if not isinstance(stored_at, str):
        raise StoreCorrupt("the record's storedAt is malformed")
    dirs: set[str] = set()
    entries = tuple(_entry(item, dirs) for item in tree)
    checked_logs: dict[str, tuple[str, int]] = {}
    for name, value in logs.items():
        if not isinstance(value, list) or len(value) != 2:
            raise StoreCorrupt(f"the record's {name} is malformed")
        checked_logs[name] = (_blob(value[0]), _size(value[1]))
    return Record(fingerprint, digest, _size(doc.get("artifactsSize")), stored_at, meta, entries, checked_logs)
