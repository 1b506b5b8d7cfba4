"""Secrets end to end on the fake runtime: declared, delivered, masked, never written (spec: secrets.md)."""

from __future__ import annotations

import itertools
import json
import os
import pickle
from pathlib import Path

import pytest

import pipex
from pipex.cli.main import main
from pipex.daemon.child import run_detached
from pipex.daemon.request import DetachedRequest
from pipex.engine.options import RunOptions
from pipex.model.secret import Secret
from pipex.runtime.base import LogChunk, Stream
from pipex.runtime.fake import Behaviour, FakeRuntime

VALUE = "tok-5f2b9c7e-UNIQUE-ä☃"
FILE_VALUE = "kube-cfg-91ac1d\n"

PIPELINE = """\
id: sec
steps:
  - id: deploy
    image: alpine:3.20
    cmd: [sh, -c, 'echo "$API_TOKEN"']
    env: {PLAIN: visible, DB_PASSWORD: in-the-file}
    secrets:
      - API_TOKEN
      - name: KUBE
        file: .secrets/kube
        mount: /run/secrets/kube
  - id: flaky
    image: alpine:3.20
    cmd: [sh, -c, 'echo "$API_TOKEN" >&2; exit 1']
    retries: 1
    retryDelayMs: 0
    secrets: [API_TOKEN]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    here = tmp_path / "project"
    (here / ".secrets").mkdir(parents=True)
    (here / "pipeline.yml").write_text(PIPELINE, encoding="utf-8")
    (here / ".secrets" / "kube").write_text(FILE_VALUE, encoding="utf-8")
    monkeypatch.chdir(here)
    return here


def split(data: bytes, *cuts: int) -> list[LogChunk]:
    points = [0, *cuts, len(data)]
    return [LogChunk(Stream.STDOUT, data[a:b]) for a, b in itertools.pairwise(points)]


def script(rt: FakeRuntime) -> None:
    raw = VALUE.encode()
    # The value split inside a multi-byte character and across chunks, then the file secret, then binary.
    out = split(b"token: " + raw + b"\nkube: " + FILE_VALUE.encode() + b"\xff\x00" + raw + b"\n", 9, 20, 30)
    rt.script(step="deploy", behaviour=Behaviour(output=out))
    rt.script(step="flaky", behaviour=Behaviour(exit_code=1, stderr=b"oops " + raw + b"\n"))


def pipex_cli(args: list[str], runtime: FakeRuntime) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["--no-color", *args], runtime=runtime)
    code = exited.value.code
    assert isinstance(code, int)
    return code


def every_byte(root: Path) -> bytes:
    out = b""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            if not path.is_symlink():
                out += path.read_bytes()
    return out


def leaks(data: bytes | str) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [v for v in (VALUE, FILE_VALUE.strip()) if v.encode() in raw]


def test_run_delivers_masks_and_writes_no_value(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_TOKEN", VALUE)
    rt = FakeRuntime()
    script(rt)
    workdir = tmp_path / "wd"
    assert pipex_cli(["--workdir", str(workdir), "run", "--json"], rt) == 1  # flaky fails twice
    captured = capsys.readouterr()
    delivered = rt.delivered("deploy")
    assert delivered["API_TOKEN"].value == VALUE.encode() and delivered["API_TOKEN"].env == "API_TOKEN"
    assert delivered["KUBE"].value == FILE_VALUE.encode() and delivered["KUBE"].path == "/run/secrets/kube"
    assert not any("API_TOKEN" in spec_env for spec_env in (c.spec.env for c in rt.containers.values()))
    assert leaks(captured.out + captured.err) == []
    assert leaks(every_byte(workdir)) == []
    logs = every_byte(workdir / "sec" / "runs")
    assert b"token: ***\nkube: ***\n\xff\x00***\n" in logs  # the bytes around the values are kept
    assert b"oops ***\n" in logs
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert {"token: ***", "oops ***"} <= {e.get("line") for e in lines}
    meta = json.loads(next((workdir / "sec" / "runs").glob("*/meta.json")).read_text())
    metas = [json.loads(p.read_text()) for p in (workdir / "sec" / "runs").glob("*/meta.json")]
    deploy = next(m for m in metas if m["stepId"] == "deploy")
    assert deploy["secrets"] == [
        {"name": "API_TOKEN", "source": "env:API_TOKEN"},
        {"name": "KUBE", "source": "file:.secrets/kube"},
    ]
    assert deploy["env"] == {"DB_PASSWORD": "***", "PLAIN": "visible"}
    assert meta  # every run has one
    key = workdir / "sec" / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600  # made for the secret-looking env entry's HMAC


def test_a_secret_without_a_value_stops_before_anything_runs(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    rt = FakeRuntime()
    assert pipex_cli(["--workdir", str(tmp_path / "wd"), "run"], rt) == 2
    err = capsys.readouterr().err
    assert err == (
        'error: step "deploy": secret "API_TOKEN" has no value: not given with --secret-file/--secret, and the host '
        "variable API_TOKEN is not set\nhint: export API_TOKEN=…, or pass --secret-file FILE with a API_TOKEN=… line\n"
    )
    assert not any(name == "create" for name, _ in rt.calls)


def test_secret_file_and_secret_options(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    (tmp_path / "s.env").write_text(f"API_TOKEN={VALUE}\n", encoding="utf-8")
    rt = FakeRuntime()
    script(rt)
    args = ["--workdir", str(tmp_path / "wd"), "run", "--target", "deploy", "--secret-file", str(tmp_path / "s.env")]
    assert pipex_cli(args, rt) == 0
    assert rt.delivered("deploy")["API_TOKEN"].value == VALUE.encode()
    monkeypatch.setenv("OTHER", "x")
    assert pipex_cli(["--workdir", str(tmp_path / "wd"), "run", "--secret", "NOPE_VAR"], rt) == 2
    assert "error: --secret NOPE_VAR: the host variable NOPE_VAR is not set\n" in capsys.readouterr().err


def test_a_rotated_secret_keeps_the_cache_unless_it_affects_the_output(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = FakeRuntime()
    script(rt)
    workdir = str(tmp_path / "wd")
    for value in ("first-value-1", "second-value-2"):
        monkeypatch.setenv("API_TOKEN", value)
        assert pipex_cli(["--workdir", workdir, "run", "--target", "deploy"], rt) == 0
    assert sum(1 for name, _ in rt.calls if name == "create") == 1  # the second run was a cache hit
    text = (
        (project / "pipeline.yml")
        .read_text()
        .replace("      - API_TOKEN\n", "      - {name: API_TOKEN, affectsOutput: true}\n", 1)
    )
    (project / "pipeline.yml").write_text(text)
    for value in ("third-value-3", "third-value-3", "fourth-value-4"):
        monkeypatch.setenv("API_TOKEN", value)
        assert pipex_cli(["--workdir", workdir, "run", "--target", "deploy"], rt) == 0
    assert sum(1 for name, _ in rt.calls if name == "create") == 3  # changed doc, cached, rotated
    assert b"third-value-3" not in every_byte(tmp_path / "wd")


def test_a_detached_run_gets_the_values_apart_from_its_request_and_logs_none(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "wd"
    options = RunOptions(workspace="bg", target=("deploy",), secrets={"API_TOKEN": Secret(VALUE)})
    request = DetachedRequest(project / "pipeline.yml", project, workdir, "auto", None, options)
    text = json.dumps(request.to_json())  # what spawn writes to the request file
    assert leaks(text) == [] and '"secretNames": ["API_TOKEN"]' in text
    with pytest.raises(ValueError, match=r"the values of the secrets \['API_TOKEN'\] did not arrive"):
        DetachedRequest.from_json(json.loads(text))
    again = DetachedRequest.from_json(json.loads(text), {"API_TOKEN": Secret(VALUE)})  # as the child reads it
    rt = FakeRuntime()
    script(rt)
    read_end, write_end = os.pipe()
    assert run_detached(again, write_end, runtime=rt, redirect_stdio=False) == 0
    os.close(read_end)
    assert rt.delivered("deploy")["API_TOKEN"].value == VALUE.encode()
    assert pipex_cli(["--workdir", str(workdir), "attach", "bg", "--json"], rt) == 0
    out = capsys.readouterr()
    assert '"line":"token: ***"' in out.out
    assert leaks(out.out + out.err) == [] and leaks(every_byte(workdir)) == []


def test_secret_never_shows_its_value() -> None:
    secret = Secret(VALUE)
    assert repr(secret) == str(secret) == f"{secret}" == "Secret('***')"
    assert VALUE not in repr(RunOptions(secrets={"A": secret}))
    assert secret.reveal() == VALUE
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_the_python_api_takes_secrets(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    rt = FakeRuntime()
    script(rt)
    engine = pipex.Engine(workdir=tmp_path / "wd", runtime=rt)
    result = engine.run_sync(pipex.load(project), target=["deploy"], secrets={"API_TOKEN": VALUE})
    assert result.status == "success"
    assert rt.delivered("deploy")["API_TOKEN"].value == VALUE.encode()
    with pytest.raises(pipex.SecretMissing, match=r'^step "deploy": secret "API_TOKEN" has no value'):
        engine.run_sync(pipex.load(project), target=["deploy"])


def test_explain_names_a_rotated_secret_that_affects_the_output(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (project / "pipeline.yml").read_text()
    (project / "pipeline.yml").write_text(
        text.replace("      - API_TOKEN\n", "      - {name: API_TOKEN, affectsOutput: true}\n", 1)
    )
    rt = FakeRuntime()
    script(rt)
    workdir = str(tmp_path / "wd")
    monkeypatch.setenv("API_TOKEN", "first-value-1")
    assert pipex_cli(["--workdir", workdir, "run", "--target", "deploy"], rt) == 0
    monkeypatch.setenv("API_TOKEN", "second-value-2")
    capsys.readouterr()
    assert pipex_cli(["--workdir", workdir, "run", "--target", "deploy", "--dry-run"], rt) == 0
    out = capsys.readouterr()
    assert "would run (secret API_TOKEN changed)" in out.out + out.err
    meta = next((tmp_path / "wd" / "sec" / "runs").glob("*/meta.json")).read_text()
    assert "first-value-1" not in meta and '"secrets.API_TOKEN": "sha256:' in meta
