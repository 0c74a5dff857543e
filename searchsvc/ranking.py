"""Ordering matches: relevance (BM25F, all words before some) or date.

A query's top-level clauses are its "words" (a plain word in title or body,
a phrase, an expanded prefix…). Documents holding every clause come first,
then those holding some, each group ordered by score: a reader who typed
three words expects the articles with all three on top, yet a question with
a word no article holds still gets its best partial matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher

from .query import Clauses, ParsedQuery
from .scoring import VectorScorer, bm25_idf, top


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
        self.idf = bm25_idf(parent, fieldname, text)
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


@dataclass(frozen=True)
class DocFilter:
    """What a reader narrowed the search to: a source, a range of days (YYYYMMDD)."""

    source: str | None = None
    day_from: int | None = None
    day_to: int | None = None

    def __bool__(self) -> bool:
        return bool(self.source or self.day_from or self.day_to)


def _allowed(scorer: VectorScorer, doc_filter: DocFilter | None) -> np.ndarray:
    """Live documents passing the filter."""
    allowed = scorer.arrays.live.copy()
    if doc_filter:
        if doc_filter.source:
            allowed &= scorer.evaluate(wq.Term("source", doc_filter.source)).matched
        if doc_filter.day_from or doc_filter.day_to:
            day = scorer.arrays.day(scorer.reader)
            allowed &= day > 0
            if doc_filter.day_from:
                allowed &= day >= doc_filter.day_from
            if doc_filter.day_to:
                allowed &= day <= doc_filter.day_to
    return allowed


def rank(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    doc_filter: DocFilter | None = None,
    sort: str = "relevance",
) -> tuple[list[tuple[int, float]], int]:
    """The first ``depth`` (docnum, relevance score) pairs in order, and the total count.

    Each clause is scored once over the whole index (:mod:`.scoring`); the
    documents holding every clause come first. The pair bonus reorders the
    best :data:`BONUS_DEPTH` of each group.
    """
    q = parsed.query
    if q is wq.NullQuery:
        return [], 0
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    required, optional, excluded = clauses(q)
    parts = [scorer.evaluate(c) for c in required + optional]
    scores = np.zeros(scorer.n)
    for part in parts:
        scores += np.where(part.matched, part.scores, 0.0)
    if required:
        matched = np.logical_and.reduce([p.matched for p in parts[: len(required)]])
    else:
        matched = np.logical_or.reduce([p.matched for p in parts])
    if excluded is not None:
        matched &= ~scorer.evaluate(excluded).matched
    matched &= _allowed(scorer, doc_filter)
    docnums = np.flatnonzero(matched)
    total = len(docnums)
    if sort == "date":
        day = scorer.arrays.day(scorer.reader)[docnums]
        order = np.lexsort((docnums, -scores[docnums], -day))[:depth]
        return [(int(d), float(scores[d])) for d in docnums[order]], total

    strict = None
    if ALL_WORDS_FIRST and len(parts) >= 2 and optional:
        strict = np.logical_and.reduce([p.matched for p in parts]) & matched
    candidates = max(depth, BONUS_DEPTH) if parsed.bonus is not None else depth
    best = top(scores, docnums, candidates)
    first = top(scores, np.flatnonzero(strict), candidates) if strict is not None else best[:0]
    if parsed.bonus is not None:
        within = np.union1d(best, first)
        bonus = scorer.evaluate_within(parsed.bonus, within)
        best, first = _rerank(best, scores + bonus), _rerank(first, scores + bonus)
        scores = scores + bonus
    seen = set(first.tolist())
    ordered = first.tolist() + [d for d in best.tolist() if d not in seen]
    return [(d, float(scores[d])) for d in ordered[:depth]], total


#: How many of the best matches the pair bonus may reorder.
BONUS_DEPTH = 100


def _rerank(docnums: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return docnums[np.lexsort((docnums, -scores[docnums]))]
