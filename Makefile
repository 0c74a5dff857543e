# Set-up and everyday commands. Each target installs what it needs first,
# into .venv, from this project's own files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve test bench bench-growth fault-runs lint screenshots

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

## Run the speed benchmark (bench/bench_speed.py: one table beside stock Whoosh, SQLite FTS5
## and tantivy) and the relevance benchmark (bench/bench_relevance.py); they read
## ../shared/data (about 1.5 hours on 2 cores).
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.bench_speed
	$(BIN)/python -m bench.bench_relevance

## Build time, memory, index size and latency at 20k, 100k, 300k and 1M documents
## (bench/bench_growth.py), plotted to bench/results/growth.png (about 2 hours on 2 cores,
## ~10 GB of disk).
bench-growth: $(VENV)/.installed-bench
	$(BIN)/python -m bench.bench_growth

## Fault and load runs, a correctness check (bench/checks/fault_runs.py): kill -9 of the
## reindex at 20 random moments, a full disk (a tmpfs: needs root, else skipped and said
## so), damaged generations, two reindexes at once, queries under load during three
## reindexes, kill -9 of the service after pushes. Reads ../shared/data (else the bundled
## corpus); about 5 minutes on 2 cores.
## Exits non-zero if any run fails its criterion.
fault-runs: $(VENV)/.installed
	$(BIN)/python -m bench.checks.fault_runs

## Screenshots of the search page (desktop and phone widths) into docs/screenshots/, in
## headless Chromium (needs Debian's chromium and chromium-driver); builds the bundled
## corpus's index first if there is none, as `make serve` does.
screenshots: $(VENV)/.installed-test
	$(BIN)/python docs/make_screenshots.py

## Lint.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
