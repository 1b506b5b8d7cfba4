"""Step outputs: the $PIPEX_OUTPUT file read as hostile, declared outputs, storage with the run, events, cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipex.engine import outputs
from pipex.engine.events import StepCached, StepEnd, StepWarning
from pipex.runtime.fake import Behaviour, FakeRuntime
from pipex.testing import mock, run
from tests.unit.engine.test_engine_support import creates, meta, of, state, write


# -- the file format ------------------------------------------------------------------------------------------
def test_values_that_parse_as_json_are_kept_as_json_else_strings() -> None:
    data = (
        b'files=["a.csv","b.csv"]\nn=3\nratio=-0.5\nok=true\nobj={"k": 1}\nname=eu\n'
        b"null=null\nnan=NaN\nempty=\nspaced= 4 \nbad=[1,\nmulti<<EOF\nline 1\n[2]\nEOF\n\r\n"
    )
    assert outputs.parse(data) == {
        "files": ["a.csv", "b.csv"],
        "n": 3,
        "ratio": -0.5,
        "ok": True,
        "obj": {"k": 1},
        "name": "eu",
        "null": "null",
        "nan": "NaN",
        "empty": "",
        "spaced": 4,
        "bad": "[1,",
        "multi": "line 1\n[2]",
    }


def test_the_last_value_of_a_repeated_key_wins_and_crlf_lines_are_read() -> None:
    assert outputs.parse(b"a=1\r\na=two\r\n") == {"a": "two"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"no equals sign\n", "$PIPEX_OUTPUT line 1: expected key=value or key<<DELIMITER, got 'no equals sign'"),
        (b"a=1\n=x\n", "$PIPEX_OUTPUT line 2: expected key=value or key<<DELIMITER, got '=x'"),
        (
            b"9lives=1\n",
            "$PIPEX_OUTPUT line 1: '9lives' is not a valid output name (letters, digits, _ and -, not starting "
            "with a digit or -)",
        ),
        (
            b"a b=1\n",
            "$PIPEX_OUTPUT line 1: 'a b' is not a valid output name (letters, digits, _ and -, not "
            "starting with a digit or -)",
        ),
        (b"text<<EOF\nnever closed\n", "$PIPEX_OUTPUT line 1: the value of text is not closed by 'EOF'"),
        (b"text<<\nx\n", "$PIPEX_OUTPUT line 1: text<< needs a delimiter (key<<EOF … EOF)"),
        (b"a=\xff\n", "$PIPEX_OUTPUT is not UTF-8 text (byte 2)"),
        (b"a=1\x00\n", "$PIPEX_OUTPUT holds a NUL byte; write key=value lines"),
    ],
)
def test_a_malformed_file_is_an_error_naming_the_line(data: bytes, message: str) -> None:
    with pytest.raises(outputs.OutputError) as caught:
        outputs.parse(data)
    assert str(caught.value) == message


def test_deeply_nested_or_huge_json_stays_a_string() -> None:
    deep = "[" * 100_000
    assert outputs.parse(f"d={deep}\nbig={'9' * 5000}\n".encode()) == {"d": deep, "big": "9" * 5000}


def test_reading_refuses_links_fifos_and_more_than_one_mib(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    assert outputs.read_file(folder) == b""  # nothing written: no outputs
    assert outputs.read_file(tmp_path / "missing") == b""
    secret = tmp_path / "secret"
    secret.write_text("password=hunter2\n")
    (folder / "output").symlink_to(secret)
    with pytest.raises(outputs.OutputError, match=r"^\$PIPEX_OUTPUT is a symbolic link"):
        outputs.read_file(folder)
    (folder / "output").unlink()
    os.mkfifo(folder / "output")
    with pytest.raises(outputs.OutputError, match=r"^\$PIPEX_OUTPUT is not a regular file"):
        outputs.read_file(folder)  # a FIFO with no writer would block a plain open: it must not
    (folder / "output").unlink()
    (folder / "output").write_bytes(b"a=" + b"x" * outputs.MAX_BYTES)
    with pytest.raises(outputs.OutputError) as caught:
        outputs.read_file(folder)
    assert str(caught.value) == "the step wrote more than 1 MiB to $PIPEX_OUTPUT; keep large results in /output"
    (folder / "output").write_bytes(b"a=" + b"x" * (outputs.MAX_BYTES - 3) + b"\n")
    assert len(outputs.read_file(folder)) == outputs.MAX_BYTES


# -- through the engine ---------------------------------------------------------------------------------------
PIPELINE = """
id: outs
steps:
  - id: list
    image: alpine:3.20
    cmd: [list]
    outputs: [files, count]
  - {id: use, image: alpine:3.20, cmd: [use], inputs: [{step: list}]}
