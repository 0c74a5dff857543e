"""Relevance of searchsvc beside three stock BM25 engines, on judged French questions.

What it measures: for each collection (``piaf_retrieval`` and ``fquad_retrieval``,
questions on Wikipedia paragraphs, and ``news_keywords_retrieval`` and
``news_leads_retrieval``, news known-item queries over the 20,000 OrangeSum
articles, under ``../shared/data/``, DEV halves), every system indexes the
collection's documents (``docs.jsonl``, or ``orangesum_news/docs.jsonl`` for the
news collections; title + body) in a temporary folder, runs the judged DEV
queries (top 100 each), and the runs are all scored by the same function,
:func:`searchsvc.ops.evaluation.score_run` (ir-measures): nDCG@10, MRR@10 and
Recall@100, averaged over **all** judged queries (a query with no result counts
0). Each system then runs the same queries again with their accents stripped
(:func:`searchsvc.ops.evaluation.strip_accents_from`, "elections presidentielles"
for "élections présidentielles") and the table shows the drop in nDCG@10.
Wall times to build the index and to run the queries are secondary figures.

Systems:

* ``searchsvc``: ``reindex([docs.jsonl], tmp, procs=0)``, then the service's own
  search path (:func:`searchsvc.ops.evaluation.run_queries`) on
  ``LiveIndex(tmp, WEIGHTING).searcher()``; the raw question text goes in, as
  a reader would type it;
* ``whoosh-stock``: Whoosh with ``LanguageAnalyzer("fr")`` on title and body,
  ``MultifieldParser(["title", "body"], group=OrGroup)``, BM25F defaults;
* ``sqlite-fts5``: SQLite FTS5, ``tokenize = 'unicode61 remove_diacritics 2'``
  (no stemming), the query's ``\\w+`` tokens each quoted and joined with OR,
  ranked by ``bm25(docs)`` (default weights);
* ``tantivy``: tantivy-py (``pip install -e '.[bench]'``), title and body with
  a simple tokenizer, lowercase, ASCII folding and the Snowball French stemmer,
  ``index.parse_query(text, ["title", "body"])`` (OR by default), tantivy's BM25.

Whoosh and tantivy parse a query language: before parsing, the characters
``"*?:()[]{}^~+-!`` and, for tantivy's grammar, ``'`` (a phrase quote there:
a third of the questions hold one, as in "l'État"), backquote, ``<``, ``>`` and ``\\``
become spaces, and the operator words AND/OR/NOT/IN/TO are lowercased, so
that a question never turns into syntax. The same cleaned text goes to both.

Run from the repo root::

    .venv/bin/python -m bench.bench_relevance              # the four collections, ~1 h on 2 CPUs
    .venv/bin/python -m bench.bench_relevance --limit 300  # quick check: first 300 judged queries
    .venv/bin/python -m bench.bench_relevance --systems sqlite-fts5,tantivy --collections piaf_retrieval
    .venv/bin/python -m bench.bench_relevance --json       # figures as JSON (progress on stderr)

``--data DIR`` reads the collections from another folder (default: the repo
root's ``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import (
    DATA,
    FTS5_TABLE,
    TANTIVY_TOKENIZER,
    fts5_available,
    fts5_match,
    log,
    tantivy_analyzer,
    tantivy_available,
    tantivy_schema,
    versions,
)
from searchsvc.ops.evaluation import (
    DEPTH,
    load_qrels,
    load_queries,
    run_queries,
    score_run,
    strip_accents_from,
)

SYSTEMS = ("searchsvc", "whoosh-stock", "sqlite-fts5", "tantivy")
COLLECTIONS = ("piaf_retrieval", "fquad_retrieval", "news_keywords_retrieval", "news_leads_retrieval")
#: Collections without a docs.jsonl of their own: the documents they judge,
#: relative to the data folder (the news known-item collections are made from
#: the OrangeSum articles; their `summary`, the lead the queries come from, is
#: never indexed: no system reads that field).
SHARED_DOCS = {
    "news_keywords_retrieval": Path("orangesum_news") / "docs.jsonl",
    "news_leads_retrieval": Path("orangesum_news") / "docs.jsonl",
}

Run = dict[str, list[tuple[str, float]]]
#: A built system: ``run(queries) -> {qid: [(doc_id, score), ...]}`` and ``close()``.
System = tuple[Callable[[dict[str, str]], Run], Callable[[], None]]

# Query syntax of Whoosh's default parser (the brief's set) plus what tantivy's
# grammar adds: ' opens a phrase, ` < > \ are syntax errors.
_SYNTAX = re.compile(r"[\"*?:()\[\]{}^~+\-!'`<>\\]")
_OPERATORS = re.compile(r"\b(AND|OR|NOT|IN|TO|ANDNOT|ANDMAYBE)\b")


def clean_query(text: str) -> str:
    """``text`` with nothing a query parser reads as syntax (for Whoosh and tantivy)."""
    text = _SYNTAX.sub(" ", text)
    return _OPERATORS.sub(lambda m: m.group(0).lower(), text)


def read_docs(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------
# The systems: each builds its index of docs_path in folder, returns (run, close)


def build_searchsvc(docs_path: Path, docs: list[dict], folder: Path) -> System:
    from searchsvc.index.reindex import reindex
    from searchsvc.search.live import LiveIndex
    from searchsvc.search.weighting import WEIGHTING
    from searchsvc.text.synonyms import load_synonyms
    from searchsvc.text.wordfiles import default_path

    # As the service runs by default: the shipped protected words (reindex's
    # default) and the shipped synonyms.
    result = reindex([docs_path], folder, procs=0)
    if result.documents != len(docs):
        log(f"WARNING: searchsvc indexed {result.documents} documents of {len(docs)}")
    live = LiveIndex(folder, WEIGHTING)
    searcher = live.searcher()
    synonyms = load_synonyms(default_path("synonyms.txt"))
    return (lambda queries: run_queries(searcher, queries, DEPTH, synonyms=synonyms)), searcher.close


def build_whoosh_stock(docs_path: Path, docs: list[dict], folder: Path) -> System:
    from whoosh import index as whoosh_index
    from whoosh.analysis import LanguageAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import MultifieldParser, OrGroup

    analyzer = LanguageAnalyzer("fr")
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer),
        body=TEXT(analyzer=analyzer),
    )
    ix = whoosh_index.create_in(str(folder), schema)
    with ix.writer(limitmb=256) as writer:
        for doc in docs:
            writer.add_document(id=doc["id"], title=doc.get("title", ""), body=doc.get("body", ""))
    parser = MultifieldParser(["title", "body"], schema, group=OrGroup)
    searcher = ix.searcher()  # BM25F(B=0.75, K1=1.2), Whoosh's default

    def run(queries: dict[str, str]) -> Run:
        out: Run = {}
        for qid, text in queries.items():
            hits = searcher.search(parser.parse(clean_query(text)), limit=DEPTH)
            out[qid] = [(hit["id"], hit.score) for hit in hits]
        return out

    return run, searcher.close


def build_fts5(docs_path: Path, docs: list[dict], folder: Path) -> System:
    db = sqlite3.connect(folder / "fts5.db")
    db.execute(FTS5_TABLE)
    with db:
        db.executemany(
            "INSERT INTO docs (id, title, body) VALUES (?, ?, ?)",
            ((d["id"], d.get("title", ""), d.get("body", "")) for d in docs),
        )
    sql = "SELECT id, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"

    def run(queries: dict[str, str]) -> Run:
        out: Run = {}
        for qid, text in queries.items():
            match = fts5_match(text)
            if match is None:
                out[qid] = []
                continue
            # bm25() is lower-is-better (negative); the run keeps rank order.
            out[qid] = [(doc_id, -score) for doc_id, score in db.execute(sql, (match, DEPTH))]
        return out

    return run, db.close


def build_tantivy(docs_path: Path, docs: list[dict], folder: Path, *, stored: bool = False) -> System:
    """tantivy's index of ``docs`` in ``folder`` (title and body kept only if ``stored``:
    ``bench_query`` shows snippets, this benchmark only ranks)."""
    import tantivy

    index = tantivy.Index(tantivy_schema(stored=stored), path=str(folder))
    index.register_tokenizer(TANTIVY_TOKENIZER, tantivy_analyzer())
    writer = index.writer()
    for doc in docs:
        writer.add_document(
            tantivy.Document(id=doc["id"], title=doc.get("title", ""), body=doc.get("body", ""))
        )
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    if searcher.num_docs != len(docs):
        log(f"WARNING: tantivy indexed {searcher.num_docs} documents of {len(docs)}")
    lenient = {"count": 0}

    def run(queries: dict[str, str]) -> Run:
        out: Run = {}
        for qid, text in queries.items():
            cleaned = clean_query(text)
            if not cleaned.strip():
                out[qid] = []
                continue
            try:
                query = index.parse_query(cleaned, ["title", "body"])
            except ValueError:  # should not happen after clean_query; counted if it does
                lenient["count"] += 1
                query, _ = index.parse_query_lenient(cleaned, ["title", "body"])
            hits = searcher.search(query, DEPTH, count=False).hits
            out[qid] = [(searcher.doc(address)["id"][0], score) for score, address in hits]
        if lenient["count"]:
            log(f"  tantivy: {lenient['count']} queries needed parse_query_lenient so far")
        return out

    return run, lambda: None


BUILDERS = {
    "searchsvc": build_searchsvc,
    "whoosh-stock": build_whoosh_stock,
    "sqlite-fts5": build_fts5,
    "tantivy": build_tantivy,
}


# --------------------------------------------------------------------------


def bench_collection(
    folder: Path, systems: list[str], limit: int | None, tmp_root: str | None
) -> dict:
    docs_path = folder / "docs.jsonl"
    if not docs_path.exists() and folder.name in SHARED_DOCS:
        docs_path = folder.parent / SHARED_DOCS[folder.name]
    queries = load_queries(folder / "queries.jsonl")
    qrels = load_qrels(folder / "qrels.tsv")
    judged = {qid: text for qid, text in queries.items() if qid in qrels}
    if limit:
        judged = dict(list(judged.items())[:limit])
    qrels = {qid: qrels[qid] for qid in judged}
    unaccented = strip_accents_from(judged)
    changed = sum(unaccented[q] != judged[q] for q in judged)
    docs = read_docs(docs_path)
    log(
        f"{folder.name}: {len(docs)} docs, {len(judged)} judged queries ({changed} change without accents)"
    )

    rows = {}
    for name in systems:
        with tempfile.TemporaryDirectory(prefix=f"bench_relevance_{name}_", dir=tmp_root) as tmp:
            log(f"  {name}: building…")
            started = time.perf_counter()
            run, close = BUILDERS[name](docs_path, docs, Path(tmp))
            build_s = time.perf_counter() - started
            log(f"  {name}: built in {build_s:.1f} s; running {len(judged)} queries…")
            started = time.perf_counter()
            evaluation = score_run(run(judged), qrels)
            query_s = time.perf_counter() - started  # includes score_run (well under a second)
            log(f"  {name}: ran in {query_s:.1f} s; running them without accents…")
            started = time.perf_counter()
            plain = score_run(run(unaccented), qrels)
            plain_s = time.perf_counter() - started
            close()
        ndcg, ndcg_plain = evaluation.means["ndcg@10"], plain.means["ndcg@10"]
        rows[name] = {
            **{k: round(v, 4) for k, v in evaluation.means.items()},
            "ndcg@10_no_accents": round(ndcg_plain, 4),
            "mrr@10_no_accents": round(plain.means["mrr@10"], 4),
            "recall@100_no_accents": round(plain.means["recall@100"], 4),
            "drop": round(ndcg - ndcg_plain, 4),
            "drop_pct": round(100 * (ndcg - ndcg_plain) / ndcg, 2) if ndcg else 0.0,
            "build_s": round(build_s, 2),
            "query_s": round(query_s, 2),
            "query_no_accents_s": round(plain_s, 2),
            "ms_per_query": round(1000 * query_s / len(judged), 2),
        }
        log(f"  {name}: nDCG@10 {ndcg:.4f}, without accents {ndcg_plain:.4f}")
    return {
        "collection": folder.name,
        "documents": len(docs),
        "queries": len(judged),
        "queries_changed_without_accents": changed,
        "systems": rows,
    }


def markdown(result: dict) -> str:
    lines = [
        f"### {result['collection']}: {result['documents']:,} docs, {result['queries']:,} judged queries "
        f"({result['queries_changed_without_accents']:,} change without accents)",
        "",
        "| system       | nDCG@10 | MRR@10 |  R@100 | nDCG@10 (no accents) |           drop | build s | queries s | ms/query |",
        "|--------------|--------:|-------:|-------:|---------------------:|---------------:|--------:|----------:|---------:|",
    ]
    for name, r in result["systems"].items():
        drop = f"{r['drop']:.3f} ({r['drop_pct']:4.1f}%)"
        lines.append(
            f"| {name:<12} | {r['ndcg@10']:7.3f} | {r['mrr@10']:6.3f} | {r['recall@100']:6.3f} "
            f"| {r['ndcg@10_no_accents']:20.3f} | {drop:>14} | {r['build_s']:7.1f} "
            f"| {r['query_s']:9.1f} | {r['ms_per_query']:8.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding the collections")
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"subset of {','.join(SYSTEMS)}"
    )
    parser.add_argument(
        "--limit", type=int, help="only the first N judged queries of each collection"
    )
    parser.add_argument("--tmp", help="where to put the temporary indexes (default: the system's)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in BUILDERS]
    if unknown:
        parser.error(f"unknown system(s) {', '.join(unknown)}; choose among {', '.join(SYSTEMS)}")
    if "sqlite-fts5" in systems and not fts5_available():
        log(f"sqlite {sqlite3.sqlite_version} has no FTS5: skipping sqlite-fts5")
        systems.remove("sqlite-fts5")
    if "tantivy" in systems and not tantivy_available():
        log("tantivy is not installed (pip install -e '.[bench]'): skipping it")
        systems.remove("tantivy")

    results = []
    for name in [c.strip() for c in args.collections.split(",") if c.strip()]:
        folder = (args.data / name).resolve()
        shared = folder.parent / SHARED_DOCS[name] if name in SHARED_DOCS else None
        if not (folder / "docs.jsonl").is_file() and not (shared and shared.is_file()):
            parser.error(f"no docs.jsonl in {folder}" + (f" nor {shared}" if shared else ""))
        results.append(bench_collection(folder, systems, args.limit, args.tmp))

    info = versions("whoosh-reloaded", "tantivy", "ir-measures", "searchsvc")
    if args.json:
        print(json.dumps({"versions": info, "limit": args.limit, "collections": results}, indent=2))
        return 0
    for result in results:
        print(markdown(result))
        print()
    print(
        "top 100 per query; metrics over all judged queries (searchsvc.ops.evaluation.score_run); "
        "drop = nDCG@10 − nDCG@10 with accents stripped from the queries"
    )
    print(", ".join(f"{k} {v}" for k, v in info.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
