"""The job script of one attempt on Slurm: a POSIX shell script that runs the step's container with the node's
rootless Podman CLI (no socket, no pipex needed on the node) and leaves its results in the job dir.

Files in the job dir (on the shared filesystem, inside the attempt's staging dir):
``stdout``/``stderr`` — the container's streams as written; ``exit`` — its exit code, written atomically
(temp + rename) once it ended; ``setup-exit`` — the setup command's code when it failed; ``node`` — the name of
the node the job runs on (Slurm's ``$SLURMD_NODENAME``, else ``hostname``), written first; ``env`` — the step's
environment (0600, ``--env-file``: values never on a command line); ``job.out`` — the script's own output.

Cancelled (``scancel``: SIGTERM, SIGKILL after Slurm's KillWait), the trap removes the container at once: the
``podman`` client is only a child of the job, the container's ``conmon`` is not, so without it the container
would outlive the job. A cancelled job writes no ``exit``: the controller decides what a missing one means.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from pipex.errors import EngineError
from pipex.executors.base import Task
from pipex.runtime.base import ContainerSpec
from pipex.runtime.compat import HOLD_CANDIDATES, HOLD_TARGET

q = shlex.quote


def env_file(spec: ContainerSpec) -> str:
    """``--env-file`` lines; a value with a line break cannot be written there and is refused."""
    lines = []
    for name, value in spec.env.items():
        if "\n" in value or "\r" in value or "\n" in name or "=" in name:
            raise EngineError(
                f"environment variable {name!r} holds a line break, which a Slurm job cannot pass to podman",
                hint="put the value in a file the step reads, or run the step with --executor local",
            )
        lines.append(f"{name}={value}\n")
    return "".join(lines)


def podman_options(spec: ContainerSpec, name: str, job_dir: Path) -> list[str]:
    """``podman run``/``create`` options for ``spec`` (the image and command come after them)."""
    opts = ["--name", name, "--pull=never", "--env-file", str(job_dir / "env")]
    for key, value in spec.labels.items():
        opts += ["--label", f"{key}={value}"]
    for bind in spec.binds:
        opts += ["-v", f"{bind.source}:{bind.target}:{'ro' if bind.read_only else 'rw'}"]
    if not spec.network:
        opts.append("--network=none")
    elif spec.hold:
        opts.append("--network=podman")  # a named network can be disconnected after the setup phase
    if spec.user is not None:
        opts += ["--user", spec.user]
    if spec.userns.keep_id is not None:
        uid, gid = spec.userns.keep_id
        opts.append(f"--userns=keep-id:uid={uid},gid={gid}")
    if spec.workdir is not None:
        opts += ["--workdir", spec.workdir]
    if spec.hold:
        opts += ["-v", f'"$hold":{HOLD_TARGET}:ro', "--entrypoint", json.dumps([HOLD_TARGET])]
    else:
        if spec.init:
            opts.append("--init")
        if spec.entrypoint is not None:
            opts += ["--entrypoint", json.dumps(list(spec.entrypoint)) if spec.entrypoint else ""]
    return opts


def _words(words: list[str]) -> str:
    # "$hold" is the one word expanded by the shell (the node's catatonit); everything else is quoted.
    return " ".join(w if w.startswith('"$hold"') else q(w) for w in words)


def job_script(task: Task, job_dir: Path, runtime_dir: str | None) -> str:
    spec = task.container
    name = f"pipex-{task.staging.name}"
    opts = podman_options(spec, name, job_dir)
    image_cmd = [spec.image, "-P"] if spec.hold else [spec.image, *(spec.cmd or ())]
    out, err = q(str(job_dir / "stdout")), q(str(job_dir / "stderr"))
    lines = [
        "#!/bin/sh",
        "# pipex step runner (generated): one attempt of one step",
        f"J={q(str(job_dir))}",
        f"name={q(name)}",
        # The submitter's runtime dir when the node has it (the same user), else a private one: rootless Podman
        # keeps its runtime state there, and a fallback of its own would silently use another one.
        f"XDG_RUNTIME_DIR={q(runtime_dir or '')}",
        '[ -n "$XDG_RUNTIME_DIR" ] && [ -d "$XDG_RUNTIME_DIR" ] && [ -w "$XDG_RUNTIME_DIR" ] || {',
        '  XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/pipex-run-$(id -u)"; mkdir -p -m 700 "$XDG_RUNTIME_DIR"; }',
        "export XDG_RUNTIME_DIR",
        "unset DOCKER_HOST CONTAINER_HOST CONTAINER_CONNECTION",
        'done_with() { printf "%s\\n" "$2" >"$J/$1.tmp" && mv -f "$J/$1.tmp" "$J/$1"; }',
        'gone() { podman rm -f -t 0 "$name" >/dev/null 2>&1; exit 143; }',
        "trap gone TERM INT HUP",
        # Slurm's name for the node (what scontrol and sinfo take), else the host's: atomically, like the exit file.
        'done_with node "${SLURMD_NODENAME:-$(hostname 2>/dev/null)}"',
    ]
    if spec.hold:
        found = " ".join(q(str(p)) for p in HOLD_CANDIDATES)
        lines += [
            "hold=",
            f'for p in {found}; do [ -x "$p" ] && {{ hold=$p; break; }}; done',
            '[ -n "$hold" ] || { echo "pipex: no catatonit on this node (install catatonit)" >&2; exit 1; }',
        ]
    if not task.sources and not spec.hold:
        lines += [
            f"podman run --rm {_words(opts)} {_words(image_cmd)} >{out} 2>{err} </dev/null &",
            "wait $!; code=$?",
            'done_with exit "$code"',
        ]
        return "\n".join(lines) + "\n"
    lines.append(f"podman create {_words(opts)} {_words(image_cmd)} >/dev/null || exit 1")
    for src in task.sources:
        lines.append(f'podman cp {q(str(src.host) + "/.")} "$name":{q(src.container)} || {{ gone; }}')
    if task.setup is None:
        lines += [f'podman start -a "$name" >{out} 2>{err} </dev/null &', "wait $!; code=$?"]
    else:
        setup, run = task.setup.cmd, task.setup.run
        lines += [
            'podman start "$name" >/dev/null || gone',
            f'podman exec "$name" {_words(list(setup))} >{out} 2>{err} </dev/null &',
            "wait $!; code=$?",
            'if [ "$code" != 0 ]; then',
            '  podman rm -f -t 0 "$name" >/dev/null 2>&1; done_with setup-exit "$code"; exit 0',
            "fi",
        ]
        if task.setup.drop_network:
            lines.append('podman network disconnect -f podman "$name" >>"$J/job.out" 2>&1 || code=125')
        lines += [
            f'podman exec "$name" {_words(list(run))} >>{out} 2>>{err} </dev/null &',
            "wait $!; code=$?",
        ]
    lines += ['podman rm -f -t 0 "$name" >/dev/null 2>&1', 'done_with exit "$code"']
    return "\n".join(lines) + "\n"
