"""Kits: turn a step's ``uses`` + ``with`` into an image, a command and the rest of a container.

Writing a kit: see ``pipex.kits.base`` (the protocol) and ``pipex.kits.custom`` (where pipex finds kits);
declarative kits: ``pipex.kits.template``. Resolving the steps of a pipeline: ``pipex.kits.resolve``.
"""

from __future__ import annotations

from pipex.kits.base import CacheSpec, Kit, KitContext, KitParamError, PathPair, SetupSpec, StepTemplate

__all__ = ["CacheSpec", "Kit", "KitContext", "KitParamError", "PathPair", "SetupSpec", "StepTemplate"]
