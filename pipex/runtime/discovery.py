"""Find the container engine to use: every candidate endpoint in the documented order, each verified.

Order (first that answers wins; ``kind`` restricts which engines count):

1. ``--host`` / ``.pipex.yml host:`` — when given, the only candidate;
2. ``CONTAINER_HOST``; 3. ``DOCKER_HOST`` (a value without a scheme is an error);
4. ``$XDG_RUNTIME_DIR/podman/podman.sock``, ``/run/user/$UID/podman/podman.sock``; 5. ``/run/podman/podman.sock``;
6. ``/var/run/docker.sock``, ``$HOME/.docker/run/docker.sock``, ``$XDG_RUNTIME_DIR/docker.sock``,
   ``$HOME/.colima/docker.sock``;
7. a ``podman`` binary but no socket: a private ``podman system service``, shared by consecutive commands
   (``sharedservice.py``; ``PIPEX_SERVICE_IDLE=0``: one per command, ``service.py``).

Nothing is cached: each invocation looks again. Every attempt is recorded, so an error (or ``pipex doctor``)
can say what was tried and why each candidate failed.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipex import config
from pipex.config import RuntimeKind
from pipex.errors import ConfigError, PipexError, RuntimeUnavailable
from pipex.runtime import sharedservice
from pipex.runtime.probe import Api, Identity, ProbeFailed, probable, probe, socket_path
from pipex.runtime.service import PrivateService, start_service
from pipex.runtime.sharedservice import SharedService

SCHEMES = ("unix", "tcp", "http", "https", "ssh")


@dataclass(frozen=True, slots=True)
class Candidate:
    url: str
    source: str  # why it is a candidate, for the user: "CONTAINER_HOST", "rootless Podman socket", …
    named: bool = False  # the user named it (--host, an env var); well-known paths are only speculative


@dataclass(frozen=True, slots=True)
class Attempt:
    url: str
    source: str
    outcome: str  # "answered" for the chosen one, else why it was passed over


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The chosen engine endpoint and how it was chosen."""

    url: str
    api: Api
    source: str
    identity: Identity | None  # None: not checked here (ssh://, https://), the backend's ping verifies it
    attempts: tuple[Attempt, ...]
    # The private service pipex started (or a lease on the shared one), to stop (release) on close.
    service: PrivateService | SharedService | None = None

    @property
    def why(self) -> str:
        return f"{self.url} ({self.source})"

    @property
    def warnings(self) -> tuple[str, ...]:
        """An engine the user named in the environment did not answer and another was chosen: say so, since
        the run then goes to an engine the user may not expect (``DOCKER_HOST`` set, Podman used)."""
        named = (config.CONTAINER_HOST, config.DOCKER_HOST)
        return tuple(
            f"{a.source}={a.url} does not answer ({a.outcome}); using {self.why} instead"
            for a in self.attempts
            if a.source in named and a.url != self.url and not a.outcome.startswith("answered")
        )


