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
from .scoring import VectorScorer, positions_in, top
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

    Each clause is scored once, over its postings only (:mod:`.scoring`);
    the documents holding every clause come first. The pair bonus reorders the
    best :data:`BONUS_DEPTH` of each group.
    """
    q = parsed.query
    if q is wq.NullQuery:
        return Ranking([], 0, selected_only(doc_filter))
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    required, optional, excluded = clauses(q)
    parts = required + optional
    ids, scores, hits = _score_clauses(scorer, parts)
    if required:
        keep = hits & ((1 << len(required)) - 1) == (1 << len(required)) - 1  # bits 0… are the required
        ids, scores, hits = ids[keep], scores[keep], hits[keep]
    if excluded is not None:
        out, _ = positions_in(scorer.evaluate(excluded).ids, ids)
        ids, scores, hits = ids[~out], scores[~out], hits[~out]
    live = scorer.arrays.live[ids]
    candidates, scores, hits = ids[live], scores[live], hits[live]
    passing = filter_candidates(scorer, candidates, doc_filter)
    counts = facet_counts(scorer, candidates, passing, doc_filter) if facets else {"source": [], "year": []}
    kept = passing.all_but()
    if kept is not None:
        candidates, scores, hits = candidates[kept], scores[kept], hits[kept]
    total = len(candidates)
    if sort == "date":
        day = scorer.arrays.day(scorer.reader)[candidates]
        order = np.lexsort((candidates, -scores, -day))[:depth]
        return Ranking([(int(candidates[i]), float(scores[i])) for i in order], total, counts)

    wanted = max(depth, BONUS_DEPTH) if parsed.bonus is not None else depth
    best = top(candidates, scores, wanted)
    first = best[:0]
    if ALL_WORDS_FIRST and len(parts) >= 2 and optional:
        strict = np.flatnonzero(hits == (1 << len(parts)) - 1)
        first = strict[top(candidates[strict], scores[strict], wanted)]
    if parsed.bonus is not None:
        within = np.union1d(best, first)  # indexes into candidates, sorted as they are
        scores = scores.copy()
        scores[within] += scorer.evaluate_within(parsed.bonus, candidates[within])
        best, first = _rerank(best, candidates, scores), _rerank(first, candidates, scores)
    seen = set(first.tolist())
    ordered = first.tolist() + [i for i in best.tolist() if i not in seen]
    return Ranking([(int(candidates[i]), float(scores[i])) for i in ordered[:depth]], total, counts)


def _score_clauses(scorer: VectorScorer, parts: list[wq.Query]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every document some clause matches (sorted), its summed score, and the
    clauses it holds as bits (bit ``i``: ``parts[i]``). Scored into the
    thread's dense accumulators, then read back and cleared; queries of more
    clauses than the bits hold are merged sparsely."""
    if len(parts) > 32:
        matches = [scorer.evaluate(c) for c in parts]
        ids = np.unique(np.concatenate([m.ids for m in matches]))
        scores = np.zeros(len(ids))
        bits = np.zeros(len(ids), dtype=object)  # Python ints: any number of bits
        for i, m in enumerate(matches):
            found, at = positions_in(ids, m.ids)
            scores[at] += m.scores[found]
            bits[at] += 1 << i
        return ids, scores, bits
    dense, clause_bits = scorer.arrays.scratch()
    ids = None
    try:
        for i, clause in enumerate(parts):
            scorer.accumulate(clause, dense, clause_bits, 1 << i)
        ids = np.flatnonzero(clause_bits)
        return ids, dense[ids], clause_bits[ids].astype(np.int64)
    finally:  # the slots used, back to zero for the next query (all of them, after an error)
        touched = ids if ids is not None else np.flatnonzero(clause_bits)
        dense[touched] = 0
        clause_bits[touched] = 0


#: How many of the best matches the pair bonus may reorder.
BONUS_DEPTH = 100


def _rerank(index: np.ndarray, docnums: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``index`` (into ``docnums`` and ``scores``) by score again, then docnum."""
    return index[np.lexsort((docnums[index], -scores[index]))]
