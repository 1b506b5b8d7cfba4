"""The one error hierarchy of pipex.

Core code raises these; only ``pipex.cli`` turns them into exit codes and ``error:``/``hint:`` lines.
Backend (podman-py, docker-py, OS) exceptions are translated at the seam with ``raise ... from exc``.

::

    PipexError                         exit 1 unless a subclass says otherwise
    ├── UsageError                     exit 2  bad command-line usage
    ├── PipelineError                  exit 2  the pipeline (or a kit, or .pipex.yml) is invalid;
    │   │                                      carries every Problem found
    │   └── KitError                           a kit failed to load or resolve
    ├── ConfigError                    exit 2  .pipex.yml or an environment variable is invalid
    ├── SecretMissing                  exit 2  a declared secret has no value (named, never shown)
    ├── RuntimeError                   exit 3  anything about the container engine
    │   ├── RuntimeUnavailable                 no engine answers (the discovery report says what was tried)
    │   ├── ImageNotFound                      image absent and not pullable (policy never / unknown)
    │   ├── ImagePullFailed                    the pull itself failed
    │   ├── ContainerFailed                    a container could not be created/started/waited on
    │   │   ├── ContainerGone                  the engine knows no such container (removed already)
    │   │   ├── CommandNotFound                the step's command is not in its image (exit 127)
    │   │   └── NetworkUnavailable             rootless networking cannot start (/dev/net/tun)
    │   ├── FeatureUnsupported                 the engine is too old for a feature
    │   └── EngineError                        any other engine answer
    ├── WorkspaceError                 exit 1  workspace layout, ids, reading runs
    │   ├── WorkspaceBusy              exit 4  another pipex holds the workspace lock
    │   ├── WorkspaceNotFound                  no such workspace / step / run
    │   ├── DiskFull                           no space (or quota) left where pipex writes
    │   ├── NameTooLong                exit 2  a name too long for the filesystem
    │   ├── UnusableWorkdir            exit 2  the workdir cannot be written (permission, read-only…)
    │   └── UnsafePath                         a path would escape its folder
    └── Interrupted                    exit 130 Ctrl-C / SIGTERM

Warnings (something pipex does differently from what a file asks, and carries on) are ``PipexWarning``s
raised with ``warnings.warn``: the CLI prints them as ``warning:`` lines, the Python API leaves them to the
``warnings`` module.

``RuntimeError`` deliberately shadows the builtin inside this module only; import it as
``pipex.errors.RuntimeError`` or via the alias ``EngineRuntimeError``.
"""

from __future__ import annotations

import builtins
import errno
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem: where, what, and how to fix it."""

    location: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class PipexError(Exception):
    """Base of every error pipex raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(PipexError):
    exit_code = 2


class ConfigError(PipexError):
    exit_code = 2


class PipelineError(PipexError):
    """An invalid pipeline; ``problems`` holds every problem found, in file order."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[Problem] = (),
        hint: str | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source

    @classmethod
    def from_problems(cls, problems: Sequence[Problem], source: str | None = None) -> PipelineError:
        count = len(problems)
        where = f" in {source}" if source else ""
        what = str(problems[0]) if count == 1 else f"{count} problems"
        msg = f"invalid pipeline{where}: {what}"
        return cls(msg, problems=problems, source=source, hint="fix the problems above; run `pipex validate`")


class SecretMissing(PipexError):
    """A declared secret has no value (or cannot be delivered by this engine): nothing ran."""

    exit_code = 2


class KitError(PipelineError):
    pass


class RuntimeError(PipexError):  # the tree's name in the docs; shadows the builtin here only
    exit_code = 3


EngineRuntimeError = RuntimeError


class RuntimeUnavailable(RuntimeError):
    pass


class ImageNotFound(RuntimeError):
    def __init__(self, image: str, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or f"image {image!r} not found", hint=hint)
        self.image = image


class ImagePullFailed(RuntimeError):
    def __init__(self, image: str, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or f"cannot pull image {image!r}", hint=hint)
        self.image = image


class ContainerFailed(RuntimeError):
    pass


class ContainerGone(ContainerFailed):
    """The engine answered "no such container": it was removed (by pipex's own clean-up, a sweep, or someone
    else) before this call. For a stop, kill or removal that is the wanted end, not a failure to escalate."""


class CommandNotFound(ContainerFailed):
    """The OCI runtime found no executable for the container's command: a shell would exit 127."""

    def __init__(self, executable: str, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or f'command "{executable}" not found in the image', hint=hint)
        self.executable = executable


