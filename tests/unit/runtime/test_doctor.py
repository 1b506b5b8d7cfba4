"""``pipex doctor`` checks, fed with fakes: discovery results, RuntimeInfo and host facts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pipex.errors import ConfigError, EngineError
from pipex.runtime.base import RuntimeInfo
from pipex.runtime.discovery import Attempt, DiscoveryFailed, Endpoint
from pipex.runtime.doctor import Check, Report, checks, diagnose, probe_network
from pipex.runtime.errors_map import NETWORK_HINT, classify_container_failure
from pipex.runtime.factory import Connection
from pipex.runtime.fake import FakeRuntime
from pipex.runtime.host import HostFacts

URL = "unix:///run/user/1000/podman/podman.sock"
ENDPOINT = Endpoint(
    URL, "libpod", "rootless Podman socket", None, (Attempt(URL, "rootless Podman socket", "answered"),)
)
INFO = RuntimeInfo(
    engine="podman", version="5.2.0", api_version="5.2.0", endpoint=URL, rootless=True, libpod_api=True,
    supports_keep_id=True, cgroup_version="v2", cgroup_controllers=("cpu", "memory", "pids"), oci_runtime="crun",
    storage_driver="overlay", network_backend="netavark",
)  # fmt: skip
FACTS = HostFacts(
    uid=1000, user="ana", cgroup_layout="v2", selinux="disabled", subuids=65536, subgids=65536, runc=True,
    xdg_runtime_dir="/run/user/1000", net_helpers=("pasta", "slirp4netns"), tun=True,
)  # fmt: skip


def run(
    *,
    endpoint: Endpoint | None = ENDPOINT,
    error: Any = None,
    info: RuntimeInfo | None = INFO,
    facts: HostFacts = FACTS,
    environ: dict[str, str] | None = None,
) -> dict[str, Check]:
    found = checks(endpoint=endpoint, error=error, info=info, facts=facts, environ=environ or {})
    names = [c.name for c in found]
    assert len(names) == len(set(names))
    return {c.name: c for c in found}


def test_a_healthy_rootless_podman() -> None:
    found = run()
    assert list(found) == [
        "xdg-runtime-dir", "endpoint", "engine", "mode", "oci-runtime", "storage", "cgroups", "network",
        "rootless-network", "selinux", "subuid",
    ]  # fmt: skip
    assert {c.status for c in found.values()} == {"ok"}
    assert found["endpoint"].detail == f"{URL} (rootless Podman socket)"
    assert found["engine"].detail == "podman 5.2.0 (libpod API 5.2.0)"
    assert found["mode"].detail == "rootless: container root is your user"
    assert found["cgroups"].detail == "cgroup v2, host layout v2; controllers for limits: cpu, memory, pids"
    assert found["network"].detail == "netavark"
    assert found["subuid"].detail == "65536 subuids, 65536 subgids"
    assert found["xdg-runtime-dir"].detail == "XDG_RUNTIME_DIR=/run/user/1000"


def test_no_socket() -> None:
    attempts = (
        Attempt(URL, "rootless Podman socket", "not found"),
        Attempt("podman system service", "private Podman service: no socket found", "no podman binary on PATH"),
    )
    error = DiscoveryFailed("no container engine answers; tried: …", attempts, hint="install podman")
    found = run(endpoint=None, error=error, info=None)
    assert found["endpoint"] == Check(
        "endpoint",
        "fail",
        "no engine socket and no podman binary\nno container engine answers; tried: …",
        "install podman",
    )
    assert "engine" not in found
    assert not Report(tuple(found.values())).can_run


def test_socket_not_reachable() -> None:
    attempts = (
        Attempt("unix:///var/run/docker.sock", "Docker socket", "permission denied: your user may not use this socket"),
    )
    error = DiscoveryFailed("no container engine answers; tried: …", attempts, hint="add your user to its group")
    found = run(endpoint=None, error=error, info=None)
    assert found["endpoint"].status == "fail"
    assert (
        found["endpoint"].detail.splitlines()[0] == "an engine socket exists but is not reachable (permission denied)"
    )
    assert found["endpoint"].fix == "add your user to its group"


def test_docker_host_without_scheme() -> None:
    error = ConfigError(
        "DOCKER_HOST='/var/run/docker.sock' has no scheme", hint="add one: DOCKER_HOST=unix:///var/run/docker.sock"
    )
    found = run(endpoint=None, error=error, info=None, environ={"DOCKER_HOST": "/var/run/docker.sock"})
    assert found["docker-host"] == Check(
        "docker-host",
        "warn",
        "DOCKER_HOST='/var/run/docker.sock' has no scheme",
        "add one: DOCKER_HOST=unix:///var/run/docker.sock",
    )
    assert found["endpoint"].status == "fail"
    assert found["endpoint"].detail == "DOCKER_HOST='/var/run/docker.sock' has no scheme"


def test_rootless_on_cgroup_v1_ignores_limits() -> None:
    info = dataclasses.replace(INFO, version="4.3.1", cgroup_version="v1", cgroup_controllers=(), oci_runtime="runc")
    found = run(info=info, facts=dataclasses.replace(FACTS, cgroup_layout="hybrid"))
    assert found["cgroups"] == Check(
        "cgroups",
        "warn",
        "cgroup v1, host layout hybrid; controllers for limits: none\n"
        "  rootless on cgroup v1: resource limits (cpus, memory, pids) will be ignored",
        "boot with cgroup v2 (kernel parameter systemd.unified_cgroup_hierarchy=1) to have them enforced",
    )
    assert found["oci-runtime"] == Check("oci-runtime", "ok", "runc")


def test_crun_on_hybrid_cgroups_suggests_runc() -> None:
    info = dataclasses.replace(INFO, cgroup_version="v1", cgroup_controllers=())
    found = run(info=info, facts=dataclasses.replace(FACTS, cgroup_layout="hybrid"))
    assert found["oci-runtime"] == Check(
        "oci-runtime",
        "fail",
        "crun on a hybrid cgroup v1/v2 host: crun refuses to start containers here",
        'set `runtime = "runc"` in the [engine] table of ~/.config/containers/containers.conf',
    )
    found = run(
        info=dataclasses.replace(info, rootless=False),
        facts=dataclasses.replace(FACTS, cgroup_layout="hybrid", runc=False),
    )
    assert found["oci-runtime"].fix == (
        'install runc (e.g. `apt install runc`), then set `runtime = "runc"` in the [engine] table of '
        "/etc/containers/containers.conf"
    )


def test_crun_on_a_remote_engine_is_not_judged_by_this_host() -> None:
    remote = dataclasses.replace(ENDPOINT, url="tcp://10.0.0.2:2375")
    found = run(
        endpoint=remote,
        info=dataclasses.replace(INFO, cgroup_version="v1"),
        facts=dataclasses.replace(FACTS, cgroup_layout="hybrid"),
    )
    assert found["oci-runtime"].status == "ok"


def test_rootless_without_delegated_controllers() -> None:
    found = run(info=dataclasses.replace(INFO, cgroup_controllers=("memory", "pids")))
    assert found["cgroups"].status == "warn"
    assert found["cgroups"].detail.splitlines()[1] == "  not delegated to your user: cpu; those limits will be ignored"
    assert found["cgroups"].fix is not None and "Delegate=cpu cpuset io memory pids" in found["cgroups"].fix


def test_no_subuid_range_means_single_uid_mapping() -> None:
    found = run(facts=dataclasses.replace(FACTS, subuids=0, subgids=0))
    assert found["subuid"] == Check(
        "subuid",
        "warn",
        "no subordinate uid/gid range for ana in /etc/subuid and /etc/subgid: single-UID mapping, images using "
        "other users (or chown) fail",
        "sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ana, then `podman system migrate`",
    )
    assert run(facts=dataclasses.replace(FACTS, subgids=1000))["subuid"].detail == (
        "only 1000 subordinate ids for ana: images with high uids (nobody=65534) fail"
    )
    assert run(info=dataclasses.replace(INFO, rootless=False), facts=dataclasses.replace(FACTS, subuids=0))[
        "subuid"
    ] == Check("subuid", "ok", "not needed (rootful engine)")


def test_xdg_runtime_dir_unset() -> None:
    found = run(facts=dataclasses.replace(FACTS, xdg_runtime_dir=None))
    assert found["xdg-runtime-dir"].status == "warn"
    assert found["xdg-runtime-dir"].fix == (
        "log in through a real session (ssh or a login shell, not `su`) or run "
        "`export XDG_RUNTIME_DIR=/run/user/1000`; "
        "`loginctl enable-linger ana` keeps it after you log out"
    )
    root = dataclasses.replace(FACTS, uid=0, user="root", xdg_runtime_dir=None)
    assert run(facts=root)["xdg-runtime-dir"] == Check("xdg-runtime-dir", "ok", "not needed (running as root)")


def test_selinux_vfs_and_private_service() -> None:
    found = run(
        info=dataclasses.replace(INFO, storage_driver="vfs"), facts=dataclasses.replace(FACTS, selinux="enforcing")
    )
    assert (
        found["selinux"].detail
        == "enforcing: inputs and mounts are relabelled shared (:z), outputs and caches private (:Z)"
    )
    assert found["storage"].status == "warn"


def test_engine_that_pings_but_fails_info() -> None:
    found = run(info=None, error=EngineError("info failed: boom", hint="restart podman"))
    assert found["endpoint"] == Check(
        "endpoint",
        "fail",
        f"{URL} (rootless Podman socket)\n  answered a ping but not `info`: info failed: boom",
        "restart podman",
    )


def test_report_json() -> None:
    report = Report((Check("a", "ok", "x"), Check("b", "warn", "y", "fix y")))
    assert report.to_json() == {
        "checks": [
            {"name": "a", "status": "ok", "detail": "x", "fix": None},
            {"name": "b", "status": "warn", "detail": "y", "fix": "fix y"},
        ],
        "summary": {"ok": 1, "warn": 1, "fail": 0, "canRun": True},
    }


def test_diagnose_asks_the_runtime_and_closes_it(tmp_path: Path) -> None:
    runtime = FakeRuntime(info=INFO)
    seen: list[tuple[Any, ...]] = []

    def connect(kind: str, host: str | None, *, environ: Any, root: Path, make: Any) -> Connection:
        seen.append((kind, host, root, make.keywords))
        return Connection(runtime, ENDPOINT)

    report = diagnose("podman", "unix:///x.sock", environ={}, root=tmp_path, facts=FACTS, connect=connect)
    # The engine's info is asked afresh: no cached answer in a diagnosis.
    assert seen == [("podman", "unix:///x.sock", tmp_path, {"environ": {}, "cache": False})]
    assert runtime.closed
    assert report.can_run
    assert [c.name for c in report.checks][:3] == ["xdg-runtime-dir", "endpoint", "engine"]


def test_diagnose_reports_a_failed_discovery(tmp_path: Path) -> None:
    def connect(kind: str, host: str | None, *, environ: Any, root: Path, make: Any) -> Connection:
        raise DiscoveryFailed("no container engine answers; tried:", (), hint="install podman")

    report = diagnose(environ={}, root=tmp_path, facts=FACTS, connect=connect)
    assert not report.can_run
    assert report.count("fail") == 1


def test_rootless_network_without_a_helper() -> None:
    found = run(facts=dataclasses.replace(FACTS, net_helpers=()))
    check = found["rootless-network"]
    assert (check.status, check.detail, check.fix) == (
        "warn",
        "neither pasta nor slirp4netns is installed: steps with allowNetwork will fail",
        "install one: `apt install slirp4netns` (or `passt` for pasta)",
    )


def test_rootless_network_without_dev_net_tun() -> None:
    check = run(facts=dataclasses.replace(FACTS, tun=False))["rootless-network"]
    assert (check.status, check.detail) == (
        "warn",
        "/dev/net/tun cannot be opened by ana: pasta and slirp4netns need it, so steps with allowNetwork will fail",
    )
    assert check.fix is not None and check.fix.startswith("`sudo chmod 0666 /dev/net/tun`")
    assert run()["rootless-network"].detail == "pasta, slirp4netns; /dev/net/tun usable"


def test_a_rootful_engine_needs_no_rootless_network() -> None:
    assert "rootless-network" not in run(info=dataclasses.replace(INFO, rootless=False))


def test_network_test_fails_when_the_network_cannot_start() -> None:
    runtime = FakeRuntime(info=INFO)
    runtime.fail("start", classify_container_failure("start failed: setting up Pasta: /dev/net/tun: Permission denied"))
    check = probe_network(runtime)
    assert check.status == "warn"
    assert check.detail == (
        "a container with network cannot start (steps with allowNetwork will fail): the container's network "
        "could not be set up: start failed: setting up Pasta: /dev/net/tun: Permission denied"
    )
    assert check.fix == NETWORK_HINT
    created = [c for c in runtime.calls if c[0] == "create"]
    assert len(created) == 1 and created[0][1][0].network is True
    assert [c[0] for c in runtime.calls][-1] == "remove"  # nothing left behind


def test_network_test_ok_even_when_the_image_lacks_the_command() -> None:
    runtime = FakeRuntime(info=INFO)
    runtime.fail("start", classify_container_failure('start failed: exec: "true": executable file not found in $PATH'))
    assert probe_network(runtime) == Check("network-test", "ok", "a container with network started (alpine:3.20)")
    assert probe_network(FakeRuntime(info=INFO)).status == "ok"


def test_network_test_without_a_local_image_pulls_nothing() -> None:
    runtime = FakeRuntime(images=[], info=INFO)
    check = probe_network(runtime)
    assert check.status == "warn"
    assert check.detail.startswith("not tested: none of alpine:3.20, alpine, busybox")
    assert all(c[0] != "pull" for c in runtime.calls)


def test_the_network_test_is_in_the_report(tmp_path: Path) -> None:
    runtime = FakeRuntime(info=INFO)

    def connect(kind: str, host: str | None, *, environ: Any, root: Path, make: Any) -> Connection:
        return Connection(runtime, ENDPOINT)

    report = diagnose(environ={}, root=tmp_path, facts=FACTS, connect=connect)
    names = [c.name for c in report.checks]
    assert names.index("network-test") == names.index("rootless-network") + 1
