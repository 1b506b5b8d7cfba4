"""Contract: whatever a step writes, the invoking user can read and delete it.

For rootless Podman the invoking user is the non-root ``pipex-test`` (the engine's own user); for the rootful
engines it is played by ``pipex-test`` too, and ``normalize_ownership`` hands the files over after the steps.
Two steps write into the same output dir: one whose image runs as root, one whose image runs as USER 1000.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipex.runtime.base import Bind, ContainerSpec, UserMapping
from pipex.runtime.fake import Behaviour
from tests.contract.conftest import Target
from tests.env.users import TestUser, run_as_test_user

ROOT_STEP = ("sh", "-c", "mkdir -p /output/root/sub && echo r > /output/root/sub/f && chmod 700 /output/root/sub")
NONROOT_STEP = ("sh", "-c", "mkdir -p /output/nonroot && echo n > /output/nonroot/f && chmod 600 /output/nonroot/f")


def run_step(target: Target, image: str, cmd: tuple[str, ...], out: Path, userns: UserMapping) -> None:
    spec = ContainerSpec(
        image=image, cmd=cmd, labels=target.labels, binds=(Bind(out, "/output", read_only=False),), userns=userns
    )
    cid = target.runtime.create(spec)
    target.runtime.start(cid)
    code = target.runtime.wait(cid, timeout=60)
    assert code == 0, b"".join(c.data for c in target.runtime.logs(cid))


def test_user_can_read_and_delete_every_output(target: Target, user_tmp_path: Path, test_user: TestUser) -> None:
    out = user_tmp_path / "out"
    out.mkdir()
    info = target.runtime.info()
    nonroot_userns = UserMapping()
    if info.supports_keep_id:
        # Rootless: map the image's USER to the invoking user, so it can write the user's dir.
        nonroot_userns = UserMapping(keep_id=(target.nonroot_uid, target.nonroot_uid))
        out.chmod(0o755)
    else:
        # Rootful: the step runs as the image's USER on the host; the core opens the output dir to it.
        out.chmod(0o777)
    os.chown(out, test_user.uid, test_user.gid)
    target.expect(ROOT_STEP, Behaviour(files={"root/sub/f": "r\n"}))
    target.expect(NONROOT_STEP, Behaviour(files={"nonroot/f": "n\n"}))
    run_step(target, target.alpine, ROOT_STEP, out, UserMapping())
    run_step(target, target.nonroot, NONROOT_STEP, out, nonroot_userns)

    target.runtime.normalize_ownership(out, test_user.uid, test_user.gid, image=target.alpine)

    shown = run_as_test_user(["cat", str(out / "root/sub/f"), str(out / "nonroot/f")])
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, "r\nn\n", "")
    removed = run_as_test_user(["rm", "-rf", str(out)])
    assert (removed.returncode, removed.stderr) == (0, "")
    assert not out.exists()
