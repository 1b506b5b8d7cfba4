"""Hypothesis strategies for the fuzz suite: raw text, and pipelines that are almost valid then mutated.

Random bytes mostly stop at the parser; the bugs live behind it, so most examples are pipelines built from
valid steps (raw and kit) with a few fields replaced by hostile values: huge or negative numbers, NaN,
strings with NUL bytes or 255+ byte names, deep nesting, wrong types, unknown keys, dangling inputs.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

STEP_FIELDS = (
    "id",
    "name",
    "image",
    "cmd",
    "uses",
    "with",
    "inputs",
    "env",
    "envFile",
    "outputPath",
    "mounts",
    "sources",
    "caches",
    "setup",
    "if",
    "timeoutSec",
    "retries",
    "retryDelayMs",
    "allowFailure",
    "allowNetwork",
    "resources",
)
TOP_FIELDS = ("id", "name", "steps", "x-extra")
NAMES = st.sampled_from(["a", "b", "build", "test", "s-1", "Étape un", ""])


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


hostile_strings = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x00", "a\x00b", "/", "..", "../../etc", "/input/x", "~", "${HOME}", "env.X ==", "'"]),
    st.integers(min_value=250, max_value=300).map(lambda n: "n" * n),
    st.integers(min_value=0, max_value=3).map(lambda n: "/x" + "/" + "p" * (254 + n)),
)
hostile_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1e12, 1e308, float("inf"), float("-inf"), float("nan"), 10**1200, 2**63, 0.0001]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_strings)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(hostile_strings, NAMES), inner, max_size=4)
    ),
    max_leaves=12,
) | st.integers(min_value=60, max_value=200).map(_nested)


@st.composite
def raw_step(draw: st.DrawFn, index: int) -> dict[str, Any]:
    step: dict[str, Any] = {"id": f"s{index}", "image": "alpine:3.20", "cmd": ["sh", "-c", "echo hi"]}
    if index and draw(st.booleans()):
        step["inputs"] = [{"step": f"s{draw(st.integers(0, index))}", "optional": draw(st.booleans())}]
    if draw(st.booleans()):
        step["env"] = {"A": "1", "B": draw(st.integers(0, 9))}
    if draw(st.booleans()):
        step["timeoutSec"] = draw(st.integers(1, 100))
    if draw(st.booleans()):
        step["if"] = 'env.CI == "true"'
    return step


@st.composite
def kit_step(draw: st.DrawFn, index: int) -> dict[str, Any]:
    params = draw(st.sampled_from([{"run": "echo hi"}, {"run": "make", "packages": ["make"]}, {}]))
    return {"id": f"s{index}", "uses": draw(st.sampled_from(["shell", "python", "node", "nope"])), "with": params}


@st.composite
def mutated_pipeline(draw: st.DrawFn) -> dict[str, Any]:
    """A pipeline of 1-5 plausible steps, then 1-4 mutations: a field set to a hostile value or removed."""
    count = draw(st.integers(1, 5))
    steps: list[Any] = [draw(st.one_of(raw_step(i), kit_step(i))) for i in range(count)]
    data: dict[str, Any] = {"id": "fuzz", "steps": steps}
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(["step", "step", "step", "top"]))
        if target == "top":
            data[draw(st.sampled_from(TOP_FIELDS))] = draw(values)
            continue
        step = steps[draw(st.integers(0, len(steps) - 1))]
        if not isinstance(step, dict):
            continue
        field = draw(st.one_of(st.sampled_from(STEP_FIELDS), hostile_strings))
        if draw(st.integers(0, 4)) == 0:
            step.pop(field, None)
        else:
            step[field] = draw(values)
    return data
