"""Fresh-query latency: what a reader meets, not what the caches remember.

A public search box mostly receives queries the process has not seen. This
opens an index as the service does (``LiveIndex``, the site's synonyms) in a
new process, runs a few warm-up queries of their own (files opened, columns
read), then times each query of the set ONCE, the first time the process
sees it (result cache off: ``search()`` has none; the page's work included:
snippets, highlighted titles, facets, suggestion, all words first, the pair
bonus, synonyms). Only then does it ask the same queries again, and prints
those "repeated" figures beside the first-sight ones.

With ``--http`` the same queries go to the real service instead: gunicorn
with 2 sync workers (``wsgi:app``, result cache off: ``SEARCHSVC_QUERY_CACHE=0``)
on the index, one request at a time from one client (``GET /api/search``),
timed from the request sent to the body read.

Query sets: ``short`` (1-3 words drawn at random from the titles of the
20,000 OrangeSum articles, as ``bench_query.short_queries`` draws them, with
another seed so that the warm-up and the timed queries differ) or
``questions`` (PIAF questions, 8-15 words).

Run from the repo root::

    .venv/bin/python -m bench.bench_fresh --index bench/work/growth/index-20000
    .venv/bin/python -m bench.bench_fresh --index DIR --kind questions --json
    .venv/bin/python -m bench.bench_fresh --index DIR --http
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from bench.common import DATA, ROOT, log, percentile

ORANGESUM = DATA / "orangesum_news" / "docs.jsonl"
PIAF_QUERIES = DATA / "piaf_retrieval" / "queries.jsonl"


def draw_short(n: int, seed: int, source: Path = ORANGESUM) -> list[str]:
    """``n`` distinct queries of 1-3 title words (stop words and short words aside)."""
    from searchsvc.text.analysis import STOP_WORDS
    from searchsvc.text.normalize import fold

    rng = random.Random(seed)
    titles = [json.loads(line)["title"] for line in source.open(encoding="utf-8")]
    queries: dict[str, None] = {}
    for title in rng.sample(titles, len(titles)):
        words = [w for w in title.replace("'", " ").replace("’", " ").split() if w.isalpha()]
        words = [w for w in words if fold(w) not in STOP_WORDS and len(w) > 2]
        if words:
            k = rng.randint(1, min(3, len(words)))
            queries[" ".join(rng.sample(words, k)).lower()] = None
        if len(queries) >= n:
            break
    return list(queries)


def draw_questions(n: int, seed: int) -> list[str]:
    """``n`` PIAF questions of 8 to 15 words, drawn at random."""
    questions = [json.loads(line)["text"] for line in PIAF_QUERIES.open(encoding="utf-8")]
    questions = [q for q in questions if 8 <= len(q.split()) <= 15]
    return random.Random(seed).sample(questions, min(n, len(questions)))


def private_mib() -> float:
    """This process's own memory, MiB: its anonymous pages (heap, arrays:
    ``Anonymous`` in ``/proc/self/smaps_rollup``). The index files it maps are
    left out: they are the page cache, shared by every worker (a file page
    only this process touched counts as "Private_Clean" all the same)."""
    with open(f"/proc/{os.getpid()}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) / 1024
    return 0.0


def summary(timings: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
        "max_ms": round(max(timings), 2),
    }


def run(index_dir: Path, queries: list[str], warmup: list[str]) -> dict:
    from searchsvc.search.live import LiveIndex
    from searchsvc.search.searching import SearchRequest, search
    from searchsvc.search.weighting import WEIGHTING
    from searchsvc.text.synonyms import load_synonyms

    synonyms = load_synonyms(ROOT / "index_data" / "synonyms.txt")
    started = time.perf_counter()
    searcher = LiveIndex(index_dir, WEIGHTING).searcher()
    open_s = time.perf_counter() - started
    for q in warmup:
        search(searcher, SearchRequest(q=q), synonyms=synonyms)
    first, again, totals = [], [], []
    for q in queries:
        t0 = time.perf_counter()
        page = search(searcher, SearchRequest(q=q), synonyms=synonyms)
        first.append((time.perf_counter() - t0) * 1000)
        totals.append(page.total)
    for q in queries:
        t0 = time.perf_counter()
        search(searcher, SearchRequest(q=q), synonyms=synonyms)
        again.append((time.perf_counter() - t0) * 1000)
    return {
        "documents": searcher.doc_count(),
        "queries": len(queries),
        "open_s": round(open_s, 3),
        "first_sight": summary(first),
        "repeated": summary(again),
        "mean_total": round(statistics.fmean(totals), 1),
        "private_mib": round(private_mib(), 1),
    }


def run_http(index_dir: Path, queries: list[str], warmup: list[str], workers: int) -> dict:
    import http.client
    import urllib.parse

    from bench.common import HOST, WORK, Gunicorn

    def ask(port: int, q: str) -> tuple[float, int]:
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        connection.request("GET", "/api/search?" + urllib.parse.urlencode({"q": q}))
        response = connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"{q!r}: HTTP {response.status}: {body[:200]!r}")
        return elapsed, json.loads(body)["total"]

    with Gunicorn(index_dir, WORK / "fresh-gunicorn.log", workers=workers, query_cache=0, want_200=True) as server:
        for q in warmup:
            ask(server.port, q)
        first, totals = [], []
        for q in queries:
            elapsed, total = ask(server.port, q)
            first.append(elapsed)
            totals.append(total)
        again = [ask(server.port, q)[0] for q in queries]
        documents = server.health.get("documents")
    return {
        "documents": documents,
        "queries": len(queries),
        "workers": workers,
        "first_sight": summary(first),
        "repeated": summary(again),
        "mean_total": round(statistics.fmean(totals), 1),
        "private_mib": None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index folder (CURRENT and generations)")
    parser.add_argument("--kind", choices=("short", "questions"), default="short")
    parser.add_argument("-n", type=int, default=300, help="timed queries (default: 300)")
    parser.add_argument("--warmup", type=int, default=20, help="other queries run first (default: 20)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--http", action="store_true", help="through gunicorn, not in process")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers with --http (default: 2)")
    args = parser.parse_args(argv)
    draw = draw_short if args.kind == "short" else draw_questions
    pool = draw(args.n + args.warmup, args.seed)
    warmup, queries = pool[: args.warmup], pool[args.warmup :]
    log(f"{args.kind}: {len(queries)} timed queries, {len(warmup)} warm-up, index {args.index}")
    measured = run_http(args.index, queries, warmup, args.workers) if args.http else run(args.index, queries, warmup)
    figures = {"kind": args.kind, "index": str(args.index), "http": args.http, **measured}
    if args.json:
        print(json.dumps(figures))
    else:
        f, r = figures["first_sight"], figures["repeated"]
        print(
            f"{figures['documents']:,} documents, {figures['queries']} {args.kind} queries: "
            f"first sight p50 / p95 {f['p50_ms']} / {f['p95_ms']} ms (max {f['max_ms']}); "
            f"repeated {r['p50_ms']} / {r['p95_ms']} ms"
            + (" over HTTP" if args.http else f"; private memory {figures['private_mib']} MiB")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
