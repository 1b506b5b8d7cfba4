"""The top-level Containerfile: built offline in the rootless Podman test engine, it runs ``pipex doctor`` and a
two-step pipeline against that same engine through the mounted socket (steps run as sibling containers).

The base is runtimes/pipex-base-image.sh's Debian root (python3 + pipex's dependencies as Debian packages),
written as a tarball once and cached in .test-env/images (building it needs root and a Debian mirror).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.engines.conftest import rootless_podman, session_dir, test_user, user_tmp_path  # noqa: F401
from tests.env import engine_api
from tests.env.services import Engine

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".test-env"
BASE_SCRIPTS = ("runtimes/pipex-base-image.sh", "runtimes/debian-image.sh")
BASE = "localhost/pipex-base:trixie"
IMAGE = "localhost/pipex:test"
SOCKET_IN_CONTAINER = "/run/podman/podman.sock"

pytestmark = pytest.mark.slow


def base_tarball() -> Path:
    """The offline base's root filesystem, built once per version of its scripts."""
    key = hashlib.sha256(b"".join((REPO / name).read_bytes() for name in BASE_SCRIPTS)).hexdigest()[:16]
    path = CACHE / "images" / f"pipex-base-{key}.tar"
    if path.exists():
        return path
    if os.geteuid() != 0:
        pytest.skip("building the offline base image needs root (debootstrap)")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    env = {**os.environ, "ROOTFS_CACHE": str(CACHE / "rootfs")}
    done = subprocess.run(
        [str(REPO / BASE_SCRIPTS[0]), BASE, f"tar:{partial}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    partial.replace(path)
    return path


def podman(engine: Engine, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The podman client, as root, against the engine's socket (a remote client: it runs nothing itself)."""
    return subprocess.run(
        ["podman", "--remote", "--url", engine.url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
    )


@pytest.fixture(scope="module")
def pipex_image(rootless_podman: Engine) -> str:  # noqa: F811
    tarball = base_tarball().read_bytes()
    engine_api.import_image(rootless_podman.socket, "podman", tarball, BASE, ['CMD ["python3"]'])
    built = podman(
        rootless_podman,
        "build",
        "--network=none",
        "--build-arg",
        f"BASE={BASE}",
        "--build-arg",
        "PIP_ARGS=--no-index --no-build-isolation",
        "-t",
        IMAGE,
        "-f",
        str(REPO / "Containerfile"),
        str(REPO),
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return IMAGE


def run_image(engine: Engine, *args: str, project: Path | None = None) -> subprocess.CompletedProcess[str]:
    mounts = ["-v", f"{engine.socket}:{SOCKET_IN_CONTAINER}"]
    if project is not None:
        # The same path inside and out: the engine resolves the steps' bind mounts on the host.
        mounts += ["-v", f"{project}:{project}", "-w", str(project), "-e", f"PIPEX_WORKDIR={project}/.workspaces"]
    return podman(engine, "run", "--rm", "--network=none", *mounts, IMAGE, *args)


def test_image_prints_its_version(pipex_image: str, rootless_podman: Engine) -> None:  # noqa: F811
    version = subprocess.run(
        ["python3", "-c", "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout.strip()
    result = run_image(rootless_podman, "--version")
    assert (result.returncode, result.stdout) == (0, f"pipex {version}\n"), result.stderr


def test_doctor_in_the_image_sees_the_mounted_engine(pipex_image: str, rootless_podman: Engine) -> None:  # noqa: F811
    result = run_image(rootless_podman, "doctor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["endpoint"]["status"] == "ok"
    assert SOCKET_IN_CONTAINER in checks["endpoint"]["detail"]
    assert checks["engine"]["detail"].startswith("podman ")
    assert report["summary"]["canRun"] is True


PIPELINE = """\
id: image-smoke
steps:
  - id: hello
    uses: shell
    with:
      run: echo "hello from a sibling container" > /output/hello.txt
  - id: shout
    uses: shell
    with:
      run: tr a-z A-Z < /input/hello/hello.txt > /output/shout.txt
    inputs:
      - step: hello
"""


def test_image_runs_a_pipeline_on_the_host_engine(
    pipex_image: str,
    rootless_podman: Engine,  # noqa: F811
    user_tmp_path: Path,  # noqa: F811
) -> None:
    (user_tmp_path / "pipeline.yml").write_text(PIPELINE)
    os.chown(user_tmp_path / "pipeline.yml", rootless_podman.uid, rootless_podman.gid)
    result = run_image(rootless_podman, "run", project=user_tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    shout = sorted((user_tmp_path / ".workspaces").rglob("shout.txt"))
    assert shout, f"no shout.txt under {user_tmp_path / '.workspaces'}:\n{result.stdout}{result.stderr}"
    assert shout[-1].read_text() == "HELLO FROM A SIBLING CONTAINER\n"
