"""The ``python`` kit: ``python:<version>-<variant>``, ``src`` mounted read-only at ``/app``, and
``requirements.txt`` installed in setup with pip or uv."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from pipex.kits.language import LanguageKit, LanguageParams
from pipex.kits.params import TagPart, one_of
from pipex.model.spec import CacheSpec

PIP = "pip install --quiet --root-user-action=ignore -r /app/requirements.txt"
# uv is not in the python images: install it with pip first unless the image (an `image:` override) has it.
UV = (
    "{ command -v uv >/dev/null 2>&1 || pip install --quiet --root-user-action=ignore uv; } && "
    "uv pip install --system --quiet -r /app/requirements.txt"
)
INSTALLS = {
    "pip": (PIP, CacheSpec("pip-cache", "/root/.cache/pip", exclusive=True)),
    "uv": (UV, CacheSpec("uv-cache", "/root/.cache/uv", exclusive=True)),
}


class PythonParams(LanguageParams):
    version: TagPart = "3.12"
    variant: TagPart = "slim"
    package_manager: Annotated[str, AfterValidator(one_of(*INSTALLS))] = Field("pip", alias="packageManager")


class PythonKit(LanguageKit):
    name = "python"
    params = PythonParams
    image_name = "python"
    program = "python"
    manifest = "requirements.txt"
    installs = INSTALLS
    copy_src = False  # pip installs into the image, so /app stays read-only


kit = PythonKit()
