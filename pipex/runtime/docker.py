"""``DockerRuntime``: the Docker Engine API, for dockerd and Docker-compatible sockets.

A ``unix://`` socket is reached with the standard library (``unix_http``); ``tcp://`` and ``ssh://`` through
docker-py's session. We make the calls ourselves (pinned to API 1.41, which dockerd 20.10+ and Podman's compat
service speak) so nothing is buffered or dropped. Also drives Podman's Docker-compatible API:
``info()`` then reports ``engine="podman"`` with ``libpod_api=False``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipex.errors import FeatureUnsupported
from pipex.runtime import secretfiles
from pipex.runtime.base import ContainerSpec, ImageRef, PullProgress, RuntimeInfo
from pipex.runtime.compat import HOLD_TARGET, hold_binary, parse_version
from pipex.runtime.http_runtime import HttpRuntime
from pipex.runtime.transport import EngineTimeout, Transport

if TYPE_CHECKING:
    from pipex.runtime.transport import Client

API_VERSION = "1.41"


class DockerRuntime(HttpRuntime):
    """A Docker Engine API endpoint (``unix:///var/run/docker.sock``, ``tcp://…``).

    ``network``: the network that containers with ``network=True`` join (default: the engine's default network,
    ``bridge``); it must be a named network for ``disconnect_network`` to work.
    """

    def __init__(self, base_url: str, *, timeout: float = 60.0, network: str | None = None) -> None:
        client: Client
        if base_url.startswith("unix://"):
            # The common case, on the standard library: neither docker-py nor requests is imported.
            from pipex.runtime.probe import socket_path
            from pipex.runtime.unix_http import UnixClient

            client = UnixClient(socket_path(base_url) or "")
        else:  # tcp://, ssh://: docker-py's adapters (and its TLS and ssh handling)
            # start-up: docker-py and requests (~100 ms) only for a remote engine
            import docker

            from pipex.runtime.requests_client import RequestsClient

            api = docker.APIClient(base_url=base_url, version=API_VERSION, timeout=timeout)
            client = RequestsClient(api, str(api.base_url))
        super().__init__(
            base_url,
            Transport(client, f"/v{API_VERSION}/", engine="docker", endpoint=base_url, timeout=timeout),
        )
        self.network = network
        self._made = secretfiles.Made()  # each container's secret files, removed with it

    def ping(self) -> None:
        self._t.request("GET", "_ping", "ping").close()

    def _read_info(self) -> RuntimeInfo:
        data = self._t.json("GET", "info", "info")
        version = self._t.json("GET", "version", "version")
        components = {c.get("Name"): c for c in version.get("Components") or ()}
        podman = components.get("Podman Engine")
        release = str((podman or version).get("Version", "0"))
        security = " ".join(data.get("SecurityOptions") or ())
        rootless = "name=rootless" in security
        cgroup = str(data.get("CgroupVersion") or "")
        controllers = []
        if not (rootless and cgroup == "1"):
            flags = {"cpu": "CpuCfsQuota", "memory": "MemoryLimit", "pids": "PidsLimit"}
            controllers = [name for name, flag in flags.items() if data.get(flag)]
        return RuntimeInfo(
            engine="podman" if podman else "docker",
            version=release,
            api_version=str(version.get("ApiVersion", API_VERSION)),
            endpoint=self.endpoint,
            rootless=rootless,
            libpod_api=False,
            # Podman's compat API honours HostConfig.UsernsMode=keep-id:uid=U,gid=G.
            supports_keep_id=bool(podman) and rootless and parse_version(release) >= (4, 3),
            cgroup_version=f"v{cgroup}" if cgroup else "unknown",
            cgroup_controllers=tuple(controllers),
            selinux_enforcing="name=selinux" in security,
            oci_runtime=str(data.get("DefaultRuntime", "")),
            storage_driver=str(data.get("Driver", "")),
            network_backend="",
            host_uid=(os.getuid() if rootless else 0),
        )

    def pull(self, reference: str, progress: Callable[[PullProgress], None] | None = None) -> ImageRef:
        return self._pull(reference, "images/create", {"fromImage": reference}, progress, _docker_progress(reference))

    def create(self, spec: ContainerSpec) -> str:
        info = self.info()
        host: dict[str, Any] = {"Init": spec.init and not spec.hold}
        if not spec.engine_log:
            host["LogConfig"] = {"Type": "none", "Config": {}}
        elif info.engine == "docker":
            # json-file (the default) stores output as JSON strings and replaces invalid UTF-8 with U+FFFD;
            # the "local" driver keeps raw bytes, so logs stay binary-safe.
            # No rotation: dockerd 20.10 repeats output when a followed "local" log rotates.
            host["LogConfig"] = {"Type": "local", "Config": {"max-size": "100g", "max-file": "1", "compress": "false"}}
        body: dict[str, Any] = {
            "Image": spec.image,
            "Env": [f"{k}={v}" for k, v in spec.env.items()],
            "Labels": dict(spec.labels),
            "Tty": False,
            "HostConfig": host,
        }
        if spec.cmd is not None:
            body["Cmd"] = list(spec.cmd)
        if spec.entrypoint is not None:
            # [""] is the API's way to clear the image's ENTRYPOINT ([] means "unset" to some engines).
            body["Entrypoint"] = list(spec.entrypoint) or [""]
        mounts, binds = [], []
        for bind in spec.binds:
            if info.selinux_enforcing and bind.relabel is not None:
                # Only the legacy Binds syntax carries the relabel option.
                flag = "z" if bind.relabel == "shared" else "Z"
                binds.append(f"{bind.source}:{bind.target}:{'ro' if bind.read_only else 'rw'},{flag}")
            else:
                mounts.append(
                    {"Type": "bind", "Source": str(bind.source), "Target": bind.target, "ReadOnly": bind.read_only}
                )
        if spec.hold:
            mounts.append({"Type": "bind", "Source": str(hold_binary()), "Target": HOLD_TARGET, "ReadOnly": True})
            body["Entrypoint"], body["Cmd"] = [HOLD_TARGET, "-P"], []
        host["Mounts"], host["Binds"] = mounts, binds
        if not spec.network:
            host["NetworkMode"] = "none"
        elif self.network:
            host["NetworkMode"] = self.network
        if spec.userns.keep_id is not None:
            if not info.supports_keep_id:
                raise FeatureUnsupported(
                    "userns keep-id with uid/gid",
                    info.version,
                    needs="rootless Podman >= 4.3",
                    hint="run the step as root, or use rootless Podman >= 4.3",
                )
            uid, gid = spec.userns.keep_id
            host["UsernsMode"] = f"keep-id:uid={uid},gid={gid}"
        if spec.user is not None:
            body["User"] = spec.user
        if spec.workdir is not None:
            body["WorkingDir"] = spec.workdir
        res = spec.resources
        if res.cpus is not None and info.enforces("cpus"):
            host["NanoCpus"] = int(res.cpus * 1e9)
        if res.memory is not None and info.enforces("memory"):
            host["Memory"] = res.memory
        if res.pids is not None and info.enforces("pids"):
            host["PidsLimit"] = res.pids
        made = self._secrets(spec, body) if spec.secrets else None
        params = {"name": spec.name} if spec.name else None
        try:
            container = self._post_create(body, spec.image, params)
        except BaseException:
            if made is not None:
                secretfiles.remove_files(made)
            raise
        if made is not None:
            self._made.add(container, [made])
        return container

    def _secrets(self, spec: ContainerSpec, body: dict[str, Any]) -> str | None:
        """Docker's secrets API is Swarm's only. A variable goes in the container's environment (``docker inspect``
        shows it to whoever can reach the daemon, until pipex removes the container); a file is written on a
        tmpfs in a 0700 directory of the user's and bind-mounted read-only, removed with the container."""
        files: dict[str, bytes] = {}
        for secret in spec.secrets:
            if secret.store is not None:
                raise FeatureUnsupported(
                    "secrets from Podman's secret store",
                    self.info().version,
                    needs="Podman",
                    hint=f"give the value of {secret.name} with --secret-file or --secret",
                )
            if secret.path is not None:
                files[secret.name] = secret.value or b""
            else:
                body["Env"].append(f"{secret.env or secret.name}={(secret.value or b'').decode('utf-8', 'replace')}")
        if not files:
            return None
        name = secretfiles.owner_name(spec.labels)
        folder = secretfiles.write_files(name, files)
        mounts = body["HostConfig"]["Mounts"]
        for secret in spec.secrets:
            if secret.path is not None:
                mounts.append(
                    {"Type": "bind", "Source": str(folder / secret.name), "Target": secret.path, "ReadOnly": True}
                )
        return name

    def reap_secrets(self, workdir_hash: str, alive: Callable[[int], bool]) -> list[str]:
        return secretfiles.reap_files(workdir_hash, alive)

    def wait(self, container: str, timeout: float | None = None) -> int | None:
        try:
            answer = self._t.json(
                "POST", f"containers/{container}/wait", "wait", timeout=(self._t.timeout, timeout), container=container
            )
        except EngineTimeout:
            if timeout is None:
                raise
            return None
        return int(answer.get("StatusCode", -1))

    def remove(self, container: str) -> None:
        self._t.request(
            "DELETE",
            f"containers/{container}",
            "remove container",
            params={"force": "true", "v": "true"},
            timeout=self._t.timeout + 15,
            ok_statuses=(404,),
        ).close()
        for name in self._made.take(container):
            secretfiles.remove_files(name)


__all__ = ["DockerRuntime"]


def _docker_progress(reference: str) -> Callable[[dict[str, Any]], PullProgress | None]:
    def describe(event: dict[str, Any]) -> PullProgress | None:
        if not event.get("status"):
            return None
        detail = event.get("progressDetail") or {}
        return PullProgress(reference, str(event["status"]), detail.get("current"), detail.get("total"))

    return describe
