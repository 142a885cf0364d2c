# Switchboard: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
# Python 3.13 (the Lambda runtime) when present (pyenv included), else any python3 >= 3.11.
PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 python3.12 python3.11 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo $$p; break; fi; done)
PORT ?= 3000
EMULATOR_PORT ?= 4566
export SAM_CLI_TELEMETRY := 0
# sam build looks for python3.13 on PATH: the venv's interpreter is that one.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: soak install run test test-quick test-unit test-integration test-e2e lint validate build bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.txt constraints.txt layers/common/requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

run: install
	$(BIN)/switchboard local --demo --port $(PORT) --emulator-port $(EMULATOR_PORT)

# Two test processes (pytest-xdist); every end-to-end test goes to one of them, so one local runtime
# runs at a time, as without -n (tests/conftest.py). `make test JOBS=0` runs in this process alone.
# The slow tests run afterwards on their own: the fault-injection run keeps its own worker threads
# busy and has a time budget (exit status 5 is pytest's "no test selected").
JOBS ?= 2
PYTEST := $(BIN)/python -m pytest -q $(if $(filter 0,$(JOBS)),,-n $(JOBS) --dist loadgroup)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(PYTEST) -m "not slow and not soak"
	$(BIN)/python -m pytest -q -m "slow and not soak" || [ $$? -eq 5 ]

# The same without the tests marked slow (over ~30 s each: the fault-injection run).
test-quick: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(PYTEST) -m "not slow and not soak"

# The 5,000-event soak of `switchboard local` (tests/e2e/test_soak_e2e.py): minutes to an hour.
soak: install
	$(BIN)/python -m pytest -q -s -m soak tests/e2e/test_soak_e2e.py

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-integration: install
	$(BIN)/python -m pytest -q tests/integration

test-e2e: install
	$(BIN)/python -m pytest -q tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

validate: install
	$(BIN)/sam validate --lint

build: install
	$(BIN)/sam build

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache
