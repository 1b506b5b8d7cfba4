"""``pipex.testing``: mocks of unknown steps, ``calls``, gates approved from a test, ``arun`` and ``Harness``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipex.model.pipeline import Pipeline
from pipex.testing import Harness, TestResult, arun, mock, run

PIPE = Pipeline.from_dict(
    {
        "id": "h",
        "steps": [
            {"id": "fetch", "image": "alpine:3.20", "cmd": ["true"], "retries": 1, "retryDelayMs": 0},
            {"id": "ship-ok", "approval": {"message": "Ship?"}, "inputs": [{"step": "fetch"}]},
            {"id": "ship", "image": "alpine:3.20", "cmd": ["true"], "inputs": [{"step": "ship-ok"}]},
        ],
    },
    root=Path.cwd(),
)


def test_a_mock_of_an_unknown_step_is_an_error_with_a_suggestion() -> None:
    with pytest.raises(ValueError) as info:
        run(PIPE, mocks=[mock("fetc")])
    assert str(info.value) == 'mock("fetc"): the pipeline has no step "fetc"; did you mean "fetch"?'


def test_calls_counts_every_attempt_and_a_gate_approved_from_the_test(tmp_path: Path) -> None:
    done = run(PIPE, mocks=[mock("fetch", exit_code=1), mock("fetch")], approve=["ship-ok"], workdir=tmp_path)
    assert done.status == "success"
    assert (done.calls("fetch"), done.calls("ship-ok"), done.calls("ship")) == (2, 0, 1)
    assert done.approved("ship-ok")
    with pytest.raises(KeyError):
        done.calls("nope")


def test_a_gate_left_alone_suspends(tmp_path: Path) -> None:
    done = run(PIPE, workdir=tmp_path)
    assert (done.status, done.result.exit_code) == ("suspended", 5)
    assert done.waiting("ship-ok") and done.calls("ship") == 0


def test_arun_in_a_running_loop(tmp_path: Path) -> None:
    async def main() -> str:
        done = await arun(PIPE, approve=["ship-ok"], workdir=tmp_path)
        return done.status

    assert asyncio.run(main()) == "success"


def test_the_harness_keeps_one_workdir_and_removes_it() -> None:
    with Harness(approve=["ship-ok"]) as h:
        first = h.run(PIPE)
        again = h.run(PIPE)
        workdir = h.workdir
        assert first.ran("fetch") and again.cached("fetch") and again.cached("ship")
    assert not workdir.exists()


def test_the_harness_s_arun_uses_its_mocks_defaults_and_workdir() -> None:
    with Harness(mocks=[mock("fetch", exit_code=1)], approve=["ship-ok"]) as h:

        async def main() -> TestResult:
            return await h.arun(PIPE, mocks=[mock("fetch")])  # after the harness's own: the retry succeeds

        first = asyncio.run(main())
        assert (first.status, first.calls("fetch"), first.approved("ship-ok")) == ("success", 2, True)
        assert first.workdir == h.workdir
        again = h.run(PIPE)
        assert again.cached("fetch") and again.cached("ship")


README_PIPELINE = """\
id: rel
steps:
  - id: report
    image: alpine:3.20
    cmd: [sh, -c, "make-report > /output/q3.pdf"]
  - id: publish-ok
    approval: {message: "Publish the quarterly report?"}
    inputs: [{step: report}]
  - id: publish
    inputs: [{step: publish-ok}, {step: report}]
    if: steps.report.outputs.pages > 0
    image: alpine:3.20
    cmd: [sh, -c, "cp /input/report/q3.pdf /output/"]
"""


def test_the_readme_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pipeline.yml").write_text(README_PIPELINE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with Harness(mocks=[mock("report", files={"q3.pdf": b"%PDF"}, outputs={"pages": 12})]) as h:
        held = h.run("pipeline.yml")
        assert held.status == "suspended" and held.result.exit_code == 5
        assert held.waiting("publish-ok") and held.calls("publish") == 0
        assert held.outputs("report") == {"pages": 12}

        done = h.run("pipeline.yml", mocks=[mock("publish-ok", approve=True)])
        assert done.approved("publish-ok") and done.calls("publish") == 1
        assert done.cached("report") and done.result.resumed_from == held.result.run_id
        assert done.result.failure_source is None


ROUTED = Pipeline.from_dict(
    {
        "id": "r",
        "steps": [
            {"id": "check", "image": "alpine:3.20", "cmd": ["true"], "outputs": ["route"]},
            {
                "id": "fast",
                "image": "alpine:3.20",
                "cmd": ["true"],
                "inputs": [{"step": "check"}],
                "if": 'steps.check.outputs.route == "fast"',
            },
            {
                "id": "slow",
                "image": "alpine:3.20",
                "cmd": ["true"],
                "inputs": [{"step": "check"}],
                "if": 'steps.check.outputs.route == "slow"',
            },
            {
                "id": "ship-ok",
                "approval": {"message": "Ship?"},
                "inputs": [{"step": "fast", "optional": True}, {"step": "slow", "optional": True}],
            },
            {"id": "ship", "image": "alpine:3.20", "cmd": ["true"], "inputs": [{"step": "ship-ok"}]},
        ],
    },
    root=Path.cwd(),
)


def test_mocks_set_outputs_that_route_and_approve_a_gate_in_one_run() -> None:
    with Harness() as h:
        done = h.run(ROUTED, mocks=[mock("check", outputs={"route": "slow"}), mock("ship-ok", approve=True)])
        assert done.status == "success"
        assert done.outputs("check") == {"route": "slow"}
        assert done.skipped("fast", "condition") and done.ran("slow")
        assert done.approved("ship-ok") and done.calls("ship") == 1

        # another output (check re-run: a mock is not part of the fingerprint) takes the other branch; without
        # the approving mock the gate waits again (its inputs changed, and an approval is bound to them)
        held = h.run(ROUTED, mocks=[mock("check", outputs={"route": "fast"})], force=["check"])
        assert held.ran("fast") and held.skipped("slow", "condition")
        assert held.status == "suspended" and held.waiting("ship-ok") and held.calls("ship") == 0


def test_a_gate_is_approved_by_a_mock_not_scripted() -> None:
    with pytest.raises(ValueError) as info:
        run(ROUTED, mocks=[mock("ship-ok")])
    assert str(info.value) == (
        'mock("ship-ok"): "ship-ok" is an approval gate, which runs no container; '
        'approve it with mock("ship-ok", approve=True)'
    )
    with pytest.raises(ValueError) as info:
        run(ROUTED, mocks=[mock("check", approve=True)])
    assert str(info.value) == 'mock("check", approve=True): "check" is not an approval gate'
    with pytest.raises(ValueError) as info:
        mock("ship-ok", exit_code=1, stdout=["x"], approve=True)
    assert str(info.value) == (
        'mock("ship-ok", approve=True): an approval gate runs no container, so not exit_code, stdout'
    )
