"""A step's fingerprint: SHA-256 of a canonical JSON document of everything that decides what the step produces.

The document (format ``v`` 1)::

    {"v": 1,
     "image": {"ref": …, "id": …, "digest": … | null},      the resolved image: a moved tag invalidates
     "cmd": […], "outputPath": …, "allowNetwork": …,
     "setup": {"cmd": […], "allowNetwork": …, "caches": [{"name", "path"}]} | null,
     "env": {NAME: value | "hmac-sha256:<hex>"},              secret values only as an HMAC keyed per workspace
     "inputs": [{"step", "mountedAs", "copyToOutput", "digest"}],   declared order; digest: upstream artifacts
     "mounts": [{"container", "digest"}], "sources": [{"container", "digest"}],   content, never the host path
     "kit": {"name", "params"} | null,
     "secrets": {NAME: "hmac-sha256:<hex>"}}                 only secrets with affectsOutput; absent when none
     "reads": {"steps.<id>.outputs.<key>": value | null}}    only when the step's `if` reads upstream outputs

Canonical: keys sorted, separators ``(",", ":")``, ``ensure_ascii=False``, UTF-8. Inputs, mounts and sources keep
the step's declared order (reordering them is a change to the step, reported as such). An optional input whose
upstream did not run has ``"digest": null``. Not hashed, because they do not change what the step produces: the
step's name, caches (they are caches), resources, timeout, retries, condition and ``allowFailure``.

``FingerprintResult.parts`` holds each component's own digest — ``v``, ``image`` (and ``image.ref``,
``image.id``), ``cmd``, ``setup``, ``outputPath``, ``allowNetwork``, ``env`` (and ``env.NAME`` per variable),
``secrets.NAME`` (affectsOutput only), ``inputs`` (and ``inputs.<step>``: the upstream artifacts digest itself, or
``absent``), ``mounts``/``sources`` (and ``mounts.<container>``/``sources.<container>``: the tree's content digest
itself), ``kit`` — stored in ``meta.json`` as ``fingerprintParts`` so ``explain`` can say what changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipex.engine.digest import TreeDigest
from pipex.model.compose import mount_name
from pipex.model.spec import MountSpec, StepSpec
from pipex.runtime.base import ImageRef

FORMAT_VERSION = 1
ABSENT = "absent"  # the part of an optional input whose upstream did not run


def _plain(value: Any) -> Any:
    """JSON-able form of kit parameters (read-only mappings, tuples, sets, paths)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=canonical_json)
    if isinstance(value, Path):
        return str(value)
    return value


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False) builds on
# every call; made once (a fingerprint is ~14 canonical documents).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class FingerprintResult:
    value: str  # "sha256:<hex>"
    doc: Mapping[str, Any]  # the document before canonical JSON (secret values appear only as HMACs)
    document: str  # the canonical JSON that was hashed
    image: ImageRef
    # Content digests of mounts and sources, by part name ("mounts./app"), for their manifests.
    trees: Mapping[str, TreeDigest] = field(default_factory=dict)

    @property
    def image_ref(self) -> str:
        return self.image.reference

    @property
    def image_id(self) -> str:
        return self.image.id

    @property
    def parts(self) -> dict[str, str]:
        """A digest per part (``fingerprintParts`` in meta.json, what ``--explain`` compares): computed when
        asked, since a cache hit needs only ``value`` (a dozen canonical documents a step saved)."""
        doc = self.doc
        parts = {key: _digest(value) for key, value in doc.items()}
        parts["image.ref"] = _digest(self.image.reference)
        parts["image.id"] = _digest([self.image.id, self.image.digest])
        parts.update({f"env.{name}": _digest([name, value]) for name, value in doc["env"].items()})
        parts.update({f"secrets.{name}": _digest([name, value]) for name, value in doc.get("secrets", {}).items()})
        # Upstream and tree digests are already digests of public content: stored as they are, they let explain
        # compare them with the upstream run's own artifactsDigest.
        parts.update({f"inputs.{item['step']}": item["digest"] or ABSENT for item in doc["inputs"]})
        parts.update({f"reads.{ref}": _digest(value) for ref, value in doc.get("reads", {}).items()})
        parts.update({key: tree.digest for key, tree in self.trees.items()})
        return dict(sorted(parts.items()))

    def manifests(self) -> dict[str, Mapping[str, str]]:
        return {key: tree.manifest for key, tree in self.trees.items()}


