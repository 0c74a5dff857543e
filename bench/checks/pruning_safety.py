"""Pruning is rank-safe: each query's hits, pruned and exhaustive, side by side.

``searchsvc.search.pruning`` ranks a query with a word in at least
``TRACK_TOTAL_HITS`` (10,000) live articles without scoring every posting.
This ranks every query of the judged collections both ways on an index, with
the service's parser and synonyms, and compares the hits: documents, order
and scores, exactly (no rounding). It prints, per query set: the queries, how
many were pruned, how many differ (and the first differing ones), and the
time both ways (the order alternates query by query, so that neither way
always meets the postings first).

Query sets (``../shared/data``, DEV halves; only the query texts are read):
``piaf``, ``fquad`` (questions), ``news_keywords`` (three rare words),
``news_leads`` (whole leads), ``short`` (1-3 title words, as
``bench_fresh`` draws them).

Run from the repo root::

    .venv/bin/python -m bench.checks.pruning_safety --index bench/work/growth/index-1000000
    .venv/bin/python -m bench.checks.pruning_safety --collection piaf_retrieval --track 100

``--collection NAME`` indexes that collection's ``docs.jsonl`` in a temporary
folder first (as ``bench_relevance`` does) and runs its own queries; with
``--track N`` pruning starts at N articles instead, so that it runs on a
small collection too. Exits 1 if any query's hits differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import DATA, ROOT, log

SETS = {
    "piaf": "piaf_retrieval",
    "fquad": "fquad_retrieval",
    "news_keywords": "news_keywords_retrieval",
    "news_leads": "news_leads_retrieval",
}


def queries_of(name: str, limit: int, data: Path) -> list[str]:
    if name == "short":
        from bench.bench_fresh import draw_short

        return draw_short(limit, seed=3)
    path = data / SETS[name] / "queries.jsonl"
    return [json.loads(line)["text"] for line in path.open(encoding="utf-8")][:limit]


def compare(searcher, queries: list[str], depth: int) -> dict:
    from searchsvc.errors import QueryError
    from searchsvc.search.parsing import parse
    from searchsvc.search.ranking import rank_and_count
    from searchsvc.text.synonyms import load_synonyms

    synonyms = load_synonyms(ROOT / "index_data" / "synonyms.txt")
    pruned_count, differ, times = 0, [], {"pruned": 0.0, "exhaustive": 0.0}
    scored = {"pruned": 0, "exhaustive": 0}  # postings given a BM25 score, of the pruned queries
    refused = 0
    for n, text in enumerate(queries):
        try:
            parsed = parse(text, searcher.schema, searcher.reader(), synonyms)
        except QueryError:  # nothing searchable left (a 400 for the service)
            refused += 1
            continue
        results, counts = {}, {}
        for prune in (n % 2 == 0, n % 2 == 1):
            with counting_postings() as count:
                started = time.perf_counter()
                results[prune] = rank_and_count(searcher, parsed, depth, prune=prune)
                times["pruned" if prune else "exhaustive"] += time.perf_counter() - started
            counts[prune] = count[0]
        if results[True].total_relation == "gte":
            scored["pruned"] += counts[True]
            scored["exhaustive"] += counts[False]
        pruned, exhaustive = results[True], results[False]
        pruned_count += pruned.total_relation == "gte"
        if pruned.hits != exhaustive.hits:
            differ.append(text)
    return {
        "queries": len(queries) - refused,
        "refused": refused,
        "pruned": pruned_count,
        "differ": len(differ),
        "differing": differ[:5],
        "pruned_s": round(times["pruned"], 2),
        "exhaustive_s": round(times["exhaustive"], 2),
        "postings_scored_pruned": scored["pruned"],
        "postings_scored_exhaustive": scored["exhaustive"],
    }


@contextmanager
def counting_postings() -> Iterator[list[int]]:
    """Counts the postings given a BM25 score (``VectorScorer.bm25``) inside the block."""
    from searchsvc.search.scoring import VectorScorer

    count = [0]
    bm25 = VectorScorer.bm25

    def counted(self, fieldname, text, ids, weights):
        count[0] += len(ids)
        return bm25(self, fieldname, text, ids, weights)

    VectorScorer.bm25 = counted  # type: ignore[method-assign]
    try:
        yield count
    finally:
        VectorScorer.bm25 = bm25  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", type=Path, help="an index folder (CURRENT and generations)")
    where.add_argument("--collection", choices=sorted(SETS.values()), help="index this collection's docs first")
    parser.add_argument("--sets", default=None, help="query sets, comma-separated (default: all, or the collection's)")
    parser.add_argument("--limit", type=int, default=1000, help="queries per set (default 1000)")
    parser.add_argument("--depth", type=int, default=10, help="hits compared per query (default 10)")
    parser.add_argument("--track", type=int, default=None, help="articles a word needs for pruning (default: the service's)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from searchsvc.index.reindex import reindex
    from searchsvc.search import pruning
    from searchsvc.search.live import LiveIndex
    from searchsvc.search.weighting import WEIGHTING

    if args.track is not None:
        pruning.TRACK_TOTAL_HITS = args.track
    if args.sets:
        sets = args.sets.split(",")
    elif args.collection:
        sets = [name for name, folder in SETS.items() if folder == args.collection]
    else:
        sets = [*SETS, "short"]
    with tempfile.TemporaryDirectory(prefix="pruning-") as tmp:
        index = args.index
        if index is None:
            index = Path(tmp) / "index"
            docs = args.data / args.collection / "docs.jsonl"
            if not docs.exists():  # the news collections search the OrangeSum articles
                docs = args.data / "orangesum_news" / "docs.jsonl"
            log(f"indexing {docs}…")
            reindex([docs], index, procs=0)
        searcher = LiveIndex(index, WEIGHTING).searcher()
        log(f"{searcher.doc_count():,} documents; pruning from {pruning.TRACK_TOTAL_HITS:,} articles; top {args.depth}")
        results = {}
        for name in sets:
            results[name] = compare(searcher, queries_of(name, args.limit, args.data), args.depth)
            log(f"  {name}: {results[name]}")
    if args.json:
        print(json.dumps(results))
    else:
        print("| query set | queries | pruned | hits differ | pruned s | exhaustive s | postings scored, pruned queries: pruned / exhaustive |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, r in results.items():
            share = r["postings_scored_pruned"] / max(r["postings_scored_exhaustive"], 1)
            print(f"| {name} | {r['queries']} | {r['pruned']} | {r['differ']} | {r['pruned_s']} | {r['exhaustive_s']} "
                  f"| {r['postings_scored_pruned']:,} / {r['postings_scored_exhaustive']:,} ({share:.1%}) |")
    return 1 if any(r["differ"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