"""


def test_outputs_are_stored_in_meta_events_and_the_result_and_kept_when_cached(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    written = {"files": ["a.csv", "b.csv"], "count": 2}
    r = run(path, mocks=[mock("list", outputs=written)], workdir=tmp_path / "wd")
    assert r.status == "success"
    assert meta(r, "list")["outputs"] == written
    assert meta(r, "use")["outputs"] == {}
    (end,) = of(r, StepEnd, "list")
    assert end.outputs == written and end.to_json()["outputs"] == written
    assert "outputs" not in of(r, StepEnd, "use")[0].to_json()
    assert r.outputs("list") == written
    assert state(tmp_path / "wd", "outs")["steps"]["list"]["lastSuccess"]["hasOutputs"] is True
    (spec,) = creates(r.runtime, "list")
    assert spec.env["PIPEX_OUTPUT"] == "/pipex/output"
    (bind,) = [b for b in spec.binds if b.target == "/pipex"]
    assert not bind.read_only and bind.source.name == "step-output"

    again = run(path, workdir=tmp_path / "wd")
    assert again.cached("list") and again.outputs("list") == written
    (cached,) = of(again, StepCached, "list")
    assert cached.outputs == written


def test_a_declared_output_not_written_fails_the_step_with_reason_outputs(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    r = run(path, mocks=[mock("list", outputs={"files": []})], workdir=tmp_path / "wd")
    assert r.status == "failed" and r.failed("list") and r.skipped("use", "dependency")
    outcome = r.outcome("list")
    assert outcome.reason == "outputs"
    assert outcome.message == 'declared output count not written (write "count=…" to $PIPEX_OUTPUT)'
    assert r.result.failure_kind == "step"


def test_an_undeclared_output_is_kept_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "p", PIPELINE)
    r = run(path, mocks=[mock("list", outputs="files=[]\ncount=0\nextra=1\n")], workdir=tmp_path / "wd")
    assert r.status == "success" and r.outputs("list") == {"files": [], "count": 0, "extra": 1}
    assert [w.message for w in of(r, StepWarning, "list")] == ["output extra is not declared in outputs (kept)"]


def test_a_step_without_declared_outputs_may_write_any(tmp_path: Path) -> None:
    path = write(tmp_path / "p", "id: o\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [a]}\n")
    r = run(path, mocks=[mock("a", outputs={"x": "1"})], workdir=tmp_path / "wd")
    assert r.outputs("a") == {"x": 1} and of(r, StepWarning) == []


def test_a_hostile_output_file_fails_the_step_and_reads_nothing_outside(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("password=hunter2\n")

    class Plants(FakeRuntime):
        def start(self, container: str) -> None:
            box = self.containers[container]
            bind = next(b for b in box.spec.binds if b.target == "/pipex")
            (bind.source / "output").symlink_to(secret)
            super().start(container)

    path = write(tmp_path / "p", "id: o\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [a]}\n")
    r = run(path, runtime=Plants(), workdir=tmp_path / "wd")
    assert r.failed("a") and r.outcome("a").reason == "outputs"
    assert r.outcome("a").message == "$PIPEX_OUTPUT is a symbolic link; write the outputs to the file itself"
    assert "hunter2" not in (r.run_dir("a") / "meta.json").read_text()


def test_too_much_output_fails_the_step(tmp_path: Path) -> None:
    path = write(tmp_path / "p", "id: o\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [a]}\n")
    rt = FakeRuntime()
    rt.script(step="a", behaviour=Behaviour(outputs=b"a=" + b"x" * (2 * outputs.MAX_BYTES)))
    r = run(path, runtime=rt, workdir=tmp_path / "wd")
    assert r.failed("a")
    assert r.outcome("a").message == "the step wrote more than 1 MiB to $PIPEX_OUTPUT; keep large results in /output"


def test_outputs_are_not_artifacts(tmp_path: Path) -> None:
    path = write(tmp_path / "p", "id: o\nsteps:\n  - {id: a, image: alpine:3.20, cmd: [a]}\n")
    one = run(path, mocks=[mock("a", outputs={"x": 1})], workdir=tmp_path / "wd")
    two = run(path, mocks=[mock("a", outputs={"x": 2})], workdir=tmp_path / "wd2")
    assert one.artifacts("a") == {} and meta(one, "a")["artifactsDigest"] == meta(two, "a")["artifactsDigest"]
