"""Ordering matches: relevance (BM25F, all words before some) or date.

A query's top-level clauses are its "words" (a plain word in title or body,
a phrase, an expanded prefix…). Documents holding every clause come first,
then those holding some, each group ordered by score: a reader who typed
three words expects the articles with all three on top, yet a question with
a word no article holds still gets its best partial matches.
"""

from __future__ import annotations

import math

from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher

from .query import Clauses, ParsedQuery


class TunedBM25(scoring.WeightingModel):
    """BM25 with the Robertson idf (as Lucene and SQLite FTS5 use it) instead of
    Whoosh's ``log(N / (n + 1)) + 1``, and parameters tuned on French
    question-paragraph collections (see the README's relevance section)."""

    def __init__(self, k1: float = 0.9, b: float = 0.5) -> None:
        self.k1, self.b = k1, b

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return _TunedBM25Scorer(searcher, fieldname, text, self.k1, self.b)


class _TunedBM25Scorer(scoring.WeightLengthScorer):
    def __init__(self, searcher, fieldname, text, k1, b):
        parent = searcher.get_parent()  # collection statistics, not a segment's
        n, total = parent.doc_frequency(fieldname, text), parent.doc_count_all()
        self.idf = max(1e-6, math.log((total - n + 0.5) / (n + 0.5)))
        self.avgfl = parent.avg_field_length(fieldname) or 1
        self.k1, self.b = k1, b
        self.setup(searcher, fieldname, text)

    def _score(self, weight, length):
        norm = self.k1 * (1 - self.b + self.b * length / self.avgfl)
        return self.idf * weight * (self.k1 + 1) / (weight + norm)


WEIGHTING = TunedBM25()

#: Documents holding every word of the query before those holding some.
ALL_WORDS_FIRST = True


def clauses(q: wq.Query) -> tuple[list[wq.Query], list[wq.Query], wq.Query | None]:
    """Split ``q`` into (required, optional, excluded) top-level clauses."""
    excluded = None
    if isinstance(q, wq.AndNot):
        q, excluded = q.a, q.b
    if isinstance(q, wq.AndMaybe):
        required, optional = clauses(q.a)[0] or [q.a], clauses(q.b)[1] or [q.b]
        return required, optional, excluded
    if isinstance(q, wq.And):
        return list(q.subqueries), [], excluded
    if isinstance(q, Clauses):
        return [], list(q.subqueries), excluded
    if isinstance(q, wq.Or):  # flattened by Whoosh (after + or -): one word per text
        return [], _words_of(q), excluded
    return [], [q], excluded


def _words_of(q: wq.Or) -> list[wq.Query]:
    """Regroup a flat OR's terms by text: ``title:w OR body:w`` is one word."""
    groups: dict[object, list[wq.Query]] = {}
    for sub in q.subqueries:
        key = sub.text if isinstance(sub, wq.Term) else id(sub)
        groups.setdefault(key, []).append(sub)
    return [subs[0] if len(subs) == 1 else wq.Or(subs) for subs in groups.values()]


def all_words_query(q: wq.Query) -> wq.Query | None:
    """The same query with every clause required, or ``None`` when that is ``q``."""
    required, optional, excluded = clauses(q)
    if len(optional) + len(required) < 2 or not optional:
        return None
    strict: wq.Query = wq.And(required + optional)
    if excluded is not None:
        strict = wq.AndNot(strict, excluded)
    return strict


def rank(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    filter_query: wq.Query | None,
    sort: str = "relevance",
) -> tuple[list[tuple[int, float]], int]:
    """The first ``depth`` (docnum, score) pairs in order, and the total count."""
    q = parsed.query
    if q is wq.NullQuery:
        return [], 0
    searcher = searcher if searcher.weighting is WEIGHTING else _with_weighting(searcher)
    if sort == "date":
        results = searcher.search(q, limit=depth, filter=filter_query, sortedby="day", reverse=True)
        return [(hit.docnum, 0.0) for hit in results], len(results)

    strict = all_words_query(q) if ALL_WORDS_FIRST else None
    candidates = max(depth, BONUS_DEPTH) if parsed.bonus is not None else depth
    results = searcher.search(q, limit=candidates, filter=filter_query)
    total = len(results)
    scored = [(hit.docnum, hit.score) for hit in results]
    first: list[tuple[int, float]] = []
    if strict is not None:
        first = [(hit.docnum, hit.score) for hit in searcher.search(strict, limit=candidates, filter=filter_query)]
    if parsed.bonus is not None:
        bonus = _scores_of(searcher, parsed.bonus, {d for d, _ in scored} | {d for d, _ in first})
        scored = _add(scored, bonus)
        first = _add(first, bonus)
    seen = {docnum for docnum, _ in first}
    ordered = first + [(docnum, score) for docnum, score in scored if docnum not in seen]
    return ordered[:depth], total


#: How many of the best matches the pair bonus may reorder.
BONUS_DEPTH = 100


def _scores_of(searcher: Searcher, q: wq.Query, docnums: set[int]) -> dict[int, float]:
    """``q``'s scores for a few documents (a separate search restricted to them:
    Whoosh's AndMaybe over phrase matchers loses documents)."""
    if not docnums:
        return {}
    return {hit.docnum: hit.score for hit in searcher.search(q, limit=len(docnums), filter=docnums)}


def _add(scored: list[tuple[int, float]], extra: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(((d, s + extra.get(d, 0.0)) for d, s in scored), key=lambda pair: -pair[1])


def relevance_scores(searcher: Searcher, parsed: ParsedQuery, docnums: list[int]) -> dict[int, float]:
    """The relevance scores of a few documents (a page sorted by date)."""
    if not docnums or parsed.query is wq.NullQuery:
        return {}
    searcher = searcher if searcher.weighting is WEIGHTING else _with_weighting(searcher)
    return _scores_of(searcher, parsed.query, set(docnums))


def _with_weighting(searcher: Searcher) -> Searcher:
    """A searcher sharing ``searcher``'s reader but scoring with :data:`WEIGHTING`."""
    return Searcher(searcher.reader(), weighting=WEIGHTING, closereader=False, fromindex=searcher._ix)
