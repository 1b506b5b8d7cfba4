"""The ``node`` kit: ``node:<version>-<variant>``, ``src`` copied to ``/app`` (``node_modules`` is written
there), and ``package.json`` dependencies installed in setup with npm, pnpm or yarn."""

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


def _ensure(tool: str) -> str:
    # pnpm is not in the node images, and yarn is dropped from recent ones: fetch it when it is missing.
    return f"{{ command -v {tool} >/dev/null 2>&1 || npm install --global --no-audit --no-fund {tool}; }} && "


INSTALLS = {
    "npm": (
        "cd /app && npm install --no-package-lock --no-audit --no-fund",
        CacheSpec("npm-cache", "/root/.npm", exclusive=True),
    ),
    "pnpm": (
        f"cd /app && {_ensure('pnpm')}pnpm install --no-frozen-lockfile",
        CacheSpec("pnpm-store", "/root/.local/share/pnpm/store", exclusive=True),
    ),
    "yarn": (
        f"cd /app && {_ensure('yarn')}yarn install",
        CacheSpec("yarn-cache", "/usr/local/share/.cache/yarn", exclusive=True),
    ),
}


class NodeParams(Params):
    script: ScriptPath | None = None
    run: NonEmpty | None = None
    src: NonEmpty | None = None
    version: TagPart = "24"
    variant: TagPart = "alpine"
    package_manager: Annotated[str, AfterValidator(one_of(*INSTALLS))] = Field("npm", alias="packageManager")
    install: bool = True
    image: NonEmpty | None = None


class NodeKit:
    name = "node"
    params = NodeParams

    def resolve(self, params: BaseModel, context: KitContext) -> StepTemplate:
        p = NodeParams.model_validate(params)
        cmd = script_command(self.name, "node", p.script, p.run)
        check_src(context, p.src)
        check_script(context, p.src, p.script)
        setup = None
        explicit = "install" in p.model_fields_set
        if p.install and wants_install(context, self.name, p.src, "package.json", explicit):
            command, cache = INSTALLS[p.package_manager]
            setup = SetupSpec(("sh", "-c", command), (cache,), allow_network=True)
        return StepTemplate(
            image=p.image or f"node:{p.version}-{p.variant}",
            cmd=cmd,
            sources=(PathPair(p.src, "/app"),) if p.src is not None else (),
            setup=setup,
        )


kit = NodeKit()
