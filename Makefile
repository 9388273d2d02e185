# Korttid: every target sets up what it needs and can be run again.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY_SOURCES := bot dialogs notifications storage bench
DEMO_DIR := var/demo

.PHONY: help install lint typecheck test test-fast demo bench clean

help:
	@echo "make demo   run Korttid with demo data and the Teams client emulator (Agents Playground)"
	@echo "make test   lint, type-check and run the whole test suite (SQLite and PostgreSQL)"
	@echo "make bench  run the benchmark and write docs/performance.md"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check $(PY_SOURCES) tests
	$(BIN)/ruff format --check $(PY_SOURCES) tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) node_modules/.installed lint typecheck
	@chromium=$$(scripts/ensure-chromium.sh) || exit 1; \
	url=$$(scripts/test-postgres.sh); \
	if [ -n "$$url" ]; then echo "tests run on SQLite and PostgreSQL"; else echo "tests run on SQLite only"; fi; \
	CHROMIUM="$$chromium" KORTTID_TEST_POSTGRES_URL="$$url" $(BIN)/coverage run -m pytest -q; status=$$?; \
	$(BIN)/coverage report; exit $$status

test-fast: $(STAMP)
	$(BIN)/pytest -q -x

demo: $(STAMP) node_modules/.installed
	@scripts/demo.sh

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules var build .pytest_cache .mypy_cache .ruff_cache .coverage
