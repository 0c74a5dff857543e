"""Benchmarks, correctness runs and data preparation for searchsvc; none of it is part
of the service.

* ``bench/``: the benchmarks, timing and relevance figures: :mod:`bench.bench_speed`
  (the whole speed table: it runs :mod:`bench.bench_index`, :mod:`bench.bench_query`
  and :mod:`bench.bench_load`), :mod:`bench.bench_growth` (20k to 1M documents),
  :mod:`bench.bench_querylog`, :mod:`bench.bench_relevance` and
  :mod:`bench.tune_relevance`;
* :mod:`bench.checks`: correctness runs that pass or fail (:mod:`bench.checks.fault_runs`,
  :mod:`bench.checks.hostile_queries`);
* :mod:`bench.corpora`: the corpora they read (:mod:`bench.corpora.make_bundled_corpus`,
  :mod:`bench.corpora.make_growth_corpus`);
* :mod:`bench.common`: what the scripts share (paths, progress, the percentile rule,
  versions, the gunicorn harness…);
* ``bench/results/``: figures kept in the repo; ``bench/work/``: git-ignored scratch.

Everything runs as a module from the repo root, with the venv where searchsvc is
installed (``make bench``, ``make bench-growth`` and ``make fault-runs`` do so)::

    .venv/bin/python -m bench.bench_speed --quick
    .venv/bin/python -m bench.checks.fault_runs
    .venv/bin/python -m bench.corpora.make_bundled_corpus

The data sets are read from ``../shared/data`` beside the repo root, whatever the
current directory. ``bench/README.md`` says what each script measures or checks.
"""
