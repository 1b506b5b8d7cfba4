# pipex developer tasks. `make test` is what CI runs (.ci/run): on a fresh Debian/Ubuntu machine it installs
# the system packages, the test user and the venv, then runs lint, types and the whole suite against real,
# private engines (rootless Podman, rootful Podman, dockerd). Root steps use sudo when you are not root.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Stops a hung session with ^C semantics, so the engine fixtures still clean up and pytest shows where it hung.
PYTEST_TIMEOUT := 40m
PYTEST := timeout --signal=INT --kill-after=2m $(PYTEST_TIMEOUT) $(PY) -m pytest --durations=15
# As root pytest must not leave root-owned caches in a user's clone.
ROOT_PYTEST := $(SUDO) env PYTHONDONTWRITEBYTECODE=1 $(if $(SUDO),PATH="$$PATH") $(PYTEST) $(if $(SUDO),-p no:cacheprovider)

.PHONY: help test unit lint typecheck system venv engines-check demo clean distclean package images

help:
	@echo "make demo       install what is missing and run examples/text-processing twice"
	@echo "make test       everything CI runs: system setup (root/sudo), venv, lint, mypy, all tests"
	@echo "make unit       the tests that need no engine (fake runtime), no root needed"
	@echo "make lint       ruff check + mypy + lint-imports (the layers' contracts)"
	@echo "make system     only the root setup: packages, the pipex-test user, its Python"
	@echo "make package    build, lint and install-test the .deb (trixie chroot), then the advisory RPM smoke"
	@echo "make images     build the offline kit images (KITS=\"shell python node\", ENGINE=podman)"
	@echo "make clean      caches and built test images; distclean also removes $(VENV)"

# Every check runs even when an earlier one fails (CI shows all the problems at once); any failure fails.
test: system
	@failed=""; \
	echo "== ruff check"; $(VENV)/bin/ruff check . || failed="$$failed ruff"; \
	echo "== mypy"; $(VENV)/bin/mypy pipex || failed="$$failed mypy"; \
	echo "== lint-imports"; $(VENV)/bin/lint-imports || failed="$$failed lint-imports"; \
	echo "== pytest"; $(ROOT_PYTEST) $(PYTEST_ARGS) || failed="$$failed pytest"; \
	echo "== package"; $(MAKE) --no-print-directory package || failed="$$failed package"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all passed"

unit: venv
	$(PYTEST) -m "not engine" $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy pipex
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV)/bin/mypy pipex

# Packages first (python3-venv is needed for the venv), then the user, which needs the venv to exist.
system:
	$(SUDO) bash tests/env/setup.sh packages
	$(MAKE) --no-print-directory venv
	$(SUDO) bash tests/env/setup.sh user $(CURDIR)/$(VENV)

venv: $(VENV)/.installed

$(PY):
	/usr/bin/python3 -m venv $(VENV)

# Reinstalled only when the project's metadata changes: repeat runs skip pip entirely.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# The .deb: built in a debootstrapped trixie root, lintian-clean, installed and smoke-tested in a clean one
# (roots cached in /var/tmp/pipex-packaging, outside the tree: /proc is mounted in them while they run). Then the RPM spec's smoke build: ADVISORY, its failure is only reported.
package:
	$(SUDO) packaging/ci/build-deb.sh $(CURDIR)/dist
	@$(SUDO) packaging/ci/rpm-smoke.sh $(CURDIR)/dist \
		|| echo "== rpm-smoke FAILED (advisory: it does not fail the build; COPR via .packit.yaml is authoritative)"

# Offline stand-ins for the kits' default images, from Debian packages (runtimes/README.md).
KITS ?= shell python node
ENGINE ?= podman
images:
	@for kit in $(KITS); do $(SUDO) runtimes/$$kit-image.sh "" $(ENGINE) || exit 1; done

# Start the three engines, run the smoke tests, stop them: a quick check of a machine's setup.
engines-check: system
	$(ROOT_PYTEST) tests/engines/test_smoke.py

# Set up what is missing, run examples/text-processing twice (the second fully cached), show the artifacts.
demo:
	examples/demo.sh

clean:
	rm -rf .test-env .pytest_cache .mypy_cache .ruff_cache build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
