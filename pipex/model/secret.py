"""``Secret``: a value that never shows itself, and which variable names look like they hold one.

Free of pydantic: the run options, the engine and the public API use it without loading the model's validation.
"""

from __future__ import annotations

import re
from typing import Any, Literal

VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Plain env names that look like they hold a secret: stored and shown as *** (spec: *TOKEN*, *PASSWORD*,
# *SECRET*, *_KEY, *CREDENTIAL*); KEY alone and APIKEY are caught too.
_SECRET_LOOKING = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|(?:^|_|API)KEY$", re.IGNORECASE)
MASK = "***"
MIN_MASKED = 4  # shorter values would mask ordinary text everywhere (spec: values of 4 characters or more)

SecretSource = Literal["env", "file", "podman"]


def looks_secret(name: str) -> bool:
    return _SECRET_LOOKING.search(name) is not None


def redact_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` as meta.json stores it and ``inspect`` shows it: values of secret-looking names are ``***``."""
    return {name: MASK if looks_secret(name) else value for name, value in env.items()}


class Secret:
    """A secret value: ``repr``/``str``/formatting never show it; ``reveal()`` does, on purpose."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        self._value = value.reveal() if isinstance(value, Secret) else str(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("pipex.Secret", self._value))

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled: pass it to the process that needs it another way")
