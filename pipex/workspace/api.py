"""``Engine.workspace(name)``: everything the workspace commands do, for Python programs.

::

    ws = pipex.Engine().workspace("geodata")
    for row in ws.show().steps:
        print(row.step, row.status, row.run_id)
    print(ws.logs("extract", stream="stderr"))
    for run in ws.runs(limit=5):                   # the recorded pipeline runs, newest first
        print(run.run_id, run.status, run.counts)
    html = ws.report()                             # the newest run's report; format="json" or "tsv" too
    rows = ws.read("extract", "rows.csv")          # bytes; refuses paths that leave the artifacts
    ws.export("extract", "out/")
    ws.prune()
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from pipex.model.secret import redact_env
from pipex.workspace import artifacts, exporter, maintenance, reader, records
from pipex.workspace.artifacts import Entry
from pipex.workspace.exporter import Exported
from pipex.workspace.layout import Workspace
from pipex.workspace.maintenance import Removed
from pipex.workspace.reader import Stream, Summary
from pipex.workspace.records import RunSummary

RemoveTree = Callable[[Path], None]
Render = Callable[[Workspace, str | None, str], str]  # (workspace, run id, format) → the report


class WorkspaceHandle:
    """One workspace of a workdir. Readers take no lock; ``prune``/``remove_step``/``remove`` take it (and
    raise ``WorkspaceBusy`` while a run holds it). ``run`` selects a run id instead of the step's default
    (its last run for ``logs``/``inspect``, its last successful run for ``artifacts``/``read``/``export``)."""

    def __init__(
        self, workdir: Path, name: str, remove_tree: RemoveTree | None = None, *, render: Render | None = None
    ) -> None:
        self._ws = Workspace(workdir, name)
        self._remove_tree = remove_tree
        self._render = render  # pipex.report.render, handed in from above (the workspace never imports it)

    @property
    def name(self) -> str:
        return self._ws.name

    @property
    def path(self) -> Path:
        return self._ws.path

    def exists(self) -> bool:
        return self._ws.exists()

    # -- readers -----------------------------------------------------------------------------------------
    def show(self, step: str | None = None) -> Summary:
        """Each step's last run; ``step``: only its own, or for a fan-out step each instance's."""
        return reader.summarize(self._ws, step)

    def logs(self, step: str, stream: Stream = "both", attempt: int | None = None, *, run: str | None = None) -> str:
        """The step's log text (stdout then stderr for ``both``; undecodable bytes replaced)."""
        return self.log_bytes(step, stream, attempt, run=run).decode("utf-8", errors="replace")

    def log_bytes(
        self, step: str, stream: Stream = "both", attempt: int | None = None, *, run: str | None = None
    ) -> bytes:
        run_id = reader.run_of(self._ws, step, run)
        return reader.read_logs(reader.log_files(self._ws.run_dir(run_id), stream, attempt))

    def inspect(self, step: str, *, run: str | None = None) -> dict[str, Any]:
        """The run's ``meta.json``; values of secret-looking ``env`` names as ``***`` (records written before
        pipex stored them so are shown so too)."""
        meta = self._ws.read_meta(reader.run_of(self._ws, step, run))
        if isinstance(meta.get("env"), dict):
            meta["env"] = redact_env(meta["env"])
        return meta

    def artifacts(self, step: str, path: str = "", *, run: str | None = None) -> list[Entry]:
        return artifacts.entries(self._root(step, run), path, hint=self._hint(step))

    def entry(self, step: str, path: str, *, run: str | None = None) -> Entry:
        """What ``path`` is (file, dir, link…); ``UnsafePath`` if reaching it would leave the artifacts."""
        return artifacts.locate(self._root(step, run), path, hint=self._hint(step))[1]

    def check_path(self, path: str, step: str = "") -> None:
        """``UnsafePath`` for a path no run's artifacts can be read at (absolute, or holding ``..``)."""
        artifacts.checked(path, hint=self._hint(step) if step else None)

    def open(self, step: str, path: str, *, run: str | None = None) -> BinaryIO:
        """A regular artifact, open for reading in binary mode (the caller closes it)."""
        return artifacts.open_file(self._root(step, run), path, hint=self._hint(step))

    def read(self, step: str, path: str, *, run: str | None = None) -> bytes:
        return artifacts.read(self._root(step, run), path, hint=self._hint(step))

    def export(self, step: str, dest: str | os.PathLike[str], path: str = "", *, run: str | None = None) -> Exported:
        """Copy the artifacts of ``step``'s last successful run (or ``run``) into ``dest``; for a fan-out step
        (its plain id), every instance's, each into ``dest/<key>/``."""
        instances = [] if run is not None else reader.instances_of(self._ws, step)
        if instances:
            roots = {inst[len(step) + 1 : -1]: self._root(inst, None) for inst in instances}
            return exporter.export_each(roots, Path(dest), path, hint=self._hint(step))
        return exporter.export(self._root(step, run), Path(dest), path, hint=self._hint(step))

    def instances(self, step: str) -> list[str]:
        """The instance ids (``convert[eu-csv]``, …) a fan-out step ran as in this workspace; ``[]`` for a plain
        step, an instance, or a step with no runs."""
        return reader.instances_of(self._ws, step)

    def runs(self, limit: int | None = None) -> list[RunSummary]:
        """The recorded pipeline runs, newest first (``pipex runs``)."""
        return records.summaries(self._ws, limit)

    def record(self, run_id: str | None = None) -> dict[str, Any]:
        """A pipeline run's record (``None``: the newest), as ``pipex report --format json`` starts from."""
        return records.read(self._ws, run_id)

    def report(self, run_id: str | None = None, format: str = "html") -> str:
        """A recorded run's report (``None``: the newest): ``html`` (one self-contained page), ``json``, ``tsv``.
        Available on the handles ``Engine.workspace`` gives (the report package sits above the workspace)."""
        if self._render is None:
            from pipex.errors import UsageError  # start-up: only on this error path

            raise UsageError(
                "this workspace handle cannot render reports",
                hint="use pipex.Engine(...).workspace(name).report(), or `pipex report WS`",
            )
        return self._render(self._ws, run_id, format)

    def follow(self, step: str, stream: Stream, write: Callable[[bytes], None]) -> str | None:
        """Stream the live run's logs of ``step`` to ``write`` until the step ends (see ``follow.follow``)."""
        # start-up: only `logs -f` follows
        from pipex.workspace.follow import follow

        return follow(self._ws.require(), step, stream, write)

    # -- maintenance (takes the workspace lock) ----------------------------------------------------------
    def prune(self, *, keep_runs: int | None = None) -> Removed:
        """``keep_runs``: also keep only the newest N pipeline-run records (``runs``)."""
        return maintenance.prune(self._ws, self._remove_tree, keep_runs=keep_runs)

    def remove_step(self, step: str) -> Removed:
        return maintenance.remove_step(self._ws, step, self._remove_tree)

    def remove(self) -> Removed:
        return maintenance.remove_workspaces(self._ws.workdir, [self._ws.name], self._remove_tree)

    # -- internals ---------------------------------------------------------------------------------------
    def _root(self, step: str, run: str | None) -> Path:
        return self._ws.run_dir(reader.run_of(self._ws, step, run, success=True)) / "artifacts"

    def _hint(self, step: str) -> str:
        return artifacts.usage_hint(self._ws.name, step)
