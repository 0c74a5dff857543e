"""Query latency on the 20,000 OrangeSum news articles, beside Whoosh's stock French setup, SQLite FTS5 and tantivy.

Three query sets, all made deterministically:

* ``short``: one- to three-word queries, the words drawn (seed 42) from the
  titles of the articles themselves, stop words left out; 300 queries;
* ``questions``: the first 300 questions of ``../shared/data/piaf_retrieval``
  (about 9 words each), run against the news articles;
* ``piaf``: the same 300 questions run against their own documents, the
  1,518 Wikipedia paragraphs of ``piaf_retrieval/docs.jsonl``; every system
  gets a second index, of those paragraphs.

Five systems (four indexes per corpus), each on its own index of the same
documents, built first (or reused from ``bench/work/`` with ``--reuse``):

* ``searchsvc``: :func:`searchsvc.search.search`, the JSON endpoint's path,
  top 10 with snippets and highlighted titles, typo tolerance and suggestions;
* ``stock``: Whoosh's ``LanguageAnalyzer("fr")`` on title + body (stored),
  ``MultifieldParser(["title", "body"], group=OrGroup)``, top 10, and for each
  hit ``hit.highlights("body")`` (Whoosh's default snippets);
* ``fts5`` and ``fts5-no-snippets``: SQLite FTS5 built by
  ``bench_relevance.build_fts5`` (``tokenize = 'unicode61 remove_diacritics 2'``,
  id / title / body, FTS5 keeps the text); the query's ``\\w+`` tokens,
  lowercased, each quoted and joined with OR (``bench.common.fts5_match``, as
  ``bench_relevance.py`` does; the tokenizer folds the accents),
  ``ORDER BY rank LIMIT 10``, fetching id and title, and for ``fts5`` also
  ``snippet(docs, 2, '<b>', '</b>', '…', 32)`` on the body (32 tokens, about
  searchsvc's 240 characters).
  ``rank`` is ``bm25(docs)`` with FTS5's defaults, so the order is that of
  ``ORDER BY bm25(docs)``; but FTS5 then sorts the rows itself and SQLite
  stops after ten, whereas with ``ORDER BY bm25(docs)`` SQLite computes the
  snippet of every matching row before sorting (about twice as slow a median
  with snippets on the short queries, the same without);
* ``tantivy``: tantivy-py, ``bench.common.tantivy_analyzer`` (simple
  tokenizer, lowercase, ASCII folding, Snowball French) on title and body,
  both stored; the query cleaned by ``bench_relevance.clean_query`` and
  parsed by ``index.parse_query(text, ["title", "body"])`` (OR),
  ``searcher.search(query, 10)``, and for each hit its stored document and a
  ``tantivy.SnippetGenerator`` snippet of the body (``to_html()``, at most
  240 characters; one generator per query).

Each query set is run once to warm up, then ``--rounds`` times (default 3);
the figures are the median, 95th and 99th percentile and mean of every timed
query, in ms. Most of a full run (2 CPUs) is stock Whoosh on the questions
against the news articles, about 2 s each. Run from the repo root::

    .venv/bin/python -m bench.bench_query            # builds the indexes (~3.5 min), then ~35 min of timing
    .venv/bin/python -m bench.bench_query --reuse    # reuses the bench/work/ indexes
    .venv/bin/python -m bench.bench_query --limit 2000 --queries 50 --rounds 1  # quick check
    .venv/bin/python -m bench.bench_query --json     # figures as JSON (progress on stderr)

Prints one markdown table, one row per query set and system: queries timed,
p50 and p95 in ms, and the ratios of p50 and p95 to ``stock``'s and of p50
to ``fts5-no-snippets``'s. ``--json`` prints instead one object: run
information, ``sets`` (queries and documents per set) and ``rows`` (one dict
per set and system: ``queries``, ``system``, ``n``, ``p50``, ``p95``,
``p99``, ``mean``, ``max``, in ms).

``--limit N`` indexes only the first N news articles (the short queries are
drawn from their titles; the PIAF set is not limited); ``--queries N`` uses N
queries per set instead of 300. ``--reuse`` rebuilds an index anyway when the
documents it was built from differ (a ``.source.json`` note beside each
index folder says which).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import LanguageAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import MultifieldParser, OrGroup

from bench.common import (
    DATA,
    NEWS_DOCS,
    TANTIVY_TOKENIZER,
    WORK,
    fts5_available,
    fts5_match,
    log,
    percentile,
    tantivy_analyzer,
    tantivy_available,
    versions,
)
from searchsvc.index.reindex import reindex
from searchsvc.search.live import LiveIndex
from searchsvc.search.searching import SearchRequest, search
from searchsvc.search.weighting import WEIGHTING
from searchsvc.text.analysis import STOP_WORDS
from searchsvc.text.normalize import fold

PIAF = DATA / "piaf_retrieval"

# bench_relevance (the FTS5 builder, read_docs, clean_query) is imported where
# used: bench_load.py imports short_queries from here, and need not load
# bench_relevance's ir-measures.

SYSTEMS = ("stock", "searchsvc", "fts5-no-snippets", "fts5", "tantivy")
TOP = 10
SNIPPET_TOKENS = 32
SNIPPET_CHARS = 240

Runner = Callable[[str], object]


# --------------------------------------------------------------------------
# Index builders


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


def build_searchsvc(docs_path: Path, target: Path) -> None:
    reindex([docs_path], target, procs=0)


def build_fts5_db(docs_path: Path, target: Path) -> None:
    """``bench_relevance.build_fts5``'s table, in ``target/fts5.db``."""
    from bench.bench_relevance import build_fts5, read_docs

    target.mkdir(parents=True)
    _, close = build_fts5(docs_path, read_docs(docs_path), target)
    close()


