"""The ``secrets:`` step field: short and long forms, and the validation problems, verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipex.errors import PipelineError
from pipex.kits.check import load
from pipex.kits.resolve import resolve_steps
from pipex.model.secret import looks_secret, redact_env
from pipex.model.secrets import env_warnings
from pipex.model.spec import SecretSpec

HEAD = "id: p\nsteps:\n  - id: a\n    image: alpine:3.20\n    cmd: ['true']\n"


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "p.yml").write_text(HEAD + body, encoding="utf-8")
    return tmp_path / "p.yml"


def problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(PipelineError) as failed:
        load(write(tmp_path, body))
    return [f"{p.location}: {p.message}" for p in failed.value.problems]


def test_short_and_long_forms_resolve_to_names_and_sources(tmp_path: Path) -> None:
    (tmp_path / "kube").write_text("k\n")
    body = (
        "    secrets:\n      - API_TOKEN\n      - {name: DB, env: PROD_DB}\n"
        "      - {name: KUBE, file: kube, mount: /run/secrets/kube, affectsOutput: true}\n"
        "      - {name: REG, podman: registry-token}\n"
    )
    spec = resolve_steps(load(write(tmp_path, body)))[0]
    assert spec.secrets == (
        SecretSpec("API_TOKEN", "env", "API_TOKEN", "env:API_TOKEN"),
        SecretSpec("DB", "env", "PROD_DB", "env:PROD_DB"),
        SecretSpec("KUBE", "file", str(tmp_path / "kube"), "file:kube", "/run/secrets/kube", affects_output=True),
        SecretSpec("REG", "podman", "registry-token", "podman:registry-token"),
    )
    assert spec.env == {}  # a secret is never part of the step's environment


def test_problems_are_named_by_their_location(tmp_path: Path) -> None:
    body = (
        "    env: {API_TOKEN: x}\n"
        "    secrets:\n      - API_TOKEN\n      - {name: 1BAD}\n      - {name: B, env: X, podman: y}\n"
        "      - {name: C, mount: relative}\n      - {name: D, file: ../outside}\n      - {name: C}\n"
    )
    assert problems(tmp_path, body) == [
        'steps[0].secrets[0].name: "API_TOKEN" is both a secret and set in env',
        "steps[0].secrets[1].name: '1BAD' is not a valid variable name (letters, digits and _)",
        "steps[0].secrets[2].podman: a secret comes from one place: env and podman are both set",
        "steps[0].secrets[3].mount: 'relative' must be an absolute container path",
        f'steps[0].secrets[4].file: secret file "../outside" resolves to {tmp_path.parent / "outside"}, '
        f"outside the pipeline root {tmp_path}",
        'steps[0].secrets[5].name: secret "C" is declared twice',
    ]


def test_secret_looking_names() -> None:
    secret = ("API_TOKEN", "db_password", "MY_SECRET", "AWS_KEY", "KEY", "APIKEY", "GCP_CREDENTIALS")
    assert all(looks_secret(name) for name in secret)
    assert not any(looks_secret(name) for name in ("MONKEY", "PATH", "HOME", "KEYBOARD", "LANG"))
    assert redact_env({"A": "1", "API_TOKEN": "x"}) == {"A": "1", "API_TOKEN": "***"}


def test_validate_warns_of_plain_env_that_looks_secret(tmp_path: Path) -> None:
    pipeline = load(write(tmp_path, "    env: {API_TOKEN: x, PLAIN: y}\n"))
    assert env_warnings(pipeline.steps) == [
        "steps[0].env.API_TOKEN: looks like a secret; pipex stores and shows it as ***, but its value is in the "
        'pipeline file and reaches the engine as a plain variable: declare it under "secrets:"'
    ]