class DiscoveryFailed(RuntimeUnavailable):
    """No candidate answered; ``attempts`` lists each with the reason."""

    def __init__(self, message: str, attempts: tuple[Attempt, ...], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.attempts = attempts


def check_url(value: str, source: str) -> str:
    """A host URL as given; raise ``ConfigError`` when it has no scheme (``/run/x.sock`` → ``unix://…``)."""
    scheme = urlsplit(value).scheme if "://" in value else ""
    if scheme in SCHEMES:
        return value
    suggestion = f"unix://{value}" if value.startswith("/") else f"unix:///path/to/socket or tcp://{value}"
    if not scheme:
        raise ConfigError(
            f"{source}={value!r} has no scheme",
            hint=f"add one: {source}={suggestion}",
        )
    raise ConfigError(
        f"{source}={value!r}: unsupported scheme {scheme!r}",
        hint=f"use one of {', '.join(s + '://' for s in SCHEMES)}",
    )


def candidates(
    host: str | None,
    environ: Mapping[str, str],
    *,
    uid: int,
    root: Path = Path("/"),
    host_source: str = "--host",
) -> Iterator[Candidate]:
    """The candidates in order, lazily: a bad ``DOCKER_HOST`` only matters once it is reached."""
    if host:
        yield Candidate(check_url(host, host_source), host_source, named=True)
        return
    for name in (config.CONTAINER_HOST, config.DOCKER_HOST):
        value = environ.get(name, "")
        if value:
            yield Candidate(check_url(value, name), name, named=True)
    xdg = environ.get(config.XDG_RUNTIME_DIR, "")
    home = environ.get(config.HOME, "")
    system = str(root).rstrip("/")
    paths: list[tuple[str, str]] = []
    if xdg:
        paths.append((f"{xdg}/podman/podman.sock", "rootless Podman socket ($XDG_RUNTIME_DIR)"))
    paths += [
        (f"{system}/run/user/{uid}/podman/podman.sock", "rootless Podman socket"),
        (f"{system}/run/podman/podman.sock", "rootful Podman socket"),
        (f"{system}/var/run/docker.sock", "Docker socket"),
    ]
    if home:
        paths.append((f"{home}/.docker/run/docker.sock", "Docker Desktop socket"))
    if xdg:
        paths.append((f"{xdg}/docker.sock", "rootless Docker socket"))
    if home:
        paths.append((f"{home}/.colima/docker.sock", "Colima socket"))
    seen: set[str] = set()
    for path, source in paths:
        norm = os.path.normpath(path)
        if norm not in seen:
            seen.add(norm)
            yield Candidate(f"unix://{norm}", source)


def _accepts(kind: RuntimeKind, api: Api) -> bool:
    return kind != "podman" or api == "libpod"


def _socket_problem(path: str, *, named: bool) -> str | None:
    """Why a unix socket path cannot be used, before connecting (``None``: try it)."""
    where = Path(path)
    if where.is_symlink() and not where.exists():
        return f"dangling symlink to {where.readlink()}: skipped"
    try:
        mode = where.stat().st_mode
    except FileNotFoundError:
        return "no socket there" if named else "not found"
    except PermissionError:
        return "permission denied: your user may not reach this path"
    if not stat.S_ISSOCK(mode):
        return "not a socket"
    return None


def discover(
    kind: RuntimeKind = "auto",
    host: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    uid: int | None = None,
    root: Path = Path("/"),
    check: Callable[[str], Identity] = probe,
    podman: str | None = "",
    host_source: str = "--host",
) -> Endpoint:
    """Choose and verify the engine endpoint; raise ``DiscoveryFailed`` listing every attempt.

    ``podman``: the binary for a private service (``""``: look it up on ``PATH``; ``None``: never start one).
    """
    if kind not in config.RUNTIME_KINDS:
        raise ConfigError(f"unknown runtime {kind!r}", hint="use --runtime auto, podman or docker")
    env = config.env(environ)
    uid = os.getuid() if uid is None else uid
    attempts: list[Attempt] = []
    for candidate in candidates(host, env, uid=uid, root=root, host_source=host_source):
        path = socket_path(candidate.url)
        if path is not None:
            problem = _socket_problem(path, named=candidate.named)
            if problem is not None:
                attempts.append(Attempt(candidate.url, candidate.source, problem))
                continue
        if not probable(candidate.url):
            # ssh:// and TLS endpoints: the backend's own client connects and pings.
            api: Api = "docker" if kind == "docker" or candidate.source == config.DOCKER_HOST else "libpod"
            attempts.append(Attempt(candidate.url, candidate.source, "not checked here; the backend pings it"))
            return Endpoint(candidate.url, api, candidate.source, None, tuple(attempts))
        try:
            identity = check(candidate.url)
        except ProbeFailed as exc:
            attempts.append(Attempt(candidate.url, candidate.source, exc.reason))
            continue
        if not _accepts(kind, identity.api):
            attempts.append(
                Attempt(candidate.url, candidate.source, f"{_describe(identity)}, not Podman (--runtime podman)")
            )
            continue
        api = "docker" if kind == "docker" else identity.api
        attempts.append(Attempt(candidate.url, candidate.source, f"answered: {_describe(identity)}"))
        return Endpoint(candidate.url, api, candidate.source, identity, tuple(attempts))
    if host is None and kind != "docker" and podman is not None:
        binary = podman or shutil.which("podman", path=env.get("PATH"))
        source = "private Podman service: no socket found"
        if binary:
            try:
                service, identity = _private_service(binary, env, uid, check)
            except RuntimeUnavailable as exc:
                attempts.append(Attempt(f"{binary} system service", source, exc.message))
            else:
                attempts.append(Attempt(service.url, source, f"answered: {_describe(identity)}"))
                return Endpoint(service.url, identity.api, source, identity, tuple(attempts), service)
        else:
            attempts.append(Attempt("podman system service", source, "no podman binary on PATH"))
    raise _failure(kind, host, uid, tuple(attempts))


def prestart(
    kind: RuntimeKind = "auto",
    *,
    environ: Mapping[str, str] | None = None,
    uid: int | None = None,
    root: Path = Path("/"),
    podman: str = "",
) -> bool:
    """Begin starting the shared private service now when ``discover(kind)`` (no host) would come to it: no
    engine named in the environment, no socket at any well-known path, a ``podman`` binary, the shared service
    on. Looks at files only, never waits, never raises: ``discover`` does the real work and reports. ``True`` when
    a start was begun (see ``sharedservice.prestart``)."""
    if kind == "docker":
        return False
    try:
        env = config.env(environ)
        uid = os.getuid() if uid is None else uid
        for candidate in candidates(None, env, uid=uid, root=root):
            path = socket_path(candidate.url)
            if candidate.named or path is None or _socket_problem(path, named=False) is None:
                return False  # an engine is named, or a socket is there: discovery will try it first
        binary = podman or shutil.which("podman", path=env.get("PATH"))
        idle = sharedservice.idle_seconds(env)
        directory = sharedservice.shared_dir(env, uid) if binary and idle else None
        if binary and directory is not None:
            return sharedservice.prestart(binary, directory, environ=env, idle=idle)
    except (PipexError, OSError):
        pass
    return False


def _private_service(
    binary: str, env: Mapping[str, str], uid: int, check: Callable[[str], Identity]
) -> tuple[PrivateService | SharedService, Identity]:
    """The shared service (``sharedservice``) unless ``PIPEX_SERVICE_IDLE=0`` or no directory is safely ours;
    else one for this command only."""
    idle = sharedservice.idle_seconds(env)
    directory = sharedservice.shared_dir(env, uid) if idle else None
    if directory is not None:
        return sharedservice.acquire(binary, directory, environ=env, idle=idle, check=check)
    return start_service(binary, environ=env, uid=uid, check=check)


def _describe(identity: Identity) -> str:
    name = "Podman" if identity.engine == "podman" else "Docker Engine API"
    api = "libpod API" if identity.api == "libpod" else "Docker API"
    return f"{name} {identity.version} ({api} {identity.api_version})"


def _failure(kind: RuntimeKind, host: str | None, uid: int, attempts: tuple[Attempt, ...]) -> DiscoveryFailed:
    wanted = {"auto": "container engine", "podman": "Podman engine", "docker": "Docker-API engine"}[kind]
    lines = [f"no {wanted} answers; tried:"]
    lines += [f"  {a.url} ({a.source}): {a.outcome}" for a in attempts]
    user = "" if uid == 0 else " --user"
    podman = f"start Podman's socket with `systemctl{user} enable --now podman.socket`, or install podman"
    dockerd = "start dockerd (`sudo systemctl start docker`)"
    if host:
        hint = f"check that an engine listens at {host}, or drop --host to let pipex look for one"
    elif kind == "docker":
        hint = f"{dockerd}, or point DOCKER_HOST at a running engine (e.g. DOCKER_HOST=unix:///var/run/docker.sock)"
    elif any(a.source == config.DOCKER_HOST for a in attempts):
        hint = f"DOCKER_HOST names an engine that does not answer: {dockerd} or unset DOCKER_HOST; or {podman}"
    else:
        hint = podman
    if any(a.outcome.startswith("permission denied") for a in attempts):
        hint += "; for a socket you may not use, add your user to its group (e.g. `docker`) or use rootless Podman"
    return DiscoveryFailed("\n".join(lines), attempts, hint=hint)