def build_tantivy(docs_path: Path, target: Path) -> None:
    """``bench_relevance.build_tantivy``'s index, with title and body stored (for snippets)."""
    from bench import bench_relevance

    target.mkdir(parents=True)
    docs = bench_relevance.read_docs(docs_path)
    _, close = bench_relevance.build_tantivy(docs_path, docs, target, stored=True)
    close()


BUILDERS = {
    "searchsvc": build_searchsvc,
    "stock": build_stock,
    "fts5": build_fts5_db,
    "tantivy": build_tantivy,
}


def searchsvc_outdated(folder: Path) -> str | None:
    """Why the searchsvc index in ``folder`` cannot be reused as is (or ``None``):
    none there, or built by a version of searchsvc with another schema or chain."""
    live = LiveIndex(folder, WEIGHTING)
    live.refresh()
    if live.index is None:
        return f"holds no usable index ({live.problem})"
    reason = live.stale
    live.index.close()
    return f"is out of date ({reason})" if reason else None


def ensure_index(kind: str, corpus: str, docs_path: Path, reuse: bool) -> Path:
    """The folder of ``kind``'s index of ``docs_path``, built unless reusable."""
    target = WORK / f"{corpus}-{kind}"
    stamp = WORK / f"{corpus}-{kind}.source.json"
    stat = docs_path.stat()
    source = {"docs": str(docs_path.resolve()), "bytes": stat.st_size, "mtime": stat.st_mtime}
    if reuse and target.exists() and stamp.exists():
        try:
            same = json.loads(stamp.read_text(encoding="utf-8")) == source
        except ValueError:
            same = False
        why = None if same else "was built from other documents"
        if same and kind == "searchsvc":
            why = searchsvc_outdated(target)
        if why is None:
            return target
        log(f"{target} {why}: rebuilding it")
    elif reuse and target.exists():
        log(f"{target} has no note of the documents it was built from: rebuilding it")
    shutil.rmtree(target, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    log(f"building the {kind} index of {docs_path.name} in {target}…")
    started = time.perf_counter()
    BUILDERS[kind](docs_path, target)
    log(f"  built in {time.perf_counter() - started:.1f} s")
    stamp.write_text(json.dumps(source), encoding="utf-8")
    return target


# --------------------------------------------------------------------------
# Query runners: each takes the query text and fetches a top-10 page


def searchsvc_runner(folder: Path) -> Runner:
    ours = LiveIndex(folder, WEIGHTING).searcher()

    def run(q: str) -> object:
        return search(ours, SearchRequest(q=q, per_page=TOP))

    return run


def stock_runner(folder: Path) -> Runner:
    stock_ix = whoosh_index.open_dir(str(folder))
    stock = stock_ix.searcher()
    stock_parser = MultifieldParser(["title", "body"], stock_ix.schema, group=OrGroup)

    def run(q: str) -> object:
        results = stock.search(stock_parser.parse(q), limit=TOP)
        return [hit.highlights("body") for hit in results]

    return run


def fts5_runner(folder: Path, snippets: bool) -> Runner:
    db = sqlite3.connect(folder / "fts5.db", check_same_thread=False)
    snippet = f", snippet(docs, 2, '<b>', '</b>', '…', {SNIPPET_TOKENS})" if snippets else ""
    sql = f"SELECT id, title{snippet} FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT {TOP}"

    def run(q: str) -> object:
        match = fts5_match(q)
        return db.execute(sql, (match,)).fetchall() if match else []

    return run


def tantivy_runner(folder: Path) -> Runner:
    import tantivy

    from bench.bench_relevance import clean_query

    index = tantivy.Index.open(str(folder))
    index.register_tokenizer(TANTIVY_TOKENIZER, tantivy_analyzer())
    searcher = index.searcher()
    schema = index.schema
    fields = ["title", "body"]

    def run(q: str) -> object:
        cleaned = clean_query(q)
        if not cleaned.strip():
            return []
        try:
            query = index.parse_query(cleaned, fields)
        except ValueError:  # not expected after clean_query
            query, _ = index.parse_query_lenient(cleaned, fields)
        generator = tantivy.SnippetGenerator.create(searcher, query, schema, "body")
        generator.set_max_num_chars(SNIPPET_CHARS)
        page = []
        for _score, address in searcher.search(query, TOP).hits:
            doc = searcher.doc(address)
            page.append((doc["id"][0], doc["title"][0], generator.snippet_from_doc(doc).to_html()))
        return page

    return run


def runners(corpus: str, docs_path: Path, systems: list[str], reuse: bool) -> dict[str, Runner]:
    built: dict[str, Runner] = {}
    folders: dict[str, Path] = {}
    for system in systems:
        kind = "fts5" if system.startswith("fts5") else system
        if kind not in folders:
            folders[kind] = ensure_index(kind, corpus, docs_path, reuse)
        folder = folders[kind]
        if system == "searchsvc":
            built[system] = searchsvc_runner(folder)
        elif system == "stock":
            built[system] = stock_runner(folder)
        elif system.startswith("fts5"):
            built[system] = fts5_runner(folder, snippets=system == "fts5")
        else:
            built[system] = tantivy_runner(folder)
    return built


# --------------------------------------------------------------------------
# Query sets and timing


def short_queries(docs_path: Path, n: int = 300) -> list[str]:
    rng = random.Random(42)
    titles = [json.loads(line)["title"] for line in docs_path.open(encoding="utf-8")]
    queries = []
    for title in rng.sample(titles, min(n, len(titles))):
        words = [w for w in title.replace("'", " ").replace("’", " ").split() if w.isalpha()]
        words = [w for w in words if fold(w) not in STOP_WORDS and len(w) > 2]
        if words:
            k = rng.randint(1, min(3, len(words)))
            queries.append(" ".join(rng.sample(words, k)).lower())
    return queries


def question_queries(n: int = 300) -> list[str]:
    path = PIAF / "queries.jsonl"
    return [json.loads(line)["text"] for line in path.open(encoding="utf-8")][:n]


def time_queries(run: Runner, queries: list[str], rounds: int) -> list[float]:
    for q in queries:  # warm-up: caches, lazily opened files
        run(q)
    timings = []
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter()
            run(q)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def limited_docs(source: Path, limit: int | None) -> Path:
    """``source``, or a copy of its first ``limit`` lines under bench/work/."""
    if not limit:
        return source
    WORK.mkdir(parents=True, exist_ok=True)
    target = WORK / f"query-docs-first{limit}.jsonl"
    with source.open(encoding="utf-8") as src:
        text = "".join(itertools.islice(src, limit))
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target


def query_versions() -> dict[str, str]:
    return versions("whoosh-reloaded", "tantivy", "searchsvc")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, default=NEWS_DOCS)
    parser.add_argument("--limit", type=int, default=None, help="index only the first N articles")
    parser.add_argument("--queries", type=int, default=300, help="queries per set (default 300)")
    parser.add_argument("--reuse", action="store_true", help="reuse the indexes in bench/work/")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"subset of {','.join(SYSTEMS)}")
    parser.add_argument("--sets", default="short,questions,piaf", help="subset of short,questions,piaf")
    args = parser.parse_args(argv)

    systems = [s for s in SYSTEMS if s in args.systems.split(",")]
    notes = []
    if not fts5_available():
        notes.append(f"sqlite {sqlite3.sqlite_version} has no FTS5: fts5 skipped")
        systems = [s for s in systems if not s.startswith("fts5")]
    if not tantivy_available():
        notes.append("tantivy not installed (pip install -e '.[bench]'): skipped")
        systems = [s for s in systems if s != "tantivy"]
    for note in notes:
        log(f"note: {note}")

    news = limited_docs(args.docs.resolve(), args.limit)
    piaf_docs = (PIAF / "docs.jsonl").resolve()
    questions = question_queries(args.queries)
    sets = {
        "short": ("query", news, short_queries(news, args.queries)),
        "questions": ("query", news, questions),
        "piaf": ("piaf", piaf_docs, questions),
    }
    sets = {name: value for name, value in sets.items() if name in args.sets.split(",")}
    corpora = {corpus: docs for corpus, docs, _ in sets.values()}
    documents = {
        corpus: sum(1 for line in docs.open(encoding="utf-8") if line.strip())
        for corpus, docs in corpora.items()
    }
    built = {corpus: runners(corpus, docs, systems, args.reuse) for corpus, docs in corpora.items()}

    rows = []
    for name, (corpus, _, queries) in sets.items():
        for system in systems:
            log(f"timing {system} on {len(queries)} {name} queries…")
            t = time_queries(built[corpus][system], queries, args.rounds)
            rows.append({
                "queries": name, "system": system, "n": len(t),
                "p50": statistics.median(t), "p95": percentile(t, 95), "p99": percentile(t, 99),
                "mean": statistics.fmean(t), "max": max(t),
            })  # fmt: skip

    if args.json:
        print(json.dumps({
            "documents_file": str(news),
            "limit": args.limit,
            "rounds": args.rounds,
            "top": TOP,
            "sets": {
                name: {"corpus": str(docs), "documents": documents[corpus], "queries": len(queries)}
                for name, (corpus, docs, queries) in sets.items()
            },
            "systems": systems,
            "versions": query_versions(),
            "notes": notes,
            "rows": rows,
        }, indent=2, ensure_ascii=False))  # fmt: skip
        return 0

    print(
        f"\nQuery latency, top {TOP} with snippets (fts5-no-snippets: without), "
        + ", ".join(f"{documents[c]} {'news articles' if c == 'query' else 'PIAF paragraphs'}" for c in corpora)
        + f", {args.rounds} rounds\n"
    )
    print(
        "| queries | system | timed | p50 ms | p95 ms | p50 vs stock | p95 vs stock "
        "| p50 vs fts5-no-snippets |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        same = {r["system"]: r for r in rows if r["queries"] == row["queries"]}
        base = same.get("stock")
        plain = same.get("fts5-no-snippets")
        vs_plain = f"{row['p50'] / plain['p50']:.2f}×" if plain else "n/a"
        vs_stock = (
            f"{row['p50'] / base['p50']:.2f}× | {row['p95'] / base['p95']:.2f}×" if base else "n/a | n/a"
        )
        print(
            f"| {row['queries']} | {row['system']} | {row['n']} | {row['p50']:.1f} | {row['p95']:.1f} "
            f"| {vs_stock} | {vs_plain} |"
        )
    print()
    print(", ".join(f"{k} {v}" for k, v in query_versions().items()))
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
