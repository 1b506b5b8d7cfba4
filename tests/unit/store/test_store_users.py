"""Two users share one store through a group (README: Sharing a cache): root and ``pipex-test`` each run the same
pipeline from their own project directory and workdir; the second hits what the first stored, and the first hits
what the second added. Needs root and the ``pipex-test`` user (``make system``); skipped elsewhere."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipex.testing import mock, run

USER = "pipex-test"
REPO = Path(__file__).resolve().parents[3]
SCRIPT = """
import json, sys
from pathlib import Path
from pipex.testing import run
from pipex.engine.events import StepCached, StepStart
r = run(Path(sys.argv[1]), workdir=Path(sys.argv[2]), cache_store=Path(sys.argv[3]))
state = json.loads((Path(sys.argv[2]) / "ex" / "state.json").read_text())
out = {e.step.id: "ran" for e in r.events if isinstance(e, StepStart)}
out.update({e.step.id: e.source for e in r.events if isinstance(e, StepCached)})
print(json.dumps({"status": r.status, "sources": out,
                  "fingerprints": {k: v["lastSuccess"]["fingerprint"] for k, v in state["steps"].items()}}))
"""


def _pipeline(root: Path, steps: str) -> Path:
    root.mkdir(parents=True)
    (root / "pipeline.yml").write_text(f"id: ex\nsteps:\n{steps}")
    return root / "pipeline.yml"


A = "  - {id: a, image: alpine:3.20, cmd: [a]}\n"
B = "  - {id: b, image: alpine:3.20, cmd: [b], inputs: [{step: a}]}\n"


@pytest.fixture
def shared() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    try:
        user = pwd.getpwnam(USER)
    except KeyError:
        pytest.skip(f"needs the {USER} user (make system)")
    base = Path(tempfile.mkdtemp(prefix="pipex-store-users-"))
    base.chmod(0o755)
    store = base / "store"
    store.mkdir()
    os.chown(store, 0, user.pw_gid)  # the team's group: pipex-test's own group here
    store.chmod(0o2775)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def _as_user(pipeline: Path, workdir: Path, store: Path) -> dict[str, object]:
    done = subprocess.run(
        ["runuser", "-u", USER, "--", sys.executable, "-c", SCRIPT, str(pipeline), str(workdir), str(store)],
        check=False, capture_output=True, text=True, timeout=120, cwd=pipeline.parent,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(pipeline.parent)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_root_and_another_user_share_a_store_through_a_group(shared: Path) -> None:
    store = shared / "store"
    mine = run(_pipeline(shared / "root-project", A), mocks=[mock("a", files={"o.txt": b"1"})],
               workdir=shared / "root-wd", cache_store=store)  # fmt: skip
    assert mine.status == "success"
    # what root created in the store is group-shared: directories 2775 of the store's group, entries read-only
    gid = store.stat().st_gid
    for sub in ("ac", "cas", "tmp"):
        st = (store / sub).stat()
        assert (st.st_mode & 0o7777, st.st_gid) == (0o2775, gid), sub
    record = next((store / "ac").iterdir())
    assert record.stat().st_mode & 0o777 == 0o444

    theirs_root = shared / "user-project"
    pipeline = _pipeline(theirs_root, A + B)
    uid = pwd.getpwnam(USER).pw_uid
    for path in (theirs_root, pipeline):
        os.chown(path, uid, grp.getgrnam(USER).gr_gid)
    theirs = _as_user(pipeline, theirs_root / "wd", store)
    assert theirs["status"] == "success"
    assert theirs["sources"] == {"a": "store", "b": "ran"}  # b is new: the other user writes it to the store
    root_fp = json.loads((shared / "root-wd" / "ex" / "state.json").read_text())["steps"]["a"]["lastSuccess"]
    assert theirs["fingerprints"]["a"] == root_fp["fingerprint"]  # type: ignore[index]

    # and back: root, in a fresh workdir of yet another project, hits what the other user stored
    again = run(_pipeline(shared / "root-project-2", A + B), workdir=shared / "root-wd-2", cache_store=store)
    assert {e.step.id: e.source for e in again.events if hasattr(e, "source")} == {"a": "store", "b": "store"}
