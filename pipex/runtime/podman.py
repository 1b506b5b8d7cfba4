"""``PodmanRuntime``: the libpod API with raw libpod calls.

A ``unix://`` socket is reached with the standard library (``unix_http``); ``tcp://`` and ``ssh://`` through
podman-py's session. Both use podman-py's versioned path prefix (``/v5.x.0/libpod/``, accepted by Podman 4.0+
servers, verified against 4.3.1). We send the calls ourselves — notably ``POST /libpod/containers/create`` with a
SpecGenerator body — because podman-py's helpers drop or rewrite fields (``userns_mode``, mount options) and
buffer streams. Supported servers: Podman 4.3 to 5.x. The info answer of a local socket is cached between runs
(``info_cache``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipex.errors import FeatureUnsupported, PipexError
from pipex.runtime import secretfiles
from pipex.runtime.base import (
    ContainerSpec,
    ImageRef,
    PullProgress,
    RuntimeInfo,
)
from pipex.runtime.compat import HOLD_TARGET, hold_binary, parse_version
from pipex.runtime.http_runtime import HttpRuntime
from pipex.runtime.transport import EngineTimeout, Transport

if TYPE_CHECKING:
    from pipex.runtime.transport import Client

KEEP_ID_UIDGID = (4, 3)  # --userns=keep-id:uid=U,gid=G


class PodmanRuntime(HttpRuntime):
    """A Podman service reached over its libpod API (``unix://…/podman.sock``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        ping_version: str | None = None,
        cache_dir: Path | None = None,
        service: str | None = None,
    ) -> None:
        """``ping_version``: the ``Libpod-Api-Version`` header of the ping discovery made; with ``cache_dir``,
        the info answer of a ``unix://`` socket is kept there between runs (see ``info_cache``); ``service``: the
        identity of the shared service pipex started on that socket, which keys the entry across its restarts."""
        client: Client
        self._socket: str | None = None
        if base_url.startswith("unix://"):
            # The common case, on the standard library: neither podman-py nor requests is imported.
            from pipex.runtime.probe import socket_path
            from pipex.runtime.unix_http import LIBPOD_PREFIX, UnixClient

            self._socket = socket_path(base_url) or ""
            client, prefix = UnixClient(self._socket), LIBPOD_PREFIX
        else:  # tcp://, ssh://: podman-py's adapters
            # start-up: podman-py and requests (~100 ms) only for a remote engine
            from podman import PodmanClient

            from pipex.runtime.requests_client import RequestsClient

            api = PodmanClient(base_url=base_url, timeout=timeout).api
            client, prefix = RequestsClient(api, f"http://{api.base_url.netloc}"), api.path_prefix
        self._made = secretfiles.Made()  # the secrets created for each container, removed with it
        self._ping_version = ping_version
        self._cache_dir = cache_dir
        self._service = service
        super().__init__(base_url, Transport(client, prefix, engine="podman", endpoint=base_url, timeout=timeout))

    # -- engine ---------------------------------------------------------------------------------------------
    _stop_param = "timeout"

    def ping(self) -> None:
        self._t.request("GET", "_ping", "ping").close()

    def _read_info(self) -> RuntimeInfo:
        cache = None
        if self._socket and self._ping_version and self._cache_dir is not None:
            from pipex.runtime.info_cache import InfoCache  # lazy: a fully cached run never asks for info

            cache = InfoCache.open(self._socket, self._ping_version, directory=self._cache_dir, service=self._service)
        data = cache.load() if cache is not None else None
        if data is None:
            data = self._t.json("GET", "info", "info")
            if cache is not None and isinstance(data, dict):
                cache.store(data)
        return _parse_info(data, self.endpoint)

    # -- images ---------------------------------------------------------------------------------------------
    def pull(self, reference: str, progress: Callable[[PullProgress], None] | None = None) -> ImageRef:
        params = {"reference": reference, "policy": "always"}
        return self._pull(reference, "images/pull", params, progress, _podman_progress(reference))

    # -- containers -----------------------------------------------------------------------------------------
    def create(self, spec: ContainerSpec) -> str:
        info = self.info()
        body: dict[str, Any] = {
            "image": spec.image,
            "env": dict(spec.env),
            "labels": dict(spec.labels),
            "terminal": False,
            "init": spec.init and not spec.hold,
        }
        if spec.name:
            body["name"] = spec.name
        if not spec.engine_log:
            body["log_configuration"] = {"driver": "none"}
        if spec.cmd is not None:
            body["command"] = list(spec.cmd)
        if spec.entrypoint is not None:
            body["entrypoint"] = list(spec.entrypoint)
        mounts = [_mount(b.source, b.target, b.read_only, b.relabel, info.selinux_enforcing) for b in spec.binds]
        if spec.hold:
            # The main process is Podman's own static catatonit in pause mode, not anything from the image.
            mounts.append(_mount(hold_binary(), HOLD_TARGET, True, None, False))
            body["entrypoint"], body["command"] = [HOLD_TARGET, "-P"], []
        body["mounts"] = mounts
        if not spec.network:
            body["netns"] = {"nsmode": "none"}
        elif spec.hold:
            # A named bridge network can be disconnected later (setup -> run); slirp4netns could not.
            body["netns"] = {"nsmode": "bridge"}
            body["Networks"] = {"podman": {}}
        if spec.userns.keep_id is not None:
            if not info.supports_keep_id:
                raise FeatureUnsupported(
                    "userns keep-id with uid/gid",
                    info.version,
                    needs="rootless Podman >= 4.3",
                    hint="run the step as root, or use rootless Podman >= 4.3",
                )
            uid, gid = spec.userns.keep_id
            body["userns"] = {"nsmode": "keep-id", "value": f"uid={uid},gid={gid}"}
        if spec.user is not None:
            body["user"] = spec.user
        if spec.workdir is not None:
            body["work_dir"] = spec.workdir
        limits = _limits(spec, info)
        if limits:
            body["resource_limits"] = limits
        made = self._secrets(spec, body) if spec.secrets else []
        try:
            container = self._post_create(body, spec.image)
        except BaseException:
            for name in made:
                self._remove_secret(name)
            raise
        self._made.add(container, made)
        return container

    # -- secrets --------------------------------------------------------------------------------------------
    def _secrets(self, spec: ContainerSpec, body: dict[str, Any]) -> list[str]:
        """Podman's secret store: one secret per value, created for this container (its name owned like the
        container's labels), referenced by the spec, so the value is never in the create body. A mounted value is
        in none of the container's records; a variable's is (Podman puts it in ``Config.Env``: see README). A
        ``store`` secret is the user's own and is only referenced, never removed."""
        made: list[str] = []
        mounts: list[dict[str, Any]] = []
        env: dict[str, str] = {}
        try:
            for secret in spec.secrets:
                name = secret.store
                if name is None:
                    name = secretfiles.owner_name(spec.labels)
                    self._t.request(
                        "POST",
                        "secrets/create",
                        "create secret",
                        params={"name": name, "driver": "file"},
                        data=secret.value or b"",
                    ).close()
                    made.append(name)
                if secret.path is not None:
                    uid, gid = secret.owner
                    mounts.append({"Source": name, "Target": secret.path, "UID": uid, "GID": gid, "Mode": secret.mode})
                else:
                    env[secret.env or secret.name] = name
        except BaseException:
            for name in made:
                self._remove_secret(name)
            raise
        if mounts:
            body["secrets"] = mounts
        if env:
            body["secret_env"] = env
        return made

    def _remove_secret(self, name: str) -> None:
        with contextlib.suppress(PipexError):
            self._t.request("DELETE", f"secrets/{name}", "remove secret", ok_statuses=(404,)).close()

    def reap_secrets(self, workdir_hash: str, alive: Callable[[int], bool]) -> list[str]:
        answer = self._t.json("GET", "secrets/json", "list secrets") or []
        names = [str((item.get("Spec") or {}).get("Name", "")) for item in answer if isinstance(item, dict)]
        dead = [name for name in names if secretfiles.dead_owner(name, workdir_hash, alive)]
        for name in dead:
            self._remove_secret(name)
        return dead

    def wait(self, container: str, timeout: float | None = None) -> int | None:
        try:
            answer = self._t.json(
                "POST",
                f"containers/{container}/wait",
                "wait",
                # Podman polls the state every `interval` (default 250ms, a quarter second per step).
                params=[("condition", "exited"), ("condition", "stopped"), ("interval", "10ms")],
                timeout=(self._t.timeout, timeout),
                container=container,
            )
        except EngineTimeout:
            if timeout is None:
                raise
            return None
        return int(answer if isinstance(answer, int) else answer.get("StatusCode", -1))

    def remove(self, container: str) -> None:
        self._t.request(
            "DELETE",
            f"containers/{container}",
            "remove container",
            params={"force": "true", "v": "true", "ignore": "true"},
            timeout=self._t.timeout + 15,
            ok_statuses=(404,),
        ).close()
        for name in self._made.take(container):  # after the container: Podman refuses to remove a used secret
            self._remove_secret(name)


