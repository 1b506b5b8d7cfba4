"""The one base of the language kits (``node``, ``python``): a script or a command in the language's official
image, ``src`` at ``/app``, and the dependencies its manifest lists installed in setup by a package manager.

A language kit only says what differs: its image name, program, manifest, package managers (setup command and
cache each), tag defaults, and whether ``src`` is copied to ``/app`` (the install writes there) or mounted
read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, Field

from pipex.kits.base import KitContext, PathPair, StepTemplate
from pipex.kits.params import (
    NonEmpty,
    Params,
    ScriptPath,
    TagPart,
    check_script,
    check_src,
    script_command,
    wants_install,
)
from pipex.model.spec import CacheSpec, SetupSpec


class LanguageParams(Params):
    """The parameters every language kit takes; a kit's subclass gives ``version``, ``variant`` and
    ``package_manager`` their defaults (and the package manager its choices)."""

    script: ScriptPath | None = None
    run: NonEmpty | None = None
    src: NonEmpty | None = None
    version: TagPart
    variant: TagPart
    package_manager: str = Field(alias="packageManager")
    install: bool = True
    image: NonEmpty | None = None


class LanguageKit:
    """``resolve`` for a language kit; a subclass sets the class attributes below."""

    name: ClassVar[str]
    params: ClassVar[type[LanguageParams]]
    image_name: ClassVar[str]  # the image is ``<image_name>:<version>-<variant>`` unless ``image`` is given
    program: ClassVar[str]  # runs ``script``: ``<program> /app/<script>``
    manifest: ClassVar[str]  # the file in ``src`` listing the dependencies
    installs: ClassVar[Mapping[str, tuple[str, CacheSpec]]]  # package manager → (setup command, its cache)
    copy_src: ClassVar[bool]  # True: ``src`` is copied to /app (writable); False: mounted read-only

    def resolve(self, params: BaseModel, context: KitContext) -> StepTemplate:
        p = self.params.model_validate(params)
        cmd = script_command(self.name, self.program, p.script, p.run)
        check_src(context, p.src)
        check_script(context, p.src, p.script)
        setup = None
        explicit = "install" in p.model_fields_set
        if p.install and wants_install(context, self.name, p.src, self.manifest, explicit):
            command, cache = self.installs[p.package_manager]
            setup = SetupSpec(("sh", "-c", command), (cache,), allow_network=True)
        app = (PathPair(p.src, "/app"),) if p.src is not None else ()
        return StepTemplate(
            image=p.image or f"{self.image_name}:{p.version}-{p.variant}",
            cmd=cmd,
            sources=app if self.copy_src else (),
            mounts=() if self.copy_src else app,
            setup=setup,
        )