def secret_hmac(value: str | bytes, key: bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return "hmac-sha256:" + hmac.new(key, raw, hashlib.sha256).hexdigest()


def _env(env: Mapping[str, str], secret_names: Collection[str], hmac_key: bytes | None) -> dict[str, str]:
    secrets_here = [name for name in env if name in secret_names]
    if secrets_here and not hmac_key:
        # A plain hash of a short secret can be brute-forced from meta.json; refuse rather than leak.
        raise ValueError(f"secret variables {sorted(secrets_here)} need an hmac_key to be fingerprinted")
    return {
        name: secret_hmac(value, hmac_key) if hmac_key and name in secret_names else value
        for name, value in env.items()
    }


def compute(
    spec: StepSpec,
    *,
    image: ImageRef,
    input_digests: Mapping[str, str],
    mount_digest: Callable[[Path], TreeDigest],
    secret_names: Collection[str] = frozenset(),
    hmac_key: bytes | None = None,
    secrets: Mapping[str, bytes] | None = None,
    reads: Mapping[str, Any] | None = None,
) -> FingerprintResult:
    """The fingerprint of ``spec`` run on ``image``.

    ``input_digests``: upstream step id → artifacts digest of the run this step will read (an optional input that
    is absent may be missing, and any input of a ``when: always|failure`` step; a required one may not).
    ``mount_digest``: the content digest of a host path, usually ``functools.partial(tree_digest, cache=...)``.
    ``secrets``: values of the secrets that affect the output (``affectsOutput``), entered as HMACs with
    ``hmac_key``; by default a secret is not in the document (a rotated token does not re-run a step).
    ``reads``: the upstream outputs the step's condition read (reference → value; absent from the document when
    empty, so a step that reads none keeps the fingerprint it always had).
    """
    trees: dict[str, TreeDigest] = {}

    def hosts(kind: str, mounts: tuple[MountSpec, ...]) -> list[dict[str, Any]]:
        entries = []
        for mount in mounts:
            tree = trees[f"{kind}.{mount.container}"] = mount_digest(mount.host)
            entries.append({"container": mount.container, "digest": tree.digest})
        return entries

    inputs: list[dict[str, Any]] = []
    for item in spec.inputs:
        digest = input_digests.get(item.step)
        if digest is None and not item.optional and spec.when == "success":  # other `when`s run without some
            raise ValueError(f"step {spec.id!r}: no artifacts digest for its required input {item.step!r}")
        inputs.append(
            {
                "step": item.step,
                "mountedAs": f"/input/{mount_name(spec.id, item.step)}",
                "copyToOutput": item.copy_to_output,
                "digest": digest,
            }
        )
    setup = spec.setup
    doc: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "image": {"ref": image.reference, "id": image.id, "digest": image.digest},
        "cmd": list(spec.cmd),
        "setup": None
        if setup is None
        else {
            "cmd": list(setup.cmd),
            "allowNetwork": setup.allow_network,
            "caches": [{"name": c.name, "path": c.path} for c in setup.caches],
        },
        "outputPath": spec.output_path,
        "allowNetwork": spec.allow_network,
        "env": _env(spec.env, secret_names, hmac_key),
        "inputs": inputs,
        "mounts": hosts("mounts", spec.mounts),
        "sources": hosts("sources", spec.sources),
        "kit": None if spec.kit is None else {"name": spec.kit.name, "params": _plain(spec.kit.params)},
    }
    if secrets:
        if not hmac_key:
            raise ValueError("secrets that affect the output need an hmac_key to be fingerprinted")
        doc["secrets"] = {name: secret_hmac(value, hmac_key) for name, value in sorted(secrets.items())}
    if reads:
        doc["reads"] = dict(reads)
    document = canonical_json(doc)
    value = "sha256:" + hashlib.sha256(document.encode("utf-8", "surrogatepass")).hexdigest()
    return FingerprintResult(value, doc, document, image, trees)
