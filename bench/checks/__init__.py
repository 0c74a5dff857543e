"""Correctness runs: they pass or fail, and time things only to check a bound.

* :mod:`bench.checks.fault_runs`: the reindex killed (kill -9 of the whole run and of
  one writer process), a full disk, damaged generations, two reindexes at once, and
  queries under load while reindexes run, against a real gunicorn;
* :mod:`bench.checks.hostile_queries`: hostile queries (huge, nested, wildcard floods,
  invalid bytes…) answered with results or a 400, within a bound of the normal ones.

Both exit non-zero when a criterion fails. Run them as modules from the repo root::

    .venv/bin/python -m bench.checks.fault_runs
    .venv/bin/python -m bench.checks.hostile_queries
"""
