"""The ``shell`` kit: a shell command in a small image, with optional Debian packages installed in setup."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pipex.kits.base import KitContext, PathPair, StepTemplate
from pipex.kits.params import AptPackage, NonEmpty, Params, check_src
from pipex.model.spec import CacheSpec, SetupSpec

DEFAULT_IMAGE = "alpine:3.20"
PACKAGES_IMAGE = "debian:bookworm-slim"
APT_CACHE = CacheSpec("apt-cache", "/var/cache/apt", exclusive=True)


class ShellParams(Params):
    run: NonEmpty
    packages: list[AptPackage] = Field(default_factory=list)
    image: NonEmpty | None = None
    src: NonEmpty | None = None


def apt_install(packages: list[str]) -> str:
    return (
        "apt-get update && apt-get install -y --no-install-recommends "
        f"{' '.join(packages)} && rm -rf /var/lib/apt/lists/*"
    )


class ShellKit:
    """``run`` under ``sh -c``; ``src`` mounted read-only at ``/app``; ``packages`` installed with apt-get."""

    name = "shell"
    params = ShellParams

    def resolve(self, params: BaseModel, context: KitContext) -> StepTemplate:
        p = ShellParams.model_validate(params)
        check_src(context, p.src)
        image = p.image or (PACKAGES_IMAGE if p.packages else DEFAULT_IMAGE)
        setup = None
        if p.packages:
            if "alpine" in image:
                context.warn(
                    f'packages are installed with apt-get, which image "{image}" does not have; '
                    "use a Debian-based image"
                )
            cmd = ("sh", "-c", apt_install(p.packages))
            setup = SetupSpec(cmd, (APT_CACHE,), allow_network=True)
        mounts = (PathPair(p.src, "/app"),) if p.src is not None else ()
        return StepTemplate(image=image, cmd=("sh", "-c", p.run), mounts=mounts, setup=setup)


kit = ShellKit()
