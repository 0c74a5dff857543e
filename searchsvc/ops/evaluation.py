"""Relevance you can measure: run judged queries through the search path, score the rankings.

Queries and judgments in the formats of ``../shared/data/piaf_retrieval/``:

* queries: JSON Lines ``{"id", "text"}`` (or TSV ``id<TAB>text``);
* qrels: TSV ``query_id<TAB>doc_id<TAB>relevance``, or TREC's
  ``query_id 0 doc_id relevance``.

Every query goes through :func:`searchsvc.search.searching.search`, the JSON endpoint's
own path (parsing, typo tolerance, ranking), without rendering snippets. The
metrics come from ir-measures (pytrec_eval underneath): nDCG@10, MRR@10 and
Recall@100, averaged over **all** judged queries, a query that returns
nothing counting as 0 (pytrec_eval alone would leave it out of the mean).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ir_measures
from ir_measures import RR, R, nDCG
from whoosh.searching import Searcher

from ..errors import QueryError
from ..search.recency import Recency
from ..search.searching import SearchRequest, search
from ..text.normalize import strip_accents
from ..text.synonyms import Synonyms

MEASURES = {"ndcg@10": nDCG @ 10, "mrr@10": RR @ 10, "recall@100": R @ 100}
DEPTH = 100


class EvaluationInputError(QueryError):
    """A queries or qrels file that cannot be read; the message names the file and line."""

    code = "bad_evaluation_input"


def load_queries(path: str | Path) -> dict[str, str]:
    """``{query_id: text}`` from JSON Lines ``{"id", "text"}`` or TSV ``id<TAB>text``."""
    queries: dict[str, str] = {}
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                if line.lstrip().startswith("{"):
                    data = json.loads(line)
                    qid, text = str(data["id"]), str(data["text"])
                else:
                    qid, text = line.rstrip("\n").split("\t", 1)
            except (ValueError, KeyError, TypeError) as e:
                raise EvaluationInputError(f"{path}:{number}: not a query ({e})") from None
            queries[qid] = text
    if not queries:
        raise EvaluationInputError(f"{path}: no queries")
    return queries


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: relevance}}`` from ``qid<TAB>docid<TAB>rel`` or TREC ``qid 0 docid rel``."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                if len(parts) == 4:
                    qid, _, docid, rel = parts
                elif len(parts) == 3:
                    qid, docid, rel = parts
                else:
                    raise ValueError(f"expected 3 or 4 columns, got {len(parts)}")
                qrels.setdefault(qid, {})[docid] = int(rel)
            except ValueError as e:
                raise EvaluationInputError(f"{path}:{number}: not a judgment ({e})") from None
    if not qrels:
        raise EvaluationInputError(f"{path}: no judgments")
    return qrels


def run_queries(
    searcher: Searcher,
    queries: dict[str, str],
    depth: int = DEPTH,
    synonyms: Synonyms | None = None,
    recency: Recency | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """The top ``depth`` (doc_id, score) of each query, through the search path
    (with the site's ``synonyms`` and ``recency``, if any, as the service applies them)."""
    run = {}
    for qid, text in queries.items():
        try:
            page = search(
                searcher, SearchRequest(q=text, per_page=depth), render=False, synonyms=synonyms, recency=recency
            )
        except QueryError:  # an empty or over-long query: no results, as for a reader
            run[qid] = []
            continue
        run[qid] = [(hit.id, hit.score) for hit in page.hits]
    return run


@dataclass
class Evaluation:
    """Mean metrics over all judged queries, and each query's own."""

    means: dict[str, float]
    queries: int
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self, per_query: bool = False) -> dict:
        data: dict = {**{k: round(v, 4) for k, v in self.means.items()}, "queries": self.queries}
        if per_query:
            data["per_query"] = self.per_query
        return data


def score_run(run: dict[str, list[tuple[str, float]]], qrels: dict[str, dict[str, int]]) -> Evaluation:
    """nDCG@10, MRR@10 and Recall@100 of ``run``, averaged over every query in ``qrels``."""
    judged = list(qrels)
    per_query: dict[str, dict[str, float]] = {qid: dict.fromkeys(MEASURES, 0.0) for qid in judged}
    scored_docs = [
        ir_measures.ScoredDoc(qid, docid, float(len(ranked) - rank))  # rank order, ties impossible
        for qid, ranked in run.items()
        if qid in qrels
        for rank, (docid, _) in enumerate(ranked)
    ]
    qrel_rows = [ir_measures.Qrel(qid, docid, rel) for qid, docs in qrels.items() for docid, rel in docs.items()]
    names = {measure: name for name, measure in MEASURES.items()}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), qrel_rows, scored_docs):
        per_query[metric.query_id][names[metric.measure]] = float(metric.value)
    means = {name: sum(q[name] for q in per_query.values()) / len(judged) for name in MEASURES}
    return Evaluation(means=means, queries=len(judged), per_query=per_query)


def evaluate(
    searcher: Searcher,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    synonyms: Synonyms | None = None,
    recency: Recency | None = None,
) -> Evaluation:
    """Run the judged queries (those in both files) and score them."""
    judged = {qid: text for qid, text in queries.items() if qid in qrels}
    if not judged:
        raise EvaluationInputError("no query id appears in both the queries and the qrels")
    run = run_queries(searcher, judged, synonyms=synonyms, recency=recency)
    return score_run(run, {qid: qrels[qid] for qid in judged})


def strip_accents_from(queries: dict[str, str]) -> dict[str, str]:
    """The same queries as typed without accents (what many readers do)."""
    return {qid: strip_accents(text) for qid, text in queries.items()}


__all__: Iterable[str] = [
    "Evaluation", "EvaluationInputError", "evaluate", "load_qrels", "load_queries", "run_queries",
    "score_run", "strip_accents_from",
]  # fmt: skip
