"""The ``node`` kit: ``node:<version>-<variant>``, ``src`` copied to ``/app`` (``node_modules`` is written
there), and ``package.json`` dependencies installed in setup with npm, pnpm or yarn."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from pipex.kits.language import LanguageKit, LanguageParams
from pipex.kits.params import TagPart, one_of
from pipex.model.spec import CacheSpec


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


class NodeParams(LanguageParams):
    version: TagPart = "24"
    variant: TagPart = "alpine"
    package_manager: Annotated[str, AfterValidator(one_of(*INSTALLS))] = Field("npm", alias="packageManager")


class NodeKit(LanguageKit):
    name = "node"
    params = NodeParams
    image_name = "node"
    program = "node"
    manifest = "package.json"
    installs = INSTALLS
    copy_src = True  # npm writes node_modules next to package.json


kit = NodeKit()
