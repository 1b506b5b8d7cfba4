"""``ReadyQueue`` decides steps in exactly the order one asyncio task per step, woken by events, would."""

from __future__ import annotations

import asyncio
import random

import pytest

from pipex.engine.ready import ReadyQueue
from pipex.model.spec import InputSpec, StepSpec


def _dag(seed: int, count: int) -> list[StepSpec]:
    rng = random.Random(seed)
    specs = []
    for n in range(count):
        # Inputs anywhere in the file (also later steps and unknown ids), in any order, sometimes repeated.
        ups = [f"s{rng.randrange(count + 3)}" for _ in range(rng.randrange(4))]
        inputs = tuple(InputSpec(up) for up in ups if up != f"s{n}")
        specs.append(StepSpec(id=f"s{n}", name=f"s{n}", image="i", cmd=("c",), inputs=inputs))
    return specs


def _acyclic(specs: list[StepSpec]) -> list[StepSpec]:
    """Only inputs to earlier steps: every step gets decided."""
    position = {spec.id: n for n, spec in enumerate(specs)}
    out = []
    for n, spec in enumerate(specs):
        inputs = tuple(i for i in spec.inputs if position.get(i.step, -1) < n)
        out.append(StepSpec(id=spec.id, name=spec.name, image="i", cmd=("c",), inputs=inputs))
    return out


def _with_tasks(specs: list[StepSpec]) -> list[str]:
    """The reference: a task per step, created in file order, awaiting each input's event in turn."""
    order: list[str] = []

    async def main() -> None:
        done = {spec.id: asyncio.Event() for spec in specs}

        async def step(spec: StepSpec) -> None:
            for inp in spec.inputs:
                if inp.step in done:
                    await done[inp.step].wait()
            order.append(spec.id)
            done[spec.id].set()

        await asyncio.gather(*(asyncio.create_task(step(spec)) for spec in specs))

    asyncio.run(main())
    return order


def _with_queue(specs: list[StepSpec]) -> list[str]:
    queue = ReadyQueue(specs)
    order: list[str] = []
    while (spec := queue.pop()) is not None:
        order.append(spec.id)
        queue.settle(spec.id)
    assert queue.complete
    return order


@pytest.mark.parametrize("seed", range(20))
def test_same_order_as_a_task_per_step(seed: int) -> None:
    specs = _acyclic(_dag(seed, 60))
    assert _with_queue(specs) == _with_tasks(specs)


def test_layered_dag_goes_in_file_order() -> None:
    specs = [
        StepSpec(
            id=f"s{n}",
            name=f"s{n}",
            image="i",
            cmd=("c",),
            inputs=(InputSpec(f"s{n - 10}"), InputSpec(f"s{n - 10 + (n + 1) % 10}")) if n >= 10 else (),
        )
        for n in range(50)
    ]
    assert _with_queue(specs) == [f"s{n}" for n in range(50)]


def test_a_step_waits_for_every_input_and_ignores_unselected_ones() -> None:
    b = StepSpec(id="b", name="b", image="i", cmd=("c",), inputs=(InputSpec("a"), InputSpec("elsewhere")))
    a = StepSpec(id="a", name="a", image="i", cmd=("c",))
    queue = ReadyQueue([b, a])
    assert queue.pop() is a
    assert queue.pop() is None and not queue.complete  # b waits for a
    assert queue.settle("a") is True
    assert queue.pop() is b
    queue.settle("b")
    assert queue.complete and not queue.has_ready
