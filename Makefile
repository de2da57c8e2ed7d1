# Two commands for a fresh machine: `make run` (the main job, offline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ITERATIONS ?= 30
SEED ?= 0

.PHONY: run test bench clean

$(BIN)/adrs: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/adrs
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/adrs
	$(BIN)/adrs run txn_scheduling --iterations $(ITERATIONS) --seed $(SEED) --parallel 2

# Lint, the whole test suite, then the wheel as a new user installs it (with the import contracts).
test: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -q
	PYTHON=$(PYTHON) .ci/check-wheel

bench: $(BIN)/adrs
	$(BIN)/python bench/bench_evaluators.py
	$(BIN)/python bench/bench_jail.py

clean:
	rm -rf $(VENV) runs
