# Set-up and everyday commands. Each target installs what it needs first,
# into .venv, from this project's own files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test bench lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

## Run the service on the bundled corpus (indexes it on first start).
serve: $(VENV)/.installed
	$(BIN)/searchsvc serve

## Run the test suite.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed

## Run the benchmarks (they read ../shared/data; about 35 minutes on 2 cores).
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_index.py
	$(BIN)/python bench/bench_query.py
	$(BIN)/python bench/bench_relevance.py

## Lint.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
