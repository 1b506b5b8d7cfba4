"""Test isolation for the whole suite: nothing a test does reads or writes the real user's files or engines.

The autouse fixture ``hermetic_env`` points HOME, the XDG dirs and PIPEX_WORKDIR at a fresh temp dir per
test, drops every variable that would select a real engine (CONTAINER_HOST, DOCKER_HOST…) or change pipex's
behaviour (PIPEX_*), and fixes NO_COLOR=1 and COLUMNS=120 so output is stable. Tests that need an engine
get a private one from the fixtures of tests/engines/conftest.py and set the variables it gives them
(``Engine.env()``); this module stops those engines at the end of the session and marks the tests using them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.env.registry import REGISTRY

ENGINE_FIXTURES = ("rootless_podman", "rootful_podman", "docker_engine")

# Variables that would make a test talk to a real engine, or read the developer's settings.
DROPPED = (
    "CONTAINER_HOST",
    "CONTAINER_CONNECTION",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
)


# The fuzz suite (tests/fuzz) has a fixed budget in CI: the same examples on every run (derandomize), few
# enough that the whole suite stays under a minute on 2 cores. Locally a few more, random each time, and
# HYPOTHESIS_PROFILE=deep for a long search. The hermetic env is per test, not per example: examples only
# write in their own temporary directories, so the function-scoped fixture health check does not apply.
# hypothesis is in the `test` extra; a distribution's package build may run the unit tests without it.
try:
    from hypothesis import HealthCheck, settings
except ModuleNotFoundError:  # pragma: no cover - only in distribution builds
    collect_ignore = ["fuzz"]
else:
    _FUZZ = {"suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow], "print_blob": True}
    settings.register_profile("ci", max_examples=150, derandomize=True, database=None, deadline=5000, **_FUZZ)
    settings.register_profile("dev", max_examples=100, deadline=5000, **_FUZZ)
    settings.register_profile("deep", max_examples=1000, deadline=None, **_FUZZ)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))


@dataclass(frozen=True)
class HermeticEnv:
    """The temp dirs a test's environment points at."""

    root: Path
    home: Path
    config: Path  # XDG_CONFIG_HOME
    data: Path  # XDG_DATA_HOME
    cache: Path  # XDG_CACHE_HOME
    state: Path  # XDG_STATE_HOME
    runtime: Path  # XDG_RUNTIME_DIR (0700, empty: no engine socket is found there)
    workdir: Path  # PIPEX_WORKDIR


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> HermeticEnv:
    root = tmp_path_factory.mktemp("env")
    home = root / "home"
    env = HermeticEnv(
        root=root,
        home=home,
        config=home / ".config",
        data=home / ".local" / "share",
        cache=home / ".cache",
        state=home / ".local" / "state",
        runtime=root / "run",
        workdir=root / "workspaces",
    )
    for path in (env.config, env.data, env.cache, env.state):
        path.mkdir(parents=True)
    env.runtime.mkdir(mode=0o700)
    for name in [*DROPPED, *(key for key in os.environ if key.startswith("PIPEX_"))]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(env.config))
    monkeypatch.setenv("XDG_DATA_HOME", str(env.data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(env.cache))
    monkeypatch.setenv("XDG_STATE_HOME", str(env.state))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(env.runtime))
    monkeypatch.setenv("DOCKER_CONFIG", str(home / ".docker"))
    monkeypatch.setenv("PIPEX_WORKDIR", str(env.workdir))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("LINES", "40")
    monkeypatch.setenv("TERM", "dumb")
    return env


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM (`timeout`, a CI runner cancelling) would kill the session without any teardown, leaving the
    # private engines running and mounted: treat it as ^C, so fixtures are finalized.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def _stop_engines_at_session_end() -> Iterator[None]:
    # Autouse at the root: set up before any engine fixture, so torn down after every test that used one.
    yield
    REGISTRY.stop_all()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests using an engine fixture get the ``engine`` marker and the engine's own (``-m "not engine"``)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        used = [name for name in ENGINE_FIXTURES if name in names]
        if used or "any_engine" in names:
            item.add_marker(pytest.mark.engine)
        for name in used:
            item.add_marker(getattr(pytest.mark, name))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REGISTRY.timings:
        timings = ", ".join(f"{name} {up:.2f}s + images {load:.2f}s" for name, up, load in REGISTRY.timings)
        terminalreporter.write_line(f"engine startup: {timings}")
