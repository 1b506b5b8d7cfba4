"""``python -m pipex.daemon``: the background process of a detached run (``child.main``, whose return value is
the process's exit code)."""

from pipex.daemon.child import main

if __name__ == "__main__":
    raise SystemExit(main())
