"""Data preparation: the corpora that the service and the benchmarks read.

* :mod:`bench.corpora.make_bundled_corpus`: the sample corpus shipped under
  ``index_data/corpus/`` (3,000 OrangeSum articles as plain-text files);
* :mod:`bench.corpora.make_growth_corpus`: a news corpus of any size, recombined from
  the 20,000 OrangeSum articles' sentences, for :mod:`bench.bench_growth`.

Run them as modules from the repo root::

    .venv/bin/python -m bench.corpora.make_bundled_corpus
    .venv/bin/python -m bench.corpora.make_growth_corpus --docs 100000 --out /tmp/g100k.jsonl
"""
