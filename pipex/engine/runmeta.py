"""A committed run's ``meta.json`` (execution.md, workspace layout): what a run of a step was, written by the step
runner and by a shared-cache hit (``sharing.restore``, which needs nothing else of the runner)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from pipex.engine.digest import ARTIFACTS_FORMAT
from pipex.engine.events import StepStatus
from pipex.engine.plan import StepContext, StepPlan
from pipex.model.secret import redact_env


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_meta(
    plan: StepPlan,
    ctx: StepContext,
    run_id: str,
    attempt: int,
    started: float,
    finished: float,
    status: StepStatus,
    code: int | None,
    reason: str | None,
    message: str | None,
    digest: str,
    size: int,
    digest_format: int = ARTIFACTS_FORMAT,
) -> dict[str, Any]:
    spec = plan.spec
    info = ctx.info
    return {
        "runId": run_id,
        "stepId": spec.id,
        "stepName": spec.name,
        "status": status,
        "reason": reason,
        "message": message,
        "attempt": attempt,
        "startedAt": iso(started),
        "finishedAt": iso(finished),
        "durationMs": round((finished - started) * 1000),
        "exitCode": code,
        "image": spec.image,
        "imageId": plan.image.id,
        "imageDigest": plan.image.digest or plan.image.id,
        "cmd": list(spec.cmd),
        "env": redact_env(dict(spec.env)),
        "secrets": [{"name": s.name, "source": s.origin} for s in spec.secrets],
        "inputs": [
            {
                "step": i.step,
                "runId": i.run_id,
                "mountedAs": i.mounted_as,
                "digest": i.digest,
                "copyToOutput": i.copy_to_output,
            }
            for i in plan.inputs
        ],
        "mounts": [{"host": str(m.host), "container": m.container} for m in spec.mounts],
        "sources": [{"host": str(m.host), "container": m.container} for m in spec.sources],
        "caches": [{"name": c.name, "path": c.path, "exclusive": c.exclusive} for c in spec.caches],
        "setup": None
        if spec.setup is None
        else {
            "cmd": list(spec.setup.cmd),
            "allowNetwork": spec.setup.allow_network,
            "caches": [{"name": c.name, "path": c.path, "exclusive": c.exclusive} for c in spec.setup.caches],
        },
        "allowNetwork": spec.allow_network,
        "outputPath": spec.output_path,
        "resources": dict(plan.resources),
        "fingerprint": plan.fingerprint or None,  # "": started on an input never recorded (early.py), as a failure
        "fingerprintParts": dict(plan.fingerprint_parts),
        "artifactsDigest": digest,
        "artifactsDigestFormat": digest_format,  # the tree format `digest` is in (absent in older runs: 1)
        "artifactsSize": size,
        "runtime": {
            "engine": info.engine,
            "version": info.version,
            "rootless": info.rootless,
            "apiVersion": info.api_version,
        },
        "pipexVersion": ctx.pipex_version,
        "pid": os.getpid(),
    }
