"""One module per command, each exposing ``register(app: typer.Typer) -> None`` (see ``pipex.cli.app``).

Every command imports what it needs (the engine, the model, the reporters) inside its own function body, so that
``pipex X`` pays at start-up only for X: the one place where function-level imports are the rule, not the
exception (``tests/unit/test_imports.py``).
"""