class NetworkUnavailable(ContainerFailed):
    """The engine could not give the container its network (rootless: slirp4netns/pasta and /dev/net/tun)."""


class EngineError(RuntimeError):
    pass


class FeatureUnsupported(RuntimeError):
    def __init__(self, feature: str, version: str, *, needs: str | None = None, hint: str | None = None) -> None:
        need = f" (needs {needs})" if needs else ""
        super().__init__(f"{feature} is not supported by this engine (version {version}){need}", hint=hint)
        self.feature = feature
        self.version = version


class WorkspaceError(PipexError):
    pass


class WorkspaceBusy(WorkspaceError):
    exit_code = 4


class WorkspaceNotFound(WorkspaceError):
    pass


class UnusableWorkdir(WorkspaceError):
    """The workdir cannot hold a workspace (permissions, read-only, a file in the way): the user picks another."""

    exit_code = 2


class UnsafePath(WorkspaceError):
    exit_code = 2


class DiskFull(WorkspaceError):
    """ENOSPC/EDQUOT while pipex wrote to the workdir: the run stops, committed steps stay reusable."""


class NameTooLong(WorkspaceError):
    exit_code = 2


class StoreError(PipexError):
    """The shared cache (``cacheStore``) cannot be used: missing, unwritable, or an argument of ``pipex cache``."""


class StoreCorrupt(StoreError):
    """An entry of the shared cache is truncated, tampered with or malformed: ignored (and reported), never used."""


_FULL = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded"}


def from_os_error(exc: builtins.OSError, doing: str) -> PipexError:
    """A host I/O failure while ``doing`` (e.g. "writing the step's logs") as one line with its fix.

    Full disk, quota and too-long names get their own types; anything else is a ``WorkspaceError``."""
    where = exc.filename if exc.filename is not None else None
    at = f" ({where})" if where is not None else ""
    full = _FULL.get(exc.errno or 0)
    if full is not None:
        return DiskFull(
            f"{full} while {doing}{at}",
            hint="free space there (`pipex prune`, `pipex clean`) or choose a larger --workdir, then run again: "
            "steps that finished are reused",
        )
    if exc.errno == errno.ENAMETOOLONG:
        return NameTooLong(
            f"a name is too long for the filesystem while {doing}{at}",
            hint="use shorter workspace and step ids, or a workdir with a shorter path",
        )
    return WorkspaceError(f"{exc.strerror or exc} while {doing}{at}", hint="check the workdir's permissions and space")


class Interrupted(PipexError):
    exit_code = 130


class PipexWarning(UserWarning):
    """Base of the warnings pipex gives: one line naming the problem and the fix."""


class SecretInEnv(PipexWarning):
    """A plain ``env`` entry whose name looks secret: stored and shown as ``***``, but better under ``secrets:``."""


class ConfigIgnored(PipexWarning):
    """A ``.pipex.yml`` that another user could have written is not obeyed."""


@dataclass(frozen=True, slots=True)
class ErrorReport:
    """What the CLI prints for an error: one line, an optional hint, an exit code."""

    message: str
    hint: str | None = None
    exit_code: int = 1
    problems: tuple[Problem, ...] = field(default=())


def report(exc: builtins.BaseException) -> ErrorReport:
    """Describe any exception for the user; unknown ones become 'internal error'."""
    if isinstance(exc, PipelineError):
        return ErrorReport(exc.message, exc.hint, exc.exit_code, exc.problems)
    if isinstance(exc, PipexError):
        return ErrorReport(exc.message, exc.hint, exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return ErrorReport("interrupted", None, 130)
    return ErrorReport(
        f"internal error: {type(exc).__name__}: {exc}",
        "this is a bug in pipex; rerun with PIPEX_DEBUG=1 and report the traceback",
        1,
    )
