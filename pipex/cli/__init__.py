"""The ``pipex`` command line: a thin typer layer over the core.

``main.py`` is the entry point, ``app.py`` the typer application, ``options.py`` the global options,
``errors.py`` the one place turning exceptions into ``error:``/``hint:`` lines and exit codes, and
``commands/`` one module per command. Nothing here is imported by the core.
"""
