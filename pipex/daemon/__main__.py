"""``python -m pipex.daemon``: the background process of a detached run (``child.main``)."""

import sys

from pipex.daemon.child import main

sys.exit(main())
