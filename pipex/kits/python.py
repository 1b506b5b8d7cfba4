"""The ``python`` kit: ``python:<version>-<variant>``, ``src`` mounted read-only at ``/app``, and
``requirements.txt`` installed in setup with pip or uv."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from pipex.kits.base import KitContext, PathPair, StepTemplate
from pipex.kits.params import (
    NonEmpty,
    Params,
    ScriptPath,
    TagPart,
    check_script,
    check_src,
    one_of,
    script_command,
    wants_install,
)
from pipex.model.spec import CacheSpec, SetupSpec

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


class PythonParams(Params):
    script: ScriptPath | None = None
    run: NonEmpty | None = None
    src: NonEmpty | None = None
    version: TagPart = "3.12"
    variant: TagPart = "slim"
    package_manager: Annotated[str, AfterValidator(one_of(*INSTALLS))] = Field("pip", alias="packageManager")
    install: bool = True
    image: NonEmpty | None = None


class PythonKit:
    name = "python"
    params = PythonParams

    def resolve(self, params: BaseModel, context: KitContext) -> StepTemplate:
        p = PythonParams.model_validate(params)
        cmd = script_command(self.name, "python", p.script, p.run)
        check_src(context, p.src)
        check_script(context, p.src, p.script)
        setup = None
        if p.install and wants_install(context, self.name, p.src, "requirements.txt", "install" in p.model_fields_set):
            command, cache = INSTALLS[p.package_manager]
            setup = SetupSpec(("sh", "-c", command), (cache,), allow_network=True)
        return StepTemplate(
            image=p.image or f"python:{p.version}-{p.variant}",
            cmd=cmd,
            mounts=(PathPair(p.src, "/app"),) if p.src is not None else (),
            setup=setup,
        )


kit = PythonKit()
