"""Detached runs: a background pipex process that owns the workspace lock and logs every event (``spawn``,
``child``), and the readers that follow or stop it (``follow``, ``cancel``); ``eventlog`` is the file format."""
