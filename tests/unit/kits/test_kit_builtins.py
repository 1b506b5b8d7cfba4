"""The built-in kits produce exactly what the pipeline format's table says."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipex.kits.resolve import resolve_step
from pipex.model.spec import CacheSpec, MountSpec, SetupSpec, StepSpec

APT = "apt-get update && apt-get install -y --no-install-recommends curl jq && rm -rf /var/lib/apt/lists/*"
PIP = "pip install --quiet --root-user-action=ignore -r /app/requirements.txt"
UV = (
    "{ command -v uv >/dev/null 2>&1 || pip install --quiet --root-user-action=ignore uv; } && "
    "uv pip install --system --quiet -r /app/requirements.txt"
)


def spec_of(make, step: dict) -> StepSpec:
    pipeline = make(step)
    return resolve_step(pipeline.steps[0], pipeline)


# ---- shell ------------------------------------------------------------------------------------------------


def test_shell_minimal(make) -> None:
    spec = spec_of(make, {"uses": "shell", "with": {"run": "echo hi > /output/x"}})
    assert spec.image == "alpine:3.20"
    assert spec.cmd == ("sh", "-c", "echo hi > /output/x")
    assert spec.setup is None
    assert spec.mounts == ()
    assert spec.sources == ()
    assert spec.caches == ()
    assert spec.allow_network is False
    assert spec.warnings == ()
    assert spec.kit is not None
    assert spec.kit.name == "shell"
    assert dict(spec.kit.params) == {"image": None, "packages": [], "run": "echo hi > /output/x", "src": None}


def test_shell_packages_switch_to_debian_with_a_networked_setup(make) -> None:
    spec = spec_of(make, {"uses": "shell", "with": {"run": "curl -V", "packages": ["curl", "jq"]}})
    assert spec.image == "debian:bookworm-slim"
    assert spec.setup == SetupSpec(
        ("sh", "-c", APT), (CacheSpec("apt-cache", "/var/cache/apt", exclusive=True),), allow_network=True
    )
    assert spec.allow_network is False  # only the setup phase is online


def test_shell_empty_packages_is_no_packages(make) -> None:
    spec = spec_of(make, {"uses": "shell", "with": {"run": "true", "packages": []}})
    assert spec.image == "alpine:3.20"
    assert spec.setup is None


def test_shell_src_is_a_read_only_mount_and_image_overrides(make, project: Path) -> None:
    (project / "scripts").mkdir()
    spec = spec_of(make, {"uses": "shell", "with": {"run": "sh /app/go.sh", "src": "scripts", "image": "busybox"}})
    assert spec.image == "busybox"
    assert spec.mounts == (MountSpec(project / "scripts", "/app"),)
    assert spec.sources == ()


def test_shell_packages_on_an_alpine_image_warn(make) -> None:
    spec = spec_of(make, {"uses": "shell", "with": {"run": "x", "packages": ["curl"], "image": "alpine:3.20"}})
    assert spec.warnings == (
        'packages are installed with apt-get, which image "alpine:3.20" does not have; use a Debian-based image',
    )


# ---- node -------------------------------------------------------------------------------------------------


def test_node_script_with_src_and_package_json(make, project: Path) -> None:
    (project / "app").mkdir()
    (project / "app" / "package.json").write_text("{}")
    (project / "app" / "index.js").write_text("")
    spec = spec_of(make, {"uses": "node", "with": {"script": "index.js", "src": "app"}})
    assert spec.image == "node:24-alpine"
    assert spec.cmd == ("sh", "-c", "node /app/index.js")
    assert spec.sources == (MountSpec(project / "app", "/app"),)
    assert spec.mounts == ()
    assert spec.setup == SetupSpec(
        ("sh", "-c", "cd /app && npm install --no-package-lock --no-audit --no-fund"),
        (CacheSpec("npm-cache", "/root/.npm", exclusive=True),),
        allow_network=True,
    )
    assert spec.warnings == ()


@pytest.mark.parametrize(
    ("manager", "command", "cache"),
    [
        (
            "pnpm",
            "cd /app && { command -v pnpm >/dev/null 2>&1 || "
            "npm install --global --no-audit --no-fund pnpm; } && pnpm install --no-frozen-lockfile",
            CacheSpec("pnpm-store", "/root/.local/share/pnpm/store", exclusive=True),
        ),
        (
            "yarn",
            "cd /app && { command -v yarn >/dev/null 2>&1 || "
            "npm install --global --no-audit --no-fund yarn; } && yarn install",
            CacheSpec("yarn-cache", "/usr/local/share/.cache/yarn", exclusive=True),
        ),
    ],
)
def test_node_package_managers(make, project: Path, manager: str, command: str, cache: CacheSpec) -> None:
    (project / "app").mkdir()
    (project / "app" / "package.json").write_text("{}")
    spec = spec_of(make, {"uses": "node", "with": {"run": "node -v", "src": "app", "packageManager": manager}})
    assert spec.setup == SetupSpec(("sh", "-c", command), (cache,), allow_network=True)
    assert spec.cmd == ("sh", "-c", "node -v")


def test_node_version_variant_and_image(make) -> None:
    spec = spec_of(make, {"uses": "node", "with": {"run": "node -v", "version": "22", "variant": "bookworm-slim"}})
    assert spec.image == "node:22-bookworm-slim"
    spec = spec_of(make, {"uses": "node", "with": {"run": "node -v", "image": "registry.local/node:24"}})
    assert spec.image == "registry.local/node:24"


def test_node_script_path_is_quoted_for_the_shell(make) -> None:
    spec = spec_of(make, {"uses": "node", "with": {"script": "my app/main.js"}})
    assert spec.cmd == ("sh", "-c", "node /app/'my app/main.js'")


def test_node_without_src_skips_install_silently_by_default(make) -> None:
    spec = spec_of(make, {"uses": "node", "with": {"run": "node -e 1"}})
    assert spec.setup is None
    assert spec.warnings == ()


def test_node_explicit_install_without_src_warns(make) -> None:
    spec = spec_of(make, {"uses": "node", "with": {"run": "node -e 1", "install": True}})
    assert spec.setup is None
    assert spec.warnings == ('install skipped: kit "node" has no src to read package.json from',)


def test_node_src_without_package_json_warns(make, project: Path) -> None:
    (project / "app").mkdir()
    spec = spec_of(make, {"uses": "node", "with": {"run": "ls", "src": "app"}})
    assert spec.setup is None
    assert spec.warnings == ('install skipped: no package.json in src "app" (set install: false to silence this)',)


def test_node_install_false(make, project: Path) -> None:
    (project / "app").mkdir()
    (project / "app" / "package.json").write_text("{}")
    spec = spec_of(make, {"uses": "node", "with": {"run": "ls", "src": "app", "install": False}})
    assert spec.setup is None
    assert spec.warnings == ()


# ---- python -----------------------------------------------------------------------------------------------


def test_python_script_with_requirements(make, project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "requirements.txt").write_text("requests\n")
    (project / "src" / "main.py").write_text("")
    spec = spec_of(make, {"uses": "python", "with": {"script": "main.py", "src": "src"}})
    assert spec.image == "python:3.12-slim"
    assert spec.cmd == ("sh", "-c", "python /app/main.py")
    assert spec.mounts == (MountSpec(project / "src", "/app"),)
    assert spec.sources == ()
    assert spec.setup == SetupSpec(
        ("sh", "-c", PIP), (CacheSpec("pip-cache", "/root/.cache/pip", exclusive=True),), allow_network=True
    )
    assert dict(spec.kit.params) == {
        "image": None,
        "install": True,
        "packageManager": "pip",
        "run": None,
        "script": "main.py",
        "src": "src",
        "variant": "slim",
        "version": "3.12",
    }


def test_python_uv(make, project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "requirements.txt").write_text("")
    spec = spec_of(make, {"uses": "python", "with": {"run": "python -V", "src": "src", "packageManager": "uv"}})
    assert spec.setup == SetupSpec(
        ("sh", "-c", UV), (CacheSpec("uv-cache", "/root/.cache/uv", exclusive=True),), allow_network=True
    )


def test_python_version_variant(make) -> None:
    spec = spec_of(make, {"uses": "python", "with": {"run": "python -V", "version": "3.10", "variant": "alpine"}})
    assert spec.image == "python:3.10-alpine"


def test_python_src_without_requirements_warns(make, project: Path) -> None:
    (project / "src").mkdir()
    (project / "src" / "main.py").write_text("")
    spec = spec_of(make, {"uses": "python", "with": {"script": "main.py", "src": "src"}})
    assert spec.setup is None
    assert spec.warnings == ('install skipped: no requirements.txt in src "src" (set install: false to silence this)',)


def test_python_explicit_install_without_src_warns(make) -> None:
    spec = spec_of(make, {"uses": "python", "with": {"run": "python -V", "install": True}})
    assert spec.setup is None
    assert spec.warnings == ('install skipped: kit "python" has no src to read requirements.txt from',)
