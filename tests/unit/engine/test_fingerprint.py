from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipex.engine.digest import TreeDigest, tree_digest
from pipex.engine.fingerprint import FingerprintResult, compute
from pipex.model.spec import CacheSpec, InputSpec, KitRef, MountSpec, ResourcesSpec, SetupSpec, StepSpec, frozen_map
from pipex.runtime.base import ImageRef

IMAGE = ImageRef("python:3.12-slim", "sha256:" + "a" * 64, "python@sha256:" + "b" * 64)
INPUTS = {"download": "sha256:" + "1" * 64, "extra": "sha256:" + "2" * 64}


def fake_tree(path: Path) -> TreeDigest:
    """Content digests that depend only on the last name of the path (stands for 'same content')."""
    return TreeDigest(f"sha256:tree-of-{path.name}", 1, 1, {"f": f"f:{path.name}"})


def make_spec(**changes: Any) -> StepSpec:
    spec = StepSpec(
        id="analyze",
        name="Analyze",
        image="python:3.12-slim",
        cmd=("python", "analyze.py"),
        env=frozen_map({"FOO": "1", "BAR": "two", "TOKEN": "s3cret"}),
        inputs=(InputSpec("download"), InputSpec("extra", copy_to_output=True, optional=True)),
        mounts=(MountSpec(Path("/home/u/project/scripts"), "/app"),),
        sources=(MountSpec(Path("/home/u/project/src"), "/src"),),
        caches=(CacheSpec("pip", "/root/.cache/pip"),),
        setup=SetupSpec(("pip", "install", "-r", "req.txt"), (CacheSpec("pip", "/root/.cache/pip", True),), True),
        kit=KitRef("python", frozen_map({"version": "3.12", "packages": ("numpy",)})),
    )
    return dataclasses.replace(spec, **changes)


def fp(spec: StepSpec | None = None, **kw: Any) -> FingerprintResult:
    args: dict[str, Any] = {
        "image": IMAGE,
        "input_digests": INPUTS,
        "mount_digest": fake_tree,
        "secret_names": {"TOKEN"},
        "hmac_key": b"workspace-key",
    }
    args.update(kw)
    return compute(spec or make_spec(), **args)


def test_value_is_pinned_across_runs() -> None:
    # A golden value: the format is stable across processes, hash seeds and versions of this code.
    script = "import sys; sys.path.insert(0, '.');from tests.unit.engine.test_fingerprint import fp; print(fp().value)"
    values = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).parents[3],
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert values == {fp().value}
    assert fp().value == "sha256:8b9b587f5d4ca5187732b10261d63659052588fe526e5e28d10bdb66eb8a5c65"


def test_document_is_canonical_json() -> None:
    result = fp()
    doc = json.loads(result.document)
    assert result.document == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert doc["v"] == 1
    assert doc["image"] == {"ref": IMAGE.reference, "id": IMAGE.id, "digest": IMAGE.digest}
    assert doc["inputs"] == [
        {"step": "download", "mountedAs": "/input/download", "copyToOutput": False, "digest": INPUTS["download"]},
        {"step": "extra", "mountedAs": "/input/extra", "copyToOutput": True, "digest": INPUTS["extra"]},
    ]
    assert doc["mounts"] == [{"container": "/app", "digest": "sha256:tree-of-scripts"}]
    assert doc["sources"] == [{"container": "/src", "digest": "sha256:tree-of-src"}]
    assert doc["setup"] == {
        "cmd": ["pip", "install", "-r", "req.txt"],
        "allowNetwork": True,
        "caches": [{"name": "pip", "path": "/root/.cache/pip"}],
    }
    assert doc["kit"] == {"name": "python", "params": {"packages": ["numpy"], "version": "3.12"}}
    assert "/home/u" not in result.document


def test_env_order_does_not_matter() -> None:
    reordered = make_spec(env={"TOKEN": "s3cret", "BAR": "two", "FOO": "1"})
    assert fp(reordered).value == fp().value


def test_parts() -> None:
    parts = fp().parts
    assert sorted(parts) == [
        "allowNetwork",
        "cmd",
        "env",
        "env.BAR",
        "env.FOO",
        "env.TOKEN",
        "image",
        "image.id",
        "image.ref",
        "inputs",
        "inputs.download",
        "inputs.extra",
        "kit",
        "mounts",
        "mounts./app",
        "outputPath",
        "setup",
        "sources",
        "sources./src",
        "v",
    ]
    assert parts["inputs.download"] == INPUTS["download"]
    assert parts["mounts./app"] == "sha256:tree-of-scripts"
    assert all(value.startswith("sha256:") for value in parts.values())


