"""Resource limits: parsing, the enforcement record, and --strict-limits."""

from __future__ import annotations

import dataclasses

import pytest

from pipex.engine.limits import to_resources
from pipex.errors import FeatureUnsupported, PipelineError
from pipex.model.limits import parse_cpus, parse_memory, parse_pids
from pipex.model.spec import ResourcesSpec
from pipex.runtime.base import Resources, RuntimeInfo
from pipex.runtime.resources import enforcement, require_enforced

GIB = 1024**3

ROOTLESS_V2 = RuntimeInfo(
    engine="podman", version="5.2.0", api_version="5.2.0", endpoint="unix:///x", rootless=True, libpod_api=True,
    supports_keep_id=True, cgroup_version="v2", cgroup_controllers=("cpu", "memory", "pids"),
)  # fmt: skip
# This machine: Debian 12 on hybrid cgroups; Podman reports v1 and no controllers for a rootless user.
ROOTLESS_V1 = dataclasses.replace(ROOTLESS_V2, version="4.3.1", cgroup_version="v1", cgroup_controllers=())
ROOTFUL_V1 = dataclasses.replace(ROOTLESS_V1, rootless=False, cgroup_controllers=("cpu", "cpuset", "memory", "pids"))


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512m", 512 * 1024**2),
        ("2g", 2 * GIB),
        ("1.5G", int(1.5 * GIB)),
        ("2GB", 2 * GIB),
        ("512MiB", 512 * 1024**2),
        (" 64 m ", 64 * 1024**2),
        ("1t", 1024**4),
        ("10000000", 10_000_000),
        ("8192k", 8 * 1024**2),
        (268435456, 268435456),
    ],
)
def test_memory(text: object, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", 'memory must be a size like "512m", "2g" or a number of bytes (got \'lots\')'),
        ("2x", 'memory must be a size like "512m", "2g" or a number of bytes (got \'2x\')'),
        ("-1g", 'memory must be a size like "512m", "2g" or a number of bytes (got \'-1g\')'),
        (1.5, 'memory must be a size like "512m", "2g" or a number of bytes (got 1.5)'),
        (True, 'memory must be a size like "512m", "2g" or a number of bytes (got True)'),
        ("1m", "memory must be at least 6m, the least an engine accepts (got '1m')"),
        (0, "memory must be at least 6m, the least an engine accepts (got 0)"),
    ],
)
def test_bad_memory(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_memory(value)
    assert str(caught.value) == message


def test_cpus_and_pids() -> None:
    assert parse_cpus(1.5) == 1.5
    assert parse_cpus("0.5") == 0.5
    assert parse_cpus(2) == 2.0
    assert parse_pids(512) == 512
    for bad in (0, -1, "many", float("inf"), float("nan"), True):
        with pytest.raises(ValueError, match=r"^cpus must be a number of CPUs greater than 0, like 1.5 \(got "):
            parse_cpus(bad)
    for bad in (0, -5, 1.5, "512", True):
        with pytest.raises(ValueError, match=r"^pids must be a whole number greater than 0, like 512 \(got "):
            parse_pids(bad)


def test_to_resources_reports_every_bad_field() -> None:
    assert to_resources(ResourcesSpec(cpus=1.5, memory="2g", pids=512)) == Resources(1.5, 2 * GIB, 512)
    assert to_resources(None) == Resources()
    with pytest.raises(PipelineError) as caught:
        to_resources(ResourcesSpec(cpus=0, memory="huge"), location="steps[1].resources")
    assert [str(p) for p in caught.value.problems] == [
        "steps[1].resources.cpus: cpus must be a number of CPUs greater than 0, like 1.5 (got 0)",
        'steps[1].resources.memory: memory must be a size like "512m", "2g" or a number of bytes (got \'huge\')',
    ]
    assert caught.value.message == "invalid pipeline: 2 problems"


def test_enforcement_record() -> None:
    limits = Resources(cpus=1.5, memory=2 * GIB, pids=None)
    assert enforcement(limits, ROOTLESS_V2) == {
        "cpus": {"value": 1.5, "enforced": True},
        "memory": {"value": 2 * GIB, "enforced": True},
    }
    assert enforcement(limits, ROOTFUL_V1)["memory"] == {"value": 2 * GIB, "enforced": True}
    assert enforcement(Resources(), ROOTLESS_V1) == {}


def test_rootless_on_cgroup_v1_enforces_nothing() -> None:
    record = enforcement(Resources(cpus=1, memory=512 * 1024**2, pids=64), ROOTLESS_V1)
    reason = "rootless containers cannot have limits on cgroup v1"
    assert record == {
        "cpus": {"value": 1, "enforced": False, "reason": reason},
        "memory": {"value": 512 * 1024**2, "enforced": False, "reason": reason},
        "pids": {"value": 64, "enforced": False, "reason": reason},
    }


def test_rootless_v2_without_delegation() -> None:
    info = dataclasses.replace(ROOTLESS_V2, cgroup_controllers=("memory", "pids"))
    assert enforcement(Resources(cpus=2), info) == {
        "cpus": {"value": 2, "enforced": False, "reason": "the cpu cgroup controller is not delegated to your user"}
    }


def test_strict_limits_names_the_limit_and_why() -> None:
    require_enforced(Resources(cpus=1, memory=GIB), ROOTLESS_V2)  # enforced: nothing raised
    require_enforced(Resources(), ROOTLESS_V1)  # no limits: nothing to enforce
    with pytest.raises(FeatureUnsupported) as caught:
        require_enforced(Resources(memory=512 * 1024**2), ROOTLESS_V1)
    assert caught.value.message == (
        "enforcing the memory limit (512m) is not supported by this engine (version 4.3.1) "
        "(needs cgroup v2: rootless containers cannot have limits on cgroup v1)"
    )
    assert caught.value.hint == (
        "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or use a rootful engine; "
        "without --strict-limits the step runs with the limit ignored"
    )
    assert caught.value.exit_code == 3
    with pytest.raises(FeatureUnsupported) as caught:
        require_enforced(Resources(cpus=1.5), dataclasses.replace(ROOTLESS_V2, cgroup_controllers=("memory",)))
    assert caught.value.message == (
        "enforcing the cpus limit (1.5) is not supported by this engine (version 5.2.0) "
        "(needs the cpu cgroup controller delegated to your user)"
    )
    with pytest.raises(
        FeatureUnsupported, match=r"^enforcing the pids limit \(100\) .*\(needs the pids cgroup controller\)$"
    ):
        require_enforced(Resources(pids=100), dataclasses.replace(ROOTFUL_V1, cgroup_controllers=("cpu",)))
    with pytest.raises(FeatureUnsupported, match=r"^enforcing the memory limit \(1\.5g\) "):
        require_enforced(Resources(memory=int(1.5 * GIB)), ROOTLESS_V1)
