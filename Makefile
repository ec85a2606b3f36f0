# `make run` and `make test` from a fresh checkout; all they need is Python 3.11+ and PyPI.
#
#   make install   .venv with the package (editable) and the dev tools at the versions in constraints.txt;
#                  redone when pyproject.toml or constraints.txt changes
#   make lock      refresh constraints.txt: the newest versions pyproject.toml allows, from a clean venv
#   make run       install, migrate, demo data, then web + worker (PORT=5000 HOST=127.0.0.1 by default)
#   make test      install, lint, type check, the whole test suite (PYTEST_ARGS="-x -k lifecycle" to narrow it)
#                  on TEST_WORKERS=2 pytest-xdist workers (TEST_WORKERS=0, or PYTEST_ARGS="-n 0 ...": one process)
#   make test-fast the same without browser, real-process fault and property-based tests (-m "not browser and not slow")
#   make lint      ruff
#   make typecheck mypy over hotline/ and referrals/ (level and baseline in pyproject.toml)
#   make seams     the seam figures: function-level imports, largest files, long functions
#   make clean     remove .venv and caches (instance/, the local database, stays)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
CONSTRAINTS := constraints.txt
LOCK_VENV := .venv-lock
FAST_MARKERS := not browser and not slow
# pytest-xdist workers: the machine's two cores. Each has its own database, Redis database and
# instance folder (tests/workers.py); tests that start real processes share one worker (loadgroup).
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadgroup
# With PYTHONDONTWRITEBYTECODE set (as on this project's machines) every worker, and every
# `hotline` process a test starts, compiled the package and pytest re-rewrote ~290 modules'
# asserts: a few seconds of CPU each time. The caches go to __pycache__/ (ignored by git).
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest $(XDIST)

# python3.11 if it is on PATH, else python3 if that is 3.11 or newer.
PYTHON ?= $(shell for candidate in python3.11 python3; do \
	  if command -v $$candidate >/dev/null 2>&1 && \
	     $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	    command -v $$candidate; break; fi; done)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install lock run test test-fast lint typecheck seams clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@if [ -z "$(PYTHON)" ]; then \
	  echo "make: need Python 3.11 or newer as python3.11 or python3 on PATH (or PYTHON=/path/to/python)" >&2; \
	  exit 1; fi
	@if ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	  echo "creating $(VENV) with $(PYTHON)"; rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@

# A clean venv, the package with its dev extra at the newest versions pyproject.toml allows,
# then `pip freeze` (the package itself left out): every later install takes exactly those.
lock:
	@if [ -z "$(PYTHON)" ]; then echo "make: need Python 3.11 or newer (PYTHON=/path/to/python)" >&2; exit 1; fi
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -e '.[dev]'
	{ echo "# Exact versions for make install and CI. Refresh with make lock (do not edit by hand)."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

run: install
	$(BIN)/hotline db upgrade
	$(BIN)/hotline seed --demo
	exec $(BIN)/hotline run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(PYTEST) $(PYTEST_ARGS)

test-fast: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(PYTEST) -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

seams:
	$(or $(wildcard $(BIN)/python),$(PYTHON)) -m bench.seams

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis build dist *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
