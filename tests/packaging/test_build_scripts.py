"""The packaging scripts keep their chroots (and the /proc mounted in them) outside the working tree."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ("packaging/ci/build-deb.sh", "packaging/ci/rpm-smoke.sh")


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_default_cache_is_outside_the_tree(script: str) -> None:
    text = (REPO / script).read_text()
    (default,) = re.findall(r"PIPEX_PACKAGING_CACHE:-([^}]*)\}", text)
    assert default == "/var/tmp/pipex-packaging"
    # Every exit path unmounts: signals go through `exit`, so the EXIT trap runs for them too.
    for trap in ("trap cleanup EXIT", "trap 'exit 130' INT", "trap 'exit 143' TERM", "trap 'exit 129' HUP"):
        assert trap in text, (script, trap)


@pytest.mark.skipif(os.geteuid() != 0, reason="the script checks for root first")
def test_build_deb_refuses_a_cache_inside_the_tree(tmp_path: Path) -> None:
    inside = REPO / ".test-env" / "packaging"
    done = subprocess.run(
        ["bash", str(REPO / "packaging/ci/build-deb.sh"), str(tmp_path / "out")],
        env={**os.environ, "PIPEX_PACKAGING_CACHE": str(inside)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"build-deb: error: PIPEX_PACKAGING_CACHE={inside} is inside the working tree",
        f"hint: choose a directory outside {REPO} (default: /var/tmp/pipex-packaging): its roots get /proc "
        "mounted in them",
    ]
    assert not (tmp_path / "out").exists()
