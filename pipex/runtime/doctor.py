"""``pipex doctor`` as data: each check is a ``Check`` (name, ok|warn|fail, detail, fix).

``checks()`` is pure — it turns what discovery found, the engine's ``RuntimeInfo`` and the host's facts into
checks — and ``diagnose()`` gathers those inputs. pipex can run when no check fails; warnings say what works
worse than it could (limits ignored, slow storage…) and how to fix it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from pipex import config
from pipex.config import RuntimeKind
from pipex.errors import NetworkUnavailable, PipexError
from pipex.runtime.base import ContainerSpec, Runtime, RuntimeInfo
from pipex.runtime.discovery import DiscoveryFailed, Endpoint, check_url
from pipex.runtime.errors_map import NETWORK_HINT
from pipex.runtime.factory import Connection, backend
from pipex.runtime.factory import connect as open_connection
from pipex.runtime.host import FULL_SUBID_RANGE, HostFacts, host_facts
from pipex.runtime.probe import socket_path
from pipex.runtime.sharedservice import SharedService

Status = Literal["ok", "warn", "fail"]
LIMIT_CONTROLLERS = ("cpu", "memory", "pids")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def can_run(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def count(self, status: Status) -> int:
        return sum(check.status == status for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "checks": [asdict(check) for check in self.checks],
            "summary": {
                "ok": self.count("ok"),
                "warn": self.count("warn"),
                "fail": self.count("fail"),
                "canRun": self.can_run,
            },
        }


def checks(
    *,
    endpoint: Endpoint | None,
    error: PipexError | None,
    info: RuntimeInfo | None,
    facts: HostFacts,
    environ: Mapping[str, str],
    network_test: Check | None = None,
) -> list[Check]:
    """Every check, in display order. ``error``: why there is no endpoint, or why ``info`` failed.
    ``network_test``: the outcome of starting a real container with network (``probe_network``)."""
    found = [*_environment(facts, environ), _endpoint(endpoint, error, info, facts.uid)]
    if info is not None:
        local = endpoint is None or socket_path(endpoint.url) is not None
        found += _engine(info, facts, local=local)
        if info.rootless and local:
            found.append(_rootless_network(facts))
        if network_test is not None:
            found.append(network_test)
    found += _host(info, facts)
    return found


def _rootless_network(facts: HostFacts) -> Check:
    """What a rootless container with network needs on this host: pasta or slirp4netns, and /dev/net/tun."""
    if not facts.net_helpers:
        return Check(
            "rootless-network",
            "warn",
            "neither pasta nor slirp4netns is installed: steps with allowNetwork will fail",
            "install one: `apt install slirp4netns` (or `passt` for pasta)",
        )
    if facts.tun is False:
        return Check(
            "rootless-network",
            "warn",
            f"/dev/net/tun cannot be opened by {facts.user}: {' and '.join(facts.net_helpers)} need it, so "
            "steps with allowNetwork will fail",
            '`sudo chmod 0666 /dev/net/tun` (and keep it with a udev rule: KERNEL=="tun", MODE="0666"), or '
            "run networked steps on a rootful engine",
        )
    return Check("rootless-network", "ok", f"{', '.join(facts.net_helpers)}; /dev/net/tun usable")


# Images a network test may use when they are already local (nothing is pulled by a diagnosis).
PROBE_IMAGES = ("alpine:3.20", "alpine", "busybox", "debian:bookworm-slim", "debian")


def probe_network(runtime: Runtime, images: Sequence[str] = PROBE_IMAGES) -> Check:
    """Start a real container with network from a local image and say whether its network came up.

    The container's command need not exist: the engine sets the network up before it runs the command, so a
    missing command still proves the network; only a network failure fails the check."""
    found = next((ref for ref in images if _local(runtime, ref)), None)
    if found is None:
        return Check(
            "network-test",
            "warn",
            f"not tested: none of {', '.join(images)} is present locally (a diagnosis pulls nothing)",
            "pull one (e.g. `podman pull alpine`), then run `pipex doctor` again",
        )
    spec = ContainerSpec(image=found, cmd=("true",), network=True, init=False, labels={"pipex": "1"})
    container = None
    try:
        container = runtime.create(spec)
        runtime.start(container)
        runtime.wait(container, timeout=PROBE_TIMEOUT)
    except NetworkUnavailable as exc:
        # A warning, not a failure: steps without allowNetwork still run.
        detail = f"a container with network cannot start (steps with allowNetwork will fail): {exc.message}"
        return Check("network-test", "warn", detail, NETWORK_HINT)
    except PipexError:
        pass  # anything but the network (a missing `true`…) is not what this check is about
    finally:
        if container is not None:
            with contextlib.suppress(PipexError):
                runtime.remove(container)
    return Check("network-test", "ok", f"a container with network started ({found})")


PROBE_TIMEOUT = 30.0


def _local(runtime: Runtime, reference: str) -> bool:
    try:
        return runtime.image(reference) is not None
    except PipexError:
        return False


def _environment(facts: HostFacts, environ: Mapping[str, str]) -> list[Check]:
    found: list[Check] = []
    for name in (config.CONTAINER_HOST, config.DOCKER_HOST):
        value = environ.get(name, "")
        if not value:
            continue
        try:
            check_url(value, name)
        except PipexError as exc:
            found.append(Check(name.lower().replace("_", "-"), "warn", exc.message, exc.hint))
    if facts.uid == 0:
        found.append(Check("xdg-runtime-dir", "ok", "not needed (running as root)"))
    elif facts.xdg_runtime_dir:
        found.append(Check("xdg-runtime-dir", "ok", f"XDG_RUNTIME_DIR={facts.xdg_runtime_dir}"))
    else:
        found.append(
            Check(
                "xdg-runtime-dir",
                "warn",
                "XDG_RUNTIME_DIR is not set: the rootless Podman socket cannot be found and Podman falls back "
                "to a directory under /tmp",
                f"log in through a real session (ssh or a login shell, not `su`) or run "
                f"`export XDG_RUNTIME_DIR=/run/user/{facts.uid}`; `loginctl enable-linger {facts.user}` keeps "
                "it after you log out",
            )
        )
    return found


def _endpoint(endpoint: Endpoint | None, error: PipexError | None, info: RuntimeInfo | None, uid: int) -> Check:
    if endpoint is None:
        message = error.message if error is not None else "no engine endpoint"
        if isinstance(error, DiscoveryFailed):
            if any(a.outcome.startswith("permission denied") for a in error.attempts):
                message = "an engine socket exists but is not reachable (permission denied)\n" + message
            elif all(a.outcome in ("not found", "no podman binary on PATH") for a in error.attempts):
                message = "no engine socket and no podman binary\n" + message
        return Check("endpoint", "fail", message, error.hint if error is not None else None)
    notes = [f"{a.url}: {a.outcome}" for a in endpoint.attempts[:-1] if a.outcome != "not found"]
    detail = f"{endpoint.url} ({endpoint.source})" + "".join(f"\n  passed over {n}" for n in notes)
    if info is None:
        hint = error.hint if error is not None else None
        return Check("endpoint", "fail", f"{detail}\n  answered a ping but not `info`: {error}", hint)
    if endpoint.service is not None:
        user = "" if uid == 0 else " --user"
        socket_hint = f"start Podman's socket once with `systemctl{user} enable --now podman.socket`"
        if isinstance(endpoint.service, SharedService):
            shared = endpoint.service
            how = "reused: started by an earlier command" if shared.reused else f"started now (pid {shared.podman_pid})"
            detail += (
                f"\n  shared by your pipex commands, {how}; it stops after {shared.idle} s without one "
                f"({config.PIPEX_SERVICE_IDLE})"
            )
            return Check("endpoint", "warn", detail, f"the first command after a pause starts it again; {socket_hint}")
        return Check(
            "endpoint",
            "warn",
            detail,
            f"pipex starts a private Podman service on every run (slower; {config.PIPEX_SERVICE_IDLE}=0); "
            + socket_hint,
        )
    return Check("endpoint", "ok", detail)


def _engine(info: RuntimeInfo, facts: HostFacts, *, local: bool) -> list[Check]:
    api = "libpod API" if info.libpod_api else "Docker API"
    found = [
        Check("engine", "ok", f"{info.engine} {info.version} ({api} {info.api_version})"),
        Check(
            "mode",
            "ok",
            "rootless: container root is your user"
            if info.rootless
            else "rootful: outputs are given back to your user after each step",
        ),
    ]
    conf = "~/.config/containers/containers.conf" if info.rootless else "/etc/containers/containers.conf"
    if info.oci_runtime == "crun" and local and facts.cgroup_layout == "hybrid":
        install = "" if facts.runc else "install runc (e.g. `apt install runc`), then "
        found.append(
            Check(
                "oci-runtime",
                "fail",
                "crun on a hybrid cgroup v1/v2 host: crun refuses to start containers here",
                f'{install}set `runtime = "runc"` in the [engine] table of {conf}',
            )
        )
    else:
        found.append(Check("oci-runtime", "ok", info.oci_runtime or "unknown"))
    if info.storage_driver == "vfs":
        found.append(
            Check(
                "storage",
                "warn",
                "vfs: every layer is a full copy (slow, disk-hungry)",
                'use overlay: install fuse-overlayfs (or a kernel ≥ 5.13) and set `driver = "overlay"` in '
                "~/.config/containers/storage.conf, then `podman system reset`",
            )
        )
    else:
        found.append(Check("storage", "ok", info.storage_driver or "unknown"))
    found.append(_cgroups(info, facts, local=local))
    # The backend's name only; whether a container really gets a network is `network-test`'s answer.
    found.append(Check("network", "ok", info.network_backend or "unknown"))
    return found


def _cgroups(info: RuntimeInfo, facts: HostFacts, *, local: bool) -> Check:
    layout = f", host layout {facts.cgroup_layout}" if local else ""
    controllers = ", ".join(info.cgroup_controllers) or "none"
    detail = f"cgroup {info.cgroup_version}{layout}; controllers for limits: {controllers}"
    if info.rootless and info.cgroup_version == "v1":
        return Check(
            "cgroups",
            "warn",
            f"{detail}\n  rootless on cgroup v1: resource limits (cpus, memory, pids) will be ignored",
            "boot with cgroup v2 (kernel parameter systemd.unified_cgroup_hierarchy=1) to have them enforced",
        )
    missing = [c for c in LIMIT_CONTROLLERS if c not in info.cgroup_controllers]
    if missing and info.cgroup_version == "v2":
        who = "delegated to your user" if info.rootless else "enabled"
        return Check(
            "cgroups",
            "warn",
            f"{detail}\n  not {who}: {', '.join(missing)}; those limits will be ignored",
            "delegate them: /etc/systemd/system/user@.service.d/delegate.conf with `[Service]` and "
            "`Delegate=cpu cpuset io memory pids`, then `systemctl daemon-reload` and log in again"
            if info.rootless
            else None,
        )
    return Check("cgroups", "ok", detail)


def _host(info: RuntimeInfo | None, facts: HostFacts) -> list[Check]:
    enforcing = facts.selinux == "enforcing" or (info is not None and info.selinux_enforcing)
    found = [
        Check(
            "selinux",
            "ok",
            "enforcing: inputs and mounts are relabelled shared (:z), outputs and caches private (:Z)"
            if enforcing
            else facts.selinux,
        )
    ]
    if facts.uid == 0:
        found.append(Check("subuid", "ok", "not needed (running as root)"))
    elif info is not None and not info.rootless:
        found.append(Check("subuid", "ok", "not needed (rootful engine)"))
    else:
        count = min(facts.subuids, facts.subgids)
        fix = (
            f"sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {facts.user}, "
            "then `podman system migrate`"
        )
        if count == 0:
            found.append(
                Check(
                    "subuid",
                    "warn",
                    f"no subordinate uid/gid range for {facts.user} in /etc/subuid and /etc/subgid: "
                    "single-UID mapping, images using other users (or chown) fail",
                    fix,
                )
            )
        elif count < FULL_SUBID_RANGE:
            found.append(
                Check(
                    "subuid",
                    "warn",
                    f"only {count} subordinate ids for {facts.user}: images with high uids (nobody=65534) fail",
                    fix,
                )
            )
        else:
            found.append(Check("subuid", "ok", f"{facts.subuids} subuids, {facts.subgids} subgids"))
    return found


def diagnose(
    kind: RuntimeKind = "auto",
    host: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    root: Path = Path("/"),
    facts: HostFacts | None = None,
    connect: Callable[..., Connection] = open_connection,
    network: bool = True,
) -> Report:
    """Find the engine as pipex would, ask it for its capabilities, and check the host.

    ``connect``: ``factory.connect`` or a stand-in with its signature (tests give one returning a fake).
    """
    env = config.env(environ)
    facts = host_facts(root=root, environ=env) if facts is None else facts
    endpoint: Endpoint | None = None
    info: RuntimeInfo | None = None
    error: PipexError | None = None
    network_test: Check | None = None
    try:
        # The engine's info as it is now, not as cached for `pipex run`: a diagnosis must see a changed engine.
        fresh = functools.partial(backend, environ=env, cache=False)
        connection = connect(kind, host, environ=env, root=root, make=fresh)
    except PipexError as exc:
        error = exc
    else:
        endpoint = connection.endpoint
        try:
            info = connection.runtime.info()
            network_test = probe_network(connection.runtime) if network else None
        except PipexError as exc:
            error = exc
        finally:
            connection.runtime.close()
    found = checks(endpoint=endpoint, error=error, info=info, facts=facts, environ=env, network_test=network_test)
    return Report(tuple(found))
