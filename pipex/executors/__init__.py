"""Executors: where a step's container runs. ``base.Executor`` is the seam the scheduler and the step runner hold
(they never ask which one they have); ``local.LocalExecutor`` runs containers on this host through a ``Runtime``."""
