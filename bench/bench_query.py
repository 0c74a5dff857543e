"""Query latency on the 20,000 OrangeSum news articles, beside Whoosh's stock French setup.

Two query sets, both made deterministically:

* ``short``: one- to three-word queries, the words drawn (seed 42) from the
  titles of the articles themselves, stop words left out; 300 queries;
* ``questions``: the first 300 questions of ``../shared/data/piaf_retrieval``
  (about 9 words each), run against the news articles.

Two systems, each on its own index of the same documents, built first (or
reused from ``bench/work/`` with ``--reuse``):

* ``searchsvc``: :func:`searchsvc.search.search`, the JSON endpoint's path,
  top 10 with snippets and highlighted titles, typo tolerance and suggestions;
* ``stock``: Whoosh's ``LanguageAnalyzer("fr")`` on title + body (stored),
  ``MultifieldParser(["title", "body"], group=OrGroup)``, top 10, and for each
  hit ``hit.highlights("body")`` (Whoosh's default snippets).

Each query set is run once to warm up, then ``--rounds`` times (default 3);
the figures are the median and 95th percentile of every timed query, in ms,
and their ratio to stock. Run from the repo root::

    .venv/bin/python bench/bench_query.py            # builds the indexes (~3 min) then measures
    .venv/bin/python bench/bench_query.py --reuse    # reuses bench/work/ indexes
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
WORK = ROOT / "bench" / "work"
sys.path.insert(0, str(ROOT))

from whoosh import index as whoosh_index  # noqa: E402
from whoosh.analysis import LanguageAnalyzer  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import MultifieldParser, OrGroup  # noqa: E402

from searchsvc.analysis import STOP_WORDS, fold  # noqa: E402
from searchsvc.generations import LiveIndex  # noqa: E402
from searchsvc.indexer import reindex  # noqa: E402
from searchsvc.ranking import WEIGHTING  # noqa: E402
from searchsvc.search import SearchRequest, search  # noqa: E402


def build_stock(docs_path: Path, target: Path) -> None:
    analyzer = LanguageAnalyzer("fr")
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, stored=True),
        body=TEXT(analyzer=analyzer, stored=True),
    )
    target.mkdir(parents=True)
    ix = whoosh_index.create_in(str(target), schema)
    with ix.writer(limitmb=256) as writer, docs_path.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            writer.add_document(id=doc["id"], title=doc["title"], body=doc["body"])


def short_queries(docs_path: Path, n: int = 300) -> list[str]:
    rng = random.Random(42)
    titles = [json.loads(line)["title"] for line in docs_path.open(encoding="utf-8")]
    queries = []
    for title in rng.sample(titles, n):
        words = [w for w in title.replace("'", " ").replace("’", " ").split() if w.isalpha()]
        words = [w for w in words if fold(w) not in STOP_WORDS and len(w) > 2]
        if words:
            k = rng.randint(1, min(3, len(words)))
            queries.append(" ".join(rng.sample(words, k)).lower())
    return queries


def question_queries(n: int = 300) -> list[str]:
    path = DATA / "piaf_retrieval" / "queries.jsonl"
    return [json.loads(line)["text"] for line in path.open(encoding="utf-8")][:n]


def time_queries(run, queries: list[str], rounds: int) -> list[float]:
    for q in queries:  # warm-up: caches, lazily opened files
        run(q)
    timings = []
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter()
            run(q)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, default=DATA / "orangesum_news" / "docs.jsonl")
    parser.add_argument("--reuse", action="store_true", help="reuse the indexes in bench/work/")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    ours_dir, stock_dir = WORK / "query-searchsvc", WORK / "query-stock"
    if not args.reuse or not ours_dir.exists() or not stock_dir.exists():
        shutil.rmtree(ours_dir, ignore_errors=True)
        shutil.rmtree(stock_dir, ignore_errors=True)
        print("building the searchsvc index…", file=sys.stderr)
        reindex([args.docs], ours_dir, procs=0)
        print("building the stock index…", file=sys.stderr)
        build_stock(args.docs, stock_dir)

    ours = LiveIndex(ours_dir, WEIGHTING).searcher()
    stock_ix = whoosh_index.open_dir(str(stock_dir))
    stock = stock_ix.searcher()
    stock_parser = MultifieldParser(["title", "body"], stock_ix.schema, group=OrGroup)

    def run_ours(q: str) -> None:
        search(ours, SearchRequest(q=q, per_page=10))

    def run_stock(q: str) -> None:
        results = stock.search(stock_parser.parse(q), limit=10)
        for hit in results:
            hit.highlights("body")

    sets = {"short": short_queries(args.docs), "questions": question_queries()}
    rows = []
    for name, queries in sets.items():
        for system, run in (("stock", run_stock), ("searchsvc", run_ours)):
            print(f"timing {system} on {len(queries)} {name} queries…", file=sys.stderr)
            t = time_queries(run, queries, args.rounds)
            rows.append({"queries": name, "system": system, "n": len(t),
                         "p50": statistics.median(t), "p95": percentile(t, 95)})  # fmt: skip

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"\nQuery latency, top 10 with snippets, {stock.doc_count()} news articles, {args.rounds} rounds\n")
    print("| queries | system | timed | p50 ms | p95 ms | p50 vs stock | p95 vs stock |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        base = next(r for r in rows if r["queries"] == row["queries"] and r["system"] == "stock")
        print(
            f"| {row['queries']} | {row['system']} | {row['n']} | {row['p50']:.1f} | {row['p95']:.1f} "
            f"| {row['p50'] / base['p50']:.2f}× | {row['p95'] / base['p95']:.2f}× |"
        )


if __name__ == "__main__":
    main()
