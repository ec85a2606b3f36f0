# `make run` and `make test` from a fresh checkout; all they need is Python 3.11+ and PyPI.
#
#   make install   .venv with the package (editable) and the dev tools; redone when pyproject.toml changes
#   make run       install, migrate, demo data, then web + worker (PORT=5000 HOST=127.0.0.1 by default)
#   make test      install, lint, the whole test suite (PYTEST_ARGS="-x -k lifecycle" to narrow it)
#   make lint      ruff
#   make clean     remove .venv and caches (instance/, the local database, stays)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

# python3.11 if it is on PATH, else python3 if that is 3.11 or newer.
PYTHON ?= $(shell for candidate in python3.11 python3; do \
	  if command -v $$candidate >/dev/null 2>&1 && \
	     $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	    command -v $$candidate; break; fi; done)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install run test lint clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "make: need Python 3.11 or newer as python3.11 or python3 on PATH (or PYTHON=/path/to/python)" >&2; \
	  exit 1; fi
	@if ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	  echo "creating $(VENV) with $(PYTHON)"; rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

run: install
	$(BIN)/hotline db upgrade
	$(BIN)/hotline seed --demo
	exec $(BIN)/hotline run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
