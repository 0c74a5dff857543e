"""Ordering matches: relevance (BM25F, all words before some) or date.

A query's top-level clauses are its "words" (a plain word in title or body,
a phrase, an expanded prefix…). Documents holding every clause come first,
then those holding some, each group ordered by score: a reader who typed
three words expects the articles with all three on top, yet a question with
a word no article holds still gets its best partial matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from .clauses import clauses
from .facets import DocFilter, facet_counts, filter_candidates, selected_only
from .parsing import ParsedQuery
from .scoring import VectorScorer, top
from .weighting import WEIGHTING

#: Documents holding every word of the query before those holding some.
ALL_WORDS_FIRST = True


@dataclass
class Ranking:
    """What :func:`rank_and_count` found: the best ``(docnum, score)`` pairs in
    order, how many documents pass, and the facet counts (when asked)."""

    hits: list[tuple[int, float]]
    total: int
    #: {"source": [(name, count)…] by count, then name; "year": [(year, count)…]
    #: newest first}: every value holding a match, and every value filtered on.
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: {"source": [], "year": []})


def rank(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    doc_filter: DocFilter | None = None,
    sort: str = "relevance",
) -> tuple[list[tuple[int, float]], int]:
    """The first ``depth`` (docnum, relevance score) pairs in order, and the total count."""
    ranking = rank_and_count(searcher, parsed, depth, doc_filter, sort, facets=False)
    return ranking.hits, ranking.total


def rank_and_count(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    doc_filter: DocFilter | None = None,
    sort: str = "relevance",
    *,
    facets: bool = True,
) -> Ranking:
    """The first ``depth`` (docnum, relevance score) pairs in order, the total
    count and (with ``facets``) the counts by source and year.

    Each clause is scored once over the whole index (:mod:`.scoring`); the
    documents holding every clause come first. The pair bonus reorders the
    best :data:`BONUS_DEPTH` of each group.
    """
    q = parsed.query
    if q is wq.NullQuery:
        return Ranking([], 0, selected_only(doc_filter))
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
    matched &= scorer.arrays.live
    candidates = np.flatnonzero(matched)
    passing = filter_candidates(scorer, candidates, doc_filter)
    counts = facet_counts(scorer, candidates, passing, doc_filter) if facets else {"source": [], "year": []}
    kept = passing.all_but()
    docnums = candidates if kept is None else candidates[kept]
    total = len(docnums)
    if sort == "date":
        day = scorer.arrays.day(scorer.reader)[docnums]
        order = np.lexsort((docnums, -scores[docnums], -day))[:depth]
        return Ranking([(int(d), float(scores[d])) for d in docnums[order]], total, counts)

    strict = None
    if ALL_WORDS_FIRST and len(parts) >= 2 and optional:
        strict = docnums[np.logical_and.reduce([p.matched[docnums] for p in parts])]
    wanted = max(depth, BONUS_DEPTH) if parsed.bonus is not None else depth
    best = top(scores, docnums, wanted)
    first = top(scores, strict, wanted) if strict is not None else best[:0]
    if parsed.bonus is not None:
        within = np.union1d(best, first)
        bonus = scorer.evaluate_within(parsed.bonus, within)
        best, first = _rerank(best, scores + bonus), _rerank(first, scores + bonus)
        scores = scores + bonus
    seen = set(first.tolist())
    ordered = first.tolist() + [d for d in best.tolist() if d not in seen]
    return Ranking([(d, float(scores[d])) for d in ordered[:depth]], total, counts)


#: How many of the best matches the pair bonus may reorder.
BONUS_DEPTH = 100


def _rerank(docnums: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return docnums[np.lexsort((docnums, -scores[docnums]))]
