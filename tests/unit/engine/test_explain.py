from __future__ import annotations

import dataclasses
from pathlib import Path

from pipex.engine.digest import TRUNCATED, TreeDigest
from pipex.engine.explain import explain, short_id
from pipex.model.spec import InputSpec, KitRef, MountSpec, frozen_map
from pipex.runtime.base import ImageRef
from tests.unit.engine.test_fingerprint import IMAGE, INPUTS, fp, make_spec

PREVIOUS = fp()


def test_first_run_and_forced() -> None:
    assert explain(PREVIOUS, None) == ["no previous successful run"]
    assert explain(PREVIOUS, PREVIOUS.parts, forced=True) == ["forced"]
    assert explain(PREVIOUS, None, forced=True) == ["forced"]


def test_nothing_changed() -> None:
    assert explain(fp(), PREVIOUS.parts) == []


def test_format_changed() -> None:
    old = {**PREVIOUS.parts, "v": "sha256:other", "cmd": "sha256:other"}
    assert explain(PREVIOUS, old) == ["fingerprint format changed"]
    assert explain(PREVIOUS, {"fingerprint": "legacy"}) == ["fingerprint format changed"]


def test_image_moved_tag_and_new_reference() -> None:
    moved = fp(image=dataclasses.replace(IMAGE, id="sha256:0123456789abcdef" + "0" * 48))
    assert explain(moved, PREVIOUS.parts) == ["image python:3.12-slim now resolves to sha256:0123456789ab"]
    other = fp(image=ImageRef("python:3.13-slim", "fedcba9876543210" + "0" * 48))
    assert explain(other, PREVIOUS.parts) == ["image changed to python:3.13-slim (sha256:fedcba987654)"]


def test_simple_components_in_fixed_order() -> None:
    changed = fp(
        make_spec(
            cmd=("python", "b.py"),
            setup=None,
            output_path="/out",
            allow_network=True,
            kit=KitRef("python", frozen_map({"version": "3.13"})),
        )
    )
    assert explain(changed, PREVIOUS.parts) == [
        "cmd changed",
        "setup changed",
        "outputPath changed",
        "allowNetwork changed",
        "kit parameters changed",
    ]


def test_env_variables_by_name() -> None:
    changed = fp(make_spec(env={"FOO": "2", "TOKEN": "rotated", "ZED": "new"}))
    assert explain(changed, PREVIOUS.parts) == [
        "env: BAR removed",
        "env: FOO changed",
        "env: TOKEN changed",
        "env: ZED added",
    ]


def test_inputs() -> None:
    upstream = fp(input_digests={**INPUTS, "download": "sha256:" + "9" * 64})
    assert explain(upstream, PREVIOUS.parts) == ["input download: artifacts changed"]
    gone = fp(input_digests={"download": INPUTS["download"]})
    assert explain(gone, PREVIOUS.parts) == ["input extra: no longer available"]
    fewer = fp(
        make_spec(inputs=(InputSpec("download"), InputSpec("prep"))),
        input_digests={**INPUTS, "prep": "sha256:" + "3" * 64},
    )
    assert explain(fewer, PREVIOUS.parts) == ["input extra removed", "input prep added"]
    reordered = fp(make_spec(inputs=(InputSpec("extra", copy_to_output=True, optional=True), InputSpec("download"))))
    assert explain(reordered, PREVIOUS.parts) == ["inputs changed"]


def manifest_tree(manifest: dict[str, str]) -> TreeDigest:
    return TreeDigest("sha256:" + str(sorted(manifest.items())), 0, len(manifest), manifest)


OLD_APP = {"scripts": "d", "scripts/analyze.py": "f:1", "scripts/util.py": "f:2", "README": "f:3"}


def with_app(manifest: dict[str, str]) -> tuple[list[str], list[str]]:
    current = fp(mount_digest=lambda p: manifest_tree(manifest) if p.name == "scripts" else manifest_tree({}))
    previous = fp(mount_digest=lambda p: manifest_tree(OLD_APP) if p.name == "scripts" else manifest_tree({}))
    return (
        explain(current, previous.parts, previous_manifests=previous.manifests()),
        explain(current, previous.parts),
    )


def test_mount_names_the_changed_file() -> None:
    named, unnamed = with_app({**OLD_APP, "scripts/analyze.py": "f:9"})
    assert named == ["mount /app: scripts/analyze.py changed"]
    assert unnamed == ["mount /app: contents changed"]


def test_mount_names_three_files_then_counts() -> None:
    new = {"scripts": "d", "scripts/analyze.py": "x:1", "a": "f:4", "b": "f:5", "data": "d", "data/c": "f:6"}
    named, _ = with_app(new)
    assert named == ["mount /app: README removed, a added, b added and 3 more"]


def test_mount_single_file_root() -> None:
    named, _ = with_app({"": "f:1"})
    assert named == ["mount /app: . added, README removed, scripts/analyze.py removed and 1 more"]
    previous = fp(mount_digest=lambda p: manifest_tree({"": "f:1"}))
    current = fp(mount_digest=lambda p: manifest_tree({"": "f:2"}))
    assert explain(current, previous.parts, previous_manifests=previous.manifests()) == [
        "mount /app: contents changed",
        "source /src: contents changed",
    ]


def test_mounts_added_removed_and_sources() -> None:
    spec = make_spec(mounts=(MountSpec(Path("/p/data"), "/data"),), sources=(MountSpec(Path("/p/lib"), "/src"),))
    assert explain(fp(spec), PREVIOUS.parts) == [
        "mount /app removed",
        "mount /data added",
        "source /src: contents changed",
    ]


def test_short_id() -> None:
    assert short_id("sha256:" + "ab" * 32) == "sha256:" + "ab" * 6
    assert short_id("ab" * 32) == "sha256:" + "ab" * 6


def test_a_tree_too_big_to_list_reads_contents_changed() -> None:
    named, _ = with_app({TRUNCATED: ""})  # now too big: never "every file removed"
    assert named == ["mount /app: contents changed"]
    previous = fp(mount_digest=lambda p: manifest_tree({TRUNCATED: ""}))
    current = fp(mount_digest=lambda p: manifest_tree({"a": "f:1"}))
    assert explain(current, previous.parts, previous_manifests=previous.manifests()) == [
        "mount /app: contents changed",  # was too big to list: never "a added"
        "source /src: contents changed",
    ]
