from __future__ import annotations

import pytest

from pipex.errors import PipelineError
from pipex.model import Pipeline
from pipex.model.dag import find_cycles, topological_order


def test_order_and_cycles_on_plain_maps() -> None:
    ids = ["a", "b", "c", "d", "e"]
    deps = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["e"], "e": ["d"]}
    assert find_cycles(ids, deps) == [["a", "b", "c", "a"], ["d", "e", "d"]]
    assert topological_order(ids, deps) == []
    assert topological_order(["x", "y", "z"], {"x": ["z", "z"]}) == ["y", "z", "x"]
    assert find_cycles(["x", "y"], {"y": ["x"]}) == []


def test_the_shortest_cycle_through_the_first_step_is_reported() -> None:
    ids = ["a", "b", "c", "d"]
    deps = {"a": ["d", "b"], "b": ["a"], "c": ["b"], "d": ["c"]}  # a→b→a and a→b→c→d→a
    assert find_cycles(ids, deps) == [["a", "b", "a"]]


def test_long_chains_need_no_recursion() -> None:
    count = 50_000
    ids = [f"s{i}" for i in range(count)]
    deps = {f"s{i}": [f"s{i - 1}"] for i in range(1, count)}
    assert topological_order(ids, deps) == ids
    deps["s0"] = [f"s{count - 1}"]
    cycle = find_cycles(ids, deps)[0]
    assert (len(cycle), cycle[0], cycle[-1]) == (count + 1, "s0", "s0")


def test_a_pipeline_with_a_cycle_refuses_an_order() -> None:
    # model_validate checks types only, so it can hold a cycle; from_dict/load would have refused it.
    steps = [
        {"id": "a", "image": "x", "cmd": ["y"], "inputs": [{"step": "b"}]},
        {"id": "b", "image": "x", "cmd": ["y"], "inputs": [{"step": "a"}]},
    ]
    pipeline = Pipeline.model_validate({"id": "p", "steps": steps})
    with pytest.raises(PipelineError) as info:
        pipeline.topological_order()
    assert [str(p) for p in info.value.problems] == ["steps: dependency cycle: a → b → a (remove one of these inputs)"]
