"""The workspace's HMAC key for secret values in fingerprints is made once, whole, whoever asks first: fingerprints
are computed on the event loop and in worker threads (a dependent started early, a step with mounts), and by other
pipex processes on the same workspace."""

from __future__ import annotations

import threading
from pathlib import Path

from pipex.engine.fingerprints import KEY_FILE, Fingerprinter
from pipex.model.spec import StepSpec
from pipex.runtime.base import ImageRef
from pipex.workspace.layout import Workspace

IMAGE = ImageRef(reference="alpine:3.20", id="sha256:" + "0" * 64)
SPEC = StepSpec(id="s", name="s", image="alpine:3.20", cmd=("c",), env={"API_TOKEN": "value"})


def _fingerprint(fp: Fingerprinter, start: threading.Barrier, found: list[str]) -> None:
    start.wait()
    found.append(fp.compute(SPEC, IMAGE, {}).value)


def test_every_fingerprinter_racing_for_the_key_gets_the_same_whole_key(tmp_path: Path) -> None:
    for round_ in range(10):
        ws = Workspace(tmp_path, f"w{round_}")
        ws.path.mkdir()
        # one per process in real life: each with its own in-memory key, sharing the file
        makers = [Fingerprinter(ws, read_only=False, info=None) for _ in range(4)]
        start = threading.Barrier(len(makers))
        found: list[str] = []
        threads = [threading.Thread(target=_fingerprint, args=(fp, start, found)) for fp in makers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for fp in makers:
            fp.close()
        assert len(set(found)) == 1, found
        assert len((ws.path / KEY_FILE).read_bytes()) == 32
        assert [p.name for p in ws.path.iterdir() if "key" in p.name] == [KEY_FILE]  # no draft left behind
        assert (ws.path / KEY_FILE).stat().st_mode & 0o777 == 0o600
