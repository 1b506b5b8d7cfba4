"""What a load's check resolved, carried by the loaded ``Pipeline`` to the run that follows it.

A kit step whose ``with`` holds ``${{ … }}`` is resolved once per instance; the kits' check (a layer above the
model) does it when the pipeline loads, to report every instance's problems. The run that follows the load
(``pipex run``; ``pipex.load`` then ``Engine.run``) takes those resolutions from here instead of asking the kit
again for each instance (10,000 instances: one pass, not two). The model only holds them: it never looks inside.
"""

from __future__ import annotations

from typing import Any

from pipex.model.spec import InstanceResolver
from pipex.model.step import Step


class Resolutions:
    """The per-instance resolvers of one pipeline's templated kit steps, by step.

    Each is taken once: a later run of the same pipeline resolves afresh (the kit may look at files that changed
    since the load). One entry per step id at most, so a pipeline checked again and again stays bounded.
    Threads may share a pipeline (a load in one, runs in others): single ``dict`` operations are atomic there,
    and no operation here needs two.
    """

    __slots__ = ("_kept",)

    def __init__(self) -> None:
        # The step object is kept with its resolver: a resolver answers for that very step, not for another
        # step of the same id (a copy with other fields).
        self._kept: dict[str, tuple[Step, InstanceResolver]] = {}

    def keep(self, step: Step, resolver: InstanceResolver) -> None:
        self._kept[step.id] = (step, resolver)

    def take(self, step: Step) -> InstanceResolver | None:
        """The resolver kept for ``step`` (this very object), forgotten as it is given; ``None`` if there is none."""
        kept = self._kept.pop(step.id, None)
        if kept is None or kept[0] is not step:
            return None
        return kept[1]

    def __len__(self) -> int:
        return len(self._kept)

    # A cache, not part of a pipeline's value: pydantic compares private attributes, and two loads of one file
    # are equal pipelines whatever either has kept or given away.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resolutions)

    __hash__ = None  # type: ignore[assignment]  # mutable: never a dictionary key

    # A pickled or deep-copied pipeline resolves afresh: the resolvers hold the kits' loaded code (which does not
    # pickle), and they answer for the original's step objects only.
    def __reduce__(self) -> tuple[type[Resolutions], tuple[()]]:
        return (Resolutions, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> Resolutions:
        return Resolutions()