def _mount(source: Path | str, target: str, read_only: bool, relabel: str | None, selinux: bool) -> dict[str, Any]:
    options = ["rbind", "ro" if read_only else "rw"]
    if selinux and relabel is not None:
        options.append("z" if relabel == "shared" else "Z")
    return {"destination": target, "source": str(source), "type": "bind", "options": options}


def _limits(spec: ContainerSpec, info: RuntimeInfo) -> dict[str, Any]:
    """Resource limits the engine can enforce; the others are dropped (the core records them as not enforced)."""
    res, limits = spec.resources, {}
    if res.cpus is not None and info.enforces("cpus"):
        limits["cpu"] = {"quota": int(res.cpus * 100_000), "period": 100_000}
    if res.memory is not None and info.enforces("memory"):
        limits["memory"] = {"limit": res.memory}
    if res.pids is not None and info.enforces("pids"):
        limits["pids"] = {"limit": res.pids}
    return limits


def _parse_info(data: dict[str, Any], endpoint: str) -> RuntimeInfo:
    host, version = data.get("host", {}), data.get("version", {})
    security = host.get("security", {})
    rootless = bool(security.get("rootless"))
    host_uid = 0
    if rootless:
        uidmap = (host.get("idMappings") or {}).get("uidmap") or []
        host_uid = next((int(m["host_id"]) for m in uidmap if int(m["container_id"]) == 0), os.getuid())
    release = str(version.get("Version", "0"))
    return RuntimeInfo(
        engine="podman",
        version=release,
        api_version=str(version.get("APIVersion", release)),
        endpoint=endpoint,
        rootless=rootless,
        libpod_api=True,
        supports_keep_id=rootless and parse_version(release) >= KEEP_ID_UIDGID,
        cgroup_version=str(host.get("cgroupVersion") or "unknown"),
        cgroup_controllers=tuple(host.get("cgroupControllers") or ()),
        selinux_enforcing=bool(security.get("selinuxEnabled")),
        oci_runtime=str((host.get("ociRuntime") or {}).get("name", "")),
        storage_driver=str((data.get("store") or {}).get("graphDriverName", "")),
        network_backend=str(host.get("networkBackend", "")),
        host_uid=host_uid,
    )


__all__ = ["PodmanRuntime"]


def _podman_progress(reference: str) -> Callable[[dict[str, Any]], PullProgress | None]:
    def describe(event: dict[str, Any]) -> PullProgress | None:
        return PullProgress(reference, str(event["stream"]).strip()) if event.get("stream") else None

    return describe
