"""Measure the ranking levers on the development halves (PIAF and FQuAD by
default; the news known-item collections with ``--collections
news_keywords_retrieval,news_leads_retrieval``).

Builds (or reuses, in ``bench/work/tune-*``) a searchsvc index of each
collection's documents, then evaluates the DEV queries once per setting of
the query-time levers, each lever changed alone from the defaults, and
prints nDCG@10 per collection, with and without accents in the queries.
Levers:

* ``k1``, ``b``: the BM25 parameters (``searchsvc.weighting.WEIGHTING``);
* ``exact``: the weight of the exact-form bonus (``weighting.FIELD_BOOSTS``);
* ``questions``: leave question words out of the ranking, or not;
* ``all_first``: documents with all the words first, or pure score order;
* ``pairs``: the weight of the bonus for consecutive query words found next
  to each other (``proximity.PAIR_WEIGHT``);
* ``max_words``: the words of a query searched (``bounds.MAX_WORDS``; the
  news leads are 30 words at the median, 45 at p90);
* ``bm25``: ``(k1, b)`` together;
* ``recency``: ``(strength, half-life in days)`` of :mod:`searchsvc.search.recency`
  (off by default);
* ``collapse``: wire copies shown once (the default), or every article
  (``searching._copy_groups`` made to find none);
* ``phrase_words``: a quoted phrase among other words also counts its
  words one by one (``parsing.PHRASE_WORDS``);
* ``dates``: a date typed in the query also matches the articles published
  that day (``dates.PUBLICATION_DATES``);
* ``rarest_words``: a query past ``max_words`` keeps its rarest words, or
  its first ones (``bounds.RAREST_WORDS``);
* ``bonus_depth``: how many of the best matches the pair bonus (and
  recency) may reorder (``ranking.BONUS_DEPTH``);
* ``meaning``: the weight of the closeness of query and article vectors
  (``closeness.WEIGHT``; 0: lexical ranking only);
* ``named_days``: ``(weekday, month)``, the shares of the best score gained
  by an article published on a weekday, or in a month, the query names
  (``dates.WEEKDAY_WEIGHT``, ``dates.MONTH_WEIGHT``);
* ``contrast``: how much more a clause counts among the best candidates
  when few of them hold it (``contrast.WEIGHT``; 0: off);
* ``title_meaning``: the weight of the closeness of query and title vectors
  (``closeness.TITLE_WEIGHT``; 0: off);
* ``year_decay``: for a date typed without a year, the share of the credit
  kept per year before the most recent such day (``dates.YEAR_DECAY``).

Index-time levers (the title's weight, the stemmer) need a rebuild:
``--title-weight`` changes ``schema.TITLE_WEIGHT`` before building.

Run from the repo root::

    .venv/bin/python -m bench.tune_relevance                 # all levers, both collections
    .venv/bin/python -m bench.tune_relevance --only defaults # just the current defaults
    .venv/bin/python -m bench.tune_relevance --limit 1000    # first 1000 queries: quicker
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import shutil
import time

from bench.bench_relevance import SHARED_DOCS
from bench.common import DATA, WORK, log
from searchsvc.index.reindex import reindex
from searchsvc.ops.evaluation import evaluate, load_qrels, load_queries, strip_accents_from
from searchsvc.search import (
    bounds,
    closeness,
    contrast,
    dates,
    parsing,
    proximity,
    ranking,
    searching,
    weighting,
)
from searchsvc.search.live import LiveIndex
from searchsvc.search.recency import Recency
from searchsvc.text import schema


@contextlib.contextmanager
def lever(name: str, value):
    """Set one query-time lever for the duration of a measurement."""
    saved = (weighting.WEIGHTING.k1, weighting.WEIGHTING.b, dict(weighting.FIELD_BOOSTS),
             bounds._QUESTION_TERMS, ranking.ALL_WORDS_FIRST, proximity.PAIR_WEIGHT, bounds.MAX_WORDS,
             parsing.PHRASE_WORDS, searching._copy_groups, dates.PUBLICATION_DATES, dates.YEAR_DECAY,
             bounds.RAREST_WORDS, ranking.BONUS_DEPTH, closeness.WEIGHT,
             (dates.WEEKDAY_WEIGHT, dates.MONTH_WEIGHT), contrast.WEIGHT, closeness.TITLE_WEIGHT)  # fmt: skip
    try:
        if name == "k1":
            weighting.WEIGHTING.k1 = value
        elif name == "b":
            weighting.WEIGHTING.b = value
        elif name == "exact":
            weighting.FIELD_BOOSTS["exact"] = value
            if value == 0:
                del weighting.FIELD_BOOSTS["exact"]
        elif name == "questions":
            bounds._QUESTION_TERMS = saved[3] if value else frozenset()
        elif name == "all_first":
            ranking.ALL_WORDS_FIRST = value
        elif name == "pairs":
            proximity.PAIR_WEIGHT = value
        elif name == "max_words":
            bounds.MAX_WORDS = value
        elif name == "bm25":
            weighting.WEIGHTING.k1, weighting.WEIGHTING.b = value
        elif name == "phrase_words":
            parsing.PHRASE_WORDS = value
        elif name == "collapse" and not value:
            searching._copy_groups = lambda searcher: None
        elif name == "dates":
            dates.PUBLICATION_DATES = value
        elif name == "year_decay":
            dates.YEAR_DECAY = value
        elif name == "rarest_words":
            bounds.RAREST_WORDS = value
        elif name == "bonus_depth":
            ranking.BONUS_DEPTH = value
        elif name == "meaning":
            closeness.WEIGHT = value
        elif name == "named_days":
            dates.WEEKDAY_WEIGHT, dates.MONTH_WEIGHT = value
        elif name == "contrast":
            contrast.WEIGHT = value
        elif name == "title_meaning":
            closeness.TITLE_WEIGHT = value
        yield
    finally:
        weighting.WEIGHTING.k1, weighting.WEIGHTING.b = saved[0], saved[1]
        weighting.FIELD_BOOSTS.clear()
        weighting.FIELD_BOOSTS.update(saved[2])
        bounds._QUESTION_TERMS, ranking.ALL_WORDS_FIRST, proximity.PAIR_WEIGHT = saved[3], saved[4], saved[5]
        bounds.MAX_WORDS, parsing.PHRASE_WORDS, searching._copy_groups = saved[6], saved[7], saved[8]
        dates.PUBLICATION_DATES, dates.YEAR_DECAY, bounds.RAREST_WORDS = saved[9], saved[10], saved[11]
        ranking.BONUS_DEPTH, closeness.WEIGHT = saved[12], saved[13]
        dates.WEEKDAY_WEIGHT, dates.MONTH_WEIGHT = saved[14]
        contrast.WEIGHT, closeness.TITLE_WEIGHT = saved[15], saved[16]


LEVERS = {
    "defaults": [None],
    "k1": [0.6, 1.2],
    "b": [0.3, 0.6, 0.75],
    "exact": [0.0, 1.0, 1.5],
    "questions": [False],
    "all_first": [False],
    "pairs": [0.0, 0.5],
    "max_words": [64, 128],
    "bm25": [(1.2, 0.75)],
    "phrase_words": [False],
    "recency": [(0.1, 30), (0.3, 30), (0.1, 365), (0.3, 365)],
    "collapse": [False],
    "dates": [False],
    "year_decay": [0.5, 0.9, 1.0],
    "rarest_words": [False],
    "bonus_depth": [50, 200],
    "meaning": [0.0, 0.5, 1.2],
    "named_days": [(0.0, 0.0), (0.15, 0.0), (0.0, 0.1), (0.1, 0.1), (0.25, 0.15)],
    "contrast": [0.0, 0.25, 0.75],
    "title_meaning": [0.0, 0.1, 0.3],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collections", default="piaf_retrieval,fquad_retrieval")
    parser.add_argument("--only", default=",".join(LEVERS), help="levers to measure, comma-separated")
    parser.add_argument("--limit", type=int, default=0, help="first N judged queries only")
    parser.add_argument("--title-weight", type=float, default=None)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--tag", default="", help="suffix for the index folders (a schema variant)")
    parser.add_argument("--no-accents", action="store_true", help="also measure accent-stripped queries")
    parser.add_argument("--base", default="", help="levers set for the whole run, e.g. b=0.6,all_first=False")
    args = parser.parse_args()
    if args.title_weight is not None:
        schema.TITLE_WEIGHT = args.title_weight

    collections = args.collections.split(",")
    searchers, judged = {}, {}
    rebuilt: set[str] = set()
    for name in collections:
        folder = DATA / name
        # The news collections judge the OrangeSum articles: one index for both.
        docs = DATA / SHARED_DOCS[name] if name in SHARED_DOCS else folder / "docs.jsonl"
        corpus = SHARED_DOCS[name].parts[0] if name in SHARED_DOCS else name
        suffix = f"-tw{schema.TITLE_WEIGHT}{args.tag}"
        index_dir = WORK / f"tune-{corpus}{suffix}"
        if args.rebuild and corpus not in rebuilt:
            shutil.rmtree(index_dir, ignore_errors=True)
            rebuilt.add(corpus)
        if not index_dir.exists():
            log(f"indexing {docs}…")
            reindex([docs], index_dir, procs=0)
        searchers[name] = LiveIndex(index_dir, weighting.WEIGHTING).searcher()
        queries, qrels = load_queries(folder / "queries.jsonl"), load_qrels(folder / "qrels.tsv")
        queries = {q: t for q, t in queries.items() if q in qrels}
        if args.limit:
            queries = dict(list(queries.items())[: args.limit])
        judged[name] = (queries, {q: qrels[q] for q in queries})

    label = {c: c.removesuffix("_retrieval") for c in collections}
    header = ["lever", "value"] + [f"{label[c]} nDCG@10" for c in collections]
    if args.no_accents:
        header += [f"{label[c]} no accents" for c in collections]
    base = contextlib.ExitStack()
    for pair in filter(None, args.base.split(",")):
        name, _, value = pair.partition("=")
        base.enter_context(lever(name, ast.literal_eval(value)))
        log(f"base: {name} = {value}")
    print("| " + " | ".join(header) + " | s |")
    print("|" + "---|" * (len(header) + 1))
    for name in args.only.split(","):
        for value in LEVERS[name]:
            started = time.monotonic()
            recency = Recency(*value) if name == "recency" else None
            with lever(name, value):
                cells = []
                for c in collections:
                    queries, qrels = judged[c]
                    cells.append(evaluate(searchers[c], queries, qrels, recency=recency).means["ndcg@10"])
                if args.no_accents:
                    for c in collections:
                        queries, qrels = judged[c]
                        stripped = strip_accents_from(queries)
                        cells.append(evaluate(searchers[c], stripped, qrels, recency=recency).means["ndcg@10"])
            row = [name, "" if value is None else str(value)] + [f"{x:.4f}" for x in cells]
            print("| " + " | ".join(row) + f" | {time.monotonic() - started:.0f} |", flush=True)


if __name__ == "__main__":
    main()
