"""One module per command, each exposing ``register(app: typer.Typer) -> None`` (see ``pipex.cli.app``)."""
