"""Looking up the values of a run's declared secrets, once, before anything runs.

Order for one secret: a value given for the run (``--secret-file``, ``--secret``, ``Engine.run(secrets=…)``)
by its name, else its declared source: the host variable (``env``), the file under the pipeline root (``file``),
or Podman's store (``podman``: the engine delivers it; pipex never reads it). A secret without a value is a
``SecretMissing`` naming the secret and where it was looked for, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipex.engine.mask import Masker
from pipex.errors import SecretMissing
from pipex.model.handwritten.dotenv import parse_dotenv
from pipex.model.secret import Secret
from pipex.model.spec import StepSpec
from pipex.runtime.base import SecretMount


@dataclass(frozen=True, slots=True)
class RunSecrets:
    """Each step's secrets ready for its container, and the masker of every value of the run."""

    by_step: Mapping[str, tuple[SecretMount, ...]] = field(default_factory=dict)
    masker: Masker = field(default_factory=lambda: Masker(()))


def read_secret_file(path: Path) -> dict[str, Secret]:
    """``--secret-file``: dotenv syntax; a syntax error names the line, never its text (it may hold a value)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SecretMissing(f"secret file {path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretMissing(f"cannot read secret file {path}: {getattr(exc, 'strerror', None) or 'not UTF-8'}") from exc
    try:
        values = parse_dotenv(text)
    except ValueError as exc:
        line = getattr(exc, "line", "?")
        raise SecretMissing(
            f"secret file {path}: line {line} is not NAME=VALUE", hint="dotenv syntax, like --env-file"
        ) from None
    return {name: Secret(value) for name, value in values.items()}


def resolve(
    specs: Iterable[StepSpec], given: Mapping[str, Secret], environ: Mapping[str, str], *, engine_store: bool
) -> RunSecrets:
    """The values of every secret ``specs`` declare. ``engine_store``: the engine has a secret store (Podman)."""
    by_step: dict[str, tuple[SecretMount, ...]] = {}
    values: list[str] = []
    for spec in specs:
        mounts: list[SecretMount] = []
        for secret in spec.secrets:
            env, path = (None, secret.mount) if secret.mount else (secret.name, None)
            if secret.name in given:
                value = given[secret.name].reveal()
            elif secret.source == "podman":
                if not engine_store:
                    raise SecretMissing(
                        f'step "{spec.id}": secret "{secret.name}" comes from Podman\'s secret store, '
                        "and this engine has none",
                        hint=f"run on Podman, or give its value with --secret-file/--secret {secret.name}",
                    )
                mounts.append(SecretMount(secret.name, None, env=env, path=path, store=secret.ref))
                continue
            else:
                value = _lookup(spec.id, secret.name, secret.source, secret.ref, environ)
            if secret.mount is None:
                value = value.rstrip("\n")  # a file's last newline is not part of a variable's value
            values.append(value.strip())  # masks the value too; a file's last newline stays visible
            if "\n" in value.strip():  # a key file, a kubeconfig: each line on its own too (one may be printed alone)
                values += [line.strip() for line in value.splitlines()]
            mounts.append(SecretMount(secret.name, value.encode("utf-8", "surrogateescape"), env=env, path=path))
        if mounts:
            by_step[spec.id] = tuple(mounts)
    return RunSecrets(by_step, Masker(values))


def _lookup(step: str, name: str, source: str, ref: str, environ: Mapping[str, str]) -> str:
    if source == "env":
        value = environ.get(ref)
        if value is not None:
            return value
        where = f"the host variable {ref}" if ref == name else f"the host variable {ref} (env: {ref})"
        raise SecretMissing(
            f'step "{step}": secret "{name}" has no value: not given with --secret-file/--secret, '
            f"and {where} is not set",
            hint=f"export {ref}=…, or pass --secret-file FILE with a {name}=… line",
        )
    try:
        return Path(ref).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise SecretMissing(
            f'step "{step}": secret "{name}" has no value: cannot read {ref} ({why})',
            hint="create the file under the pipeline root, or give the value with --secret-file",
        ) from None
