"""What ``validate`` can know before anything runs: sizes, lengths and depths are one-line problems (issue 11)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from pipex.errors import ConfigError, PipelineError
from pipex.model import Pipeline, find_project_config, load
from pipex.model.bounds import MAX_FILE_BYTES, short_number, structure_problems


def problems_of(tmp_path: Path, name: str, text: str) -> list[str]:
    (tmp_path / name).write_text(text)
    with pytest.raises(PipelineError) as info:
        load(tmp_path / name, cwd=tmp_path)
    return [str(problem) for problem in info.value.problems] or [info.value.message]


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "pipeline.json"
    with big.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(PipelineError) as info:
        load(big, cwd=tmp_path)
    assert info.value.message == f"{big} is too large: 67,108,865 bytes, at most 67,108,864"


def test_an_argument_longer_than_linux_passes_is_refused(tmp_path: Path) -> None:
    data = {"id": "p", "steps": [{"id": "a", "image": "alpine", "cmd": ["sh", "-c", "x" * 200_000]}]}
    assert problems_of(tmp_path, "p.json", json.dumps(data)) == [
        "steps[0].cmd[2]: is too long: 200,000 bytes, at most 131,071 (the longest argument Linux passes)"
    ]


def test_from_dict_gets_the_same_checks_and_never_a_recursion_error(tmp_path: Path) -> None:
    deep: object = "leaf"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(PipelineError) as info:
        step = {"id": "a", "uses": "shell", "with": {"run": "x", "deep": deep}}
        Pipeline.from_dict({"id": "p", "steps": [step]}, root=tmp_path)
    assert [p.message for p in info.value.problems] == ["nested more than 64 levels deep"]


def test_the_structure_walk_reports_locations_in_file_order() -> None:
    data = {"steps": [{"cmd": ["a\x00"]}, {"env": {"X": "\x00"}}]}
    assert [str(p) for p in structure_problems(data)] == [
        "steps[0].cmd[0]: contains a NUL byte, which no file name, argument or variable can hold",
        "steps[1].env.X: contains a NUL byte, which no file name, argument or variable can hold",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(12, "12"), (1e12, "1000000000000"), (1e300, "1e+300"), (0.5, "0.5"), (10**40, "100000… (41 digits)")],
)
def test_numbers_in_messages_stay_short(value: float, shown: str) -> None:
    assert short_number(value) == shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workdir: " + "[" * 100 + "]" * 100 + "\n", "line 1, column 74: nested too deeply (at most 64 levels)"),
        ('workdir: "a\\0b"\n', "workdir: contains a NUL byte, which no file name, argument or variable can hold"),
        ("detach: " + "1" * 5000 + "\n", "line 1, column 9: number too long (more than 4,300 digits)"),
    ],
)
def test_pipex_yml_limits_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / ".pipex.yml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        find_project_config(tmp_path)
    assert info.value.message == f"invalid {config}: {message}"


def test_the_int_limit_of_this_python_is_what_the_message_says() -> None:
    assert sys.get_int_max_str_digits() in (0, 4300)


def test_pipelines_built_in_python_get_the_string_checks(tmp_path: Path) -> None:
    from pipex.model.step import Step

    step = Step(id="a", image="alpine", cmd=["echo", "a\x00b"], timeout_sec=1e12)
    pipeline = Pipeline.create(id="p", name=None, steps=[step], root=tmp_path)
    assert [str(problem) for problem in pipeline.validate()] == [
        "steps[0].cmd[1]: contains a NUL byte, which no file name, argument or variable can hold",
        "steps[0].timeoutSec: must be at most 31,536,000 (365 days), got 1000000000000",
    ]


def test_20000_steps_naming_unknown_inputs_validate_in_seconds(tmp_path: Path) -> None:
    # Issue 11: 3,000 took 22 s and 20,000 never finished (every unknown name compared with every step id).
    steps = [{"id": f"s{i}", "image": "a", "cmd": ["x"], "inputs": [{"step": f"s{i}x"}]} for i in range(20_000)]
    (tmp_path / "p.json").write_text(json.dumps({"id": "p", "steps": steps}))
    started = time.perf_counter()
    with pytest.raises(PipelineError) as info:
        load(tmp_path / "p.json", cwd=tmp_path)
    assert time.perf_counter() - started < 15  # ~1.5 s on an idle 2-CPU VM
    assert len(info.value.problems) == 20_000
    assert str(info.value.problems[0]) == 'steps[0].inputs[0].step: unknown step "s0x"; did you mean "s0"?'


def test_flow_nesting_is_refused_before_any_parser_sees_it() -> None:
    # parsers disagree past 64 levels (libyaml's own limit, recursion, none at all on Python 3.13's json)
    from pipex.model.bounds import flow_too_deep

    assert flow_too_deep("a: [[1], {b: [2]}]\n" * 50) is None  # many brackets, shallow
    assert flow_too_deep("x: " + "[" * 64 + "]" * 64) is None
    assert flow_too_deep("id: p\nsteps: " + "[" * 65) == (2, 8 + 64)
    assert flow_too_deep("]]]]" + "{" * 65) == (1, 5 + 64)  # stray closers never go below zero
