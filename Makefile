# LabBook. Every target is idempotent; a warm run skips what is already done.
#
#   make run     install what is missing, start the services, migrate, load the demo, serve
#   make test    the same set-up (plus Chromium and docker-compose), lint, then the whole test suite
#   make lint    ruff check and ruff format --check (settings and reasons in pyproject.toml)
#   make bench   the benchmarks (bench/run.py)
#   make soak    the populate soak: 4 workers, 10,000 keys, 20 SIGKILLs (scripts/soak.py)
#
# One venv (.venv) with requirements-dev.txt serves both run and test; pip runs only when
# requirements*.txt are newer than the stamp file .venv/.requirements.stamp.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
PYTEST_ARGS ?=

export LABBOOK_CELERY_QUEUE ?= labbook

.PHONY: help venv services run test lint bench soak

help:
	@echo "make run    - set up (venv, MariaDB, Redis, migrate, admin, demo) and serve http://127.0.0.1:8000"
	@echo "make test   - set up, lint, and run the whole test suite (PYTEST_ARGS=... passed to pytest)"
	@echo "make lint   - ruff check and ruff format --check (fix with .venv/bin/ruff format .)"
	@echo "make bench  - set up and run bench/run.py"
	@echo "make soak   - set up and run the populate soak (scripts/soak.py, about 5 minutes)"
	@echo "make venv | make services - the individual set-up steps"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	bash scripts/ensure_services.sh packages
	if [ ! -x $(PY) ]; then $(PYTHON) -m venv $(VENV); fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

services: venv
	bash scripts/ensure_services.sh packages mariadb redis

run: venv services
	bash scripts/run.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv lint
	bash scripts/ensure_services.sh packages mariadb redis browser compose
	SECRET_KEY=compose-config-check docker-compose config -q
	$(PY) -m pytest $(PYTEST_ARGS)

bench: venv services
	if [ -f bench/run.py ]; then $(PY) bench/run.py; else echo "bench/run.py not found: no benchmarks yet"; fi

soak: venv services
	$(PY) scripts/soak.py
