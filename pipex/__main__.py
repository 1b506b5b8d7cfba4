"""``python -m pipex``: the same as the ``pipex`` command."""

from pipex.cli.main import main

if __name__ == "__main__":
    main()