CHANGES: dict[str, Callable[[], FingerprintResult]] = {
    "image-id": lambda: fp(image=dataclasses.replace(IMAGE, id="sha256:" + "c" * 64)),
    "image-digest": lambda: fp(image=dataclasses.replace(IMAGE, digest=None)),
    "image-ref": lambda: fp(image=dataclasses.replace(IMAGE, reference="python:3.12")),
    "cmd": lambda: fp(make_spec(cmd=("python", "other.py"))),
    "setup-cmd": lambda: fp(make_spec(setup=SetupSpec(("true",), (CacheSpec("pip", "/root/.cache/pip"),), True))),
    "setup-network": lambda: fp(
        make_spec(setup=SetupSpec(("pip", "install", "-r", "req.txt"), (CacheSpec("pip", "/root/.cache/pip"),)))
    ),
    "setup-cache-path": lambda: fp(
        make_spec(setup=SetupSpec(("pip", "install", "-r", "req.txt"), (CacheSpec("pip", "/pip"),), True))
    ),
    "no-setup": lambda: fp(make_spec(setup=None)),
    "outputPath": lambda: fp(make_spec(output_path="/out")),
    "allowNetwork": lambda: fp(make_spec(allow_network=True)),
    "env-value": lambda: fp(make_spec(env={"FOO": "2", "BAR": "two", "TOKEN": "s3cret"})),
    "env-added": lambda: fp(make_spec(env={"FOO": "1", "BAR": "two", "TOKEN": "s3cret", "NEW": ""})),
    "secret-value": lambda: fp(make_spec(env={"FOO": "1", "BAR": "two", "TOKEN": "other"})),
    "hmac-key": lambda: fp(hmac_key=b"another-workspace"),
    "input-digest": lambda: fp(input_digests={**INPUTS, "download": "sha256:" + "9" * 64}),
    "input-absent": lambda: fp(input_digests={"download": INPUTS["download"]}),
    "input-copy": lambda: fp(make_spec(inputs=(InputSpec("download", copy_to_output=True), InputSpec("extra")))),
    "input-order": lambda: fp(make_spec(inputs=(InputSpec("extra", copy_to_output=True), InputSpec("download")))),
    "mount-content": lambda: fp(make_spec(mounts=(MountSpec(Path("/home/u/project/other"), "/app"),))),
    "mount-target": lambda: fp(make_spec(mounts=(MountSpec(Path("/home/u/project/scripts"), "/code"),))),
    "source-content": lambda: fp(make_spec(sources=(MountSpec(Path("/p/lib"), "/src"),))),
    "kit-params": lambda: fp(make_spec(kit=KitRef("python", frozen_map({"version": "3.13"})))),
    "kit-name": lambda: fp(make_spec(kit=KitRef("node", frozen_map({"version": "3.12", "packages": ("numpy",)})))),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_every_component_changes_the_value(name: str) -> None:
    assert CHANGES[name]().value != fp().value


def test_every_change_is_distinct() -> None:
    values = {name: make().value for name, make in CHANGES.items()}
    assert len(set(values.values())) == len(values)


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(make_spec(name="Renamed"), id="name"),
        pytest.param(make_spec(caches=()), id="caches"),
        pytest.param(make_spec(timeout_sec=5, retries=3, retry_delay_ms=1, allow_failure=True), id="policy"),
        pytest.param(make_spec(resources=ResourcesSpec(cpus=2)), id="resources"),
        pytest.param(make_spec(condition="env.X == '1'"), id="condition"),
        pytest.param(make_spec(mounts=(MountSpec(Path("/moved/project/scripts"), "/app"),)), id="host-path"),
        pytest.param(
            make_spec(
                setup=SetupSpec(("pip", "install", "-r", "req.txt"), (CacheSpec("pip", "/root/.cache/pip"),), True)
            ),
            id="cache-exclusive",
        ),
    ],
)
def test_what_does_not_change_the_output_does_not_count(spec: StepSpec) -> None:
    assert fp(spec).value == fp().value


def test_early_cutoff_equal_upstream_content_keeps_the_fingerprint() -> None:
    # The upstream step re-ran (a new run id) but committed the same bytes: same digest, same fingerprint.
    assert fp(input_digests=dict(INPUTS)).value == fp().value


def test_secret_value_enters_only_as_hmac() -> None:
    result = fp()
    assert "s3cret" not in result.document
    assert json.loads(result.document)["env"]["TOKEN"].startswith("hmac-sha256:")
    assert json.loads(result.document)["env"]["FOO"] == "1"
    with pytest.raises(ValueError, match=r"secret variables \['TOKEN'\] need an hmac_key"):
        fp(hmac_key=None)


def test_optional_input_absent_and_required_missing() -> None:
    absent = fp(input_digests={"download": INPUTS["download"]})
    assert absent.parts["inputs.extra"] == "absent"
    with pytest.raises(ValueError, match="no artifacts digest for its required input 'download'"):
        fp(input_digests={"extra": INPUTS["extra"]})


def test_real_trees_move_touch_and_chmod(tmp_path: Path) -> None:
    def tree(root: Path) -> Path:
        root.mkdir()
        (root / "run.sh").write_text("echo hi\n")
        return root

    first = tree(tmp_path / "one")
    spec = make_spec(mounts=(MountSpec(first, "/app"),), sources=())
    before = fp(spec, mount_digest=tree_digest)
    assert before.trees["mounts./app"].manifest == {"run.sh": before.trees["mounts./app"].manifest["run.sh"]}

    moved = tree(tmp_path / "two")
    assert fp(make_spec(mounts=(MountSpec(moved, "/app"),), sources=()), mount_digest=tree_digest).value == (
        before.value
    )
    os.utime(first / "run.sh", ns=(5, 5))
    assert fp(spec, mount_digest=tree_digest).value == before.value
    (first / "run.sh").chmod(0o755)
    assert fp(spec, mount_digest=tree_digest).value != before.value
