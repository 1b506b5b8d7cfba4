"""Step outputs and the conditions that read them: the load-time rules across steps.

An ``if`` may read ``steps.<id>.outputs.<key>`` and ``steps.<id>.status``; the step it names must be one of the
reader's ``inputs`` (else the reader could be decided before that step has run), an unknown id gets a
did-you-mean, and a key an upstream step does not declare (when it declares its ``outputs``) is an error too.

Spec: dynamic.md, "Step outputs" and "Conditions on upstream results".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from pipex.errors import Problem
from pipex.model.schema import quote
from pipex.model.step import Step
from pipex.model.suggest import did_you_mean

# The name of an output, in a declaration and in the file a step writes.
OUTPUT_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

if TYPE_CHECKING:  # the condition language is imported only for steps with `if` (start-up)
    from pipex.model.handwritten.condition_refs import StepReference


@functools.lru_cache(maxsize=1024)  # steps generated from a template share their conditions
def condition_reads(text: str) -> tuple[tuple[StepReference, ...], tuple[str, ...]]:
    """(the upstream results the condition ``text`` reads, the problems with how it reads them); a condition
    that does not parse reads nothing (its syntax error is reported on its own)."""
    # start-up: the condition language only for steps with `if`
    from pipex.model.handwritten.condition import ConditionSyntaxError, parse
    from pipex.model.handwritten.condition_refs import step_references

    try:
        expr = parse(text)
    except ConditionSyntaxError:
        return (), ()
    refs, problems = step_references(expr)
    return tuple(refs), tuple(problems)


def declared_problems(step: Step, base: str) -> list[Problem]:
    """Problems of the step's own ``outputs`` list."""
    if step.outputs is None:
        return []
    problems: list[Problem] = []
    seen: set[str] = set()
    for n, name in enumerate(step.outputs):
        where = f"{base}.outputs[{n}]"
        if not OUTPUT_KEY.match(name):
            hint = 'letters, digits, "_" and "-", not starting with a digit or "-"'
            problems.append(Problem(where, f"{quote(name[:40])} is not a valid output name", hint))
        elif name in seen:
            problems.append(Problem(where, f"output {quote(name)} is declared twice"))
        seen.add(name)
    return problems


def read_problems(
    step: Step,
    base: str,
    declared: Mapping[str, Sequence[str] | None],
    suggest: Callable[[str], str | None],
) -> list[Problem]:
    """Problems of what the step's ``if`` reads of other steps. ``declared``: step id → its declared outputs
    (``None``: not declared); ``suggest``: did-you-mean over the step ids."""
    if step.if_ is None:
        return []
    refs, problems_text = condition_reads(step.if_)
    where = f"{base}.if"
    problems = [Problem(where, text) for text in problems_text]
    inputs = {i.step for i in step.inputs}
    for ref in refs:
        if ref.step not in declared:
            guess = suggest(ref.step)
            message = f"{ref} names an unknown step {quote(ref.step)}"
            if guess:
                problems.append(Problem(where, f'{message}; did you mean "{guess}"?'))
            else:
                problems.append(Problem(where, message))
        elif ref.step not in inputs:
            problems.append(
                Problem(
                    where,
                    f"{ref} reads step {quote(ref.step)}, which is not an input of this step",
                    f'add {{step: {ref.step}}} to "inputs", with optional: true if it may be skipped',
                )
            )
        elif ref.key is not None and (names := declared[ref.step]) is not None and ref.key not in names:
            guess = did_you_mean(ref.key, names)
            message = f"{ref}: step {quote(ref.step)} declares no output {quote(ref.key)}"
            if guess:
                problems.append(Problem(where, f'{message}; did you mean "{guess}"?'))
            else:
                problems.append(Problem(where, message, f"its outputs: {', '.join(names) or 'none'}"))
    return problems
