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

from . import closeness, contrast, dates, pruning
from .clauses import clauses
from .facets import DocFilter, facet_counts, filter_candidates, selected_only
from .parsing import ParsedQuery
from .recency import Recency
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
    #: "eq": ``total`` is exact; "gte": it is a lower bound (at least
    #: :data:`~.limits.TRACK_TOTAL_HITS`), as Elasticsearch says.
    total_relation: str = "eq"
    #: The same for the facet counts: each exact, or each a lower bound.
    facets_relation: str = "eq"


def rank(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    doc_filter: DocFilter | None = None,
    sort: str = "relevance",
    recency: Recency | None = None,
) -> tuple[list[tuple[int, float]], int]:
    """The first ``depth`` (docnum, relevance score) pairs in order, and the total count."""
    ranking = rank_and_count(searcher, parsed, depth, doc_filter, sort, facets=False, recency=recency)
    return ranking.hits, ranking.total


def rank_and_count(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    doc_filter: DocFilter | None = None,
    sort: str = "relevance",
    *,
    facets: bool = True,
    prune: bool = True,
    recency: Recency | None = None,
) -> Ranking:
    """The first ``depth`` (docnum, relevance score) pairs in order, the total
    count and (with ``facets``) the counts by source and year.

    A query with a word in at least :data:`~.limits.TRACK_TOTAL_HITS` live
    articles is ranked by :mod:`.pruning` (the same hits, fewer postings
    read; the total and facets are then lower bounds); any other, or any
    with ``prune`` off, is scored exhaustively: each clause once, over its
    postings only (:mod:`.scoring`). Either way, the documents holding every
    clause come first, and the pair bonus, the words rare among the best
    candidates (:mod:`.contrast`), ``recency`` when set (:mod:`.recency`),
    the closeness of meaning (:mod:`.closeness`) and a weekday or month
    named (:mod:`.dates`) reorder the best
    :data:`BONUS_DEPTH` of each group.
    """
    q = parsed.query
    if q is wq.NullQuery:
        return Ranking([], 0, selected_only(doc_filter))
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    required, optional, excluded = clauses(q)
    excluded_ids = scorer.evaluate(excluded).ids if excluded is not None else None
    # What reorders the best candidates: worked out once, for either path.
    blends = _blends(scorer, parsed, recency, required + optional) if sort == "relevance" else _Blends()
    if prune and sort == "relevance" and optional and not required:
        pruned = _pruned(scorer, parsed, optional, excluded_ids, depth, doc_filter, facets, blends)
        if pruned is not None:
            return pruned
    parts = required + optional
    ids, scores, hits, held_required = _score_clauses(scorer, parts, len(required))
    if required:
        keep = held_required == len(required)
        ids, scores, hits = ids[keep], scores[keep], hits[keep]
    if excluded_ids is not None:
        out, _ = positions_in(excluded_ids, ids)
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

    wanted = max(depth, BONUS_DEPTH) if parsed.bonus is not None or blends else depth
    best = _best_of((candidates, scores), wanted)
    first = None
    if ALL_WORDS_FIRST and len(parts) >= 2 and optional:
        strict = hits == len(parts)
        first = _best_of((candidates[strict], scores[strict]), wanted)
    return Ranking(_in_order(scorer, parsed.bonus, depth, best, first, blends), total, counts)


@dataclass(frozen=True)
class _Blends:
    """What reorders the best candidates besides the pair bonus."""

    recency: Recency | None = None
    #: The query's vector (:mod:`.closeness`).
    meaning: np.ndarray | None = None
    #: The weekdays and months it names (:mod:`.dates`).
    named: dates.NamedDays | None = None
    #: The clauses whose rarity among the candidates counts (:mod:`.contrast`).
    contrasted: tuple[wq.Query, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.recency) or self.meaning is not None or bool(self.named) or bool(self.contrasted)


def _blends(scorer: VectorScorer, parsed: ParsedQuery, recency: Recency | None, parts: list[wq.Query]) -> _Blends:
    """The blends of a query ranked by relevance: the query's vector, the
    weekdays and months it names (with an index that has dates), its
    clauses (``parts``) when they are several."""
    named = dates.days_named(parsed.text, parsed.excluded) if "day" in scorer.searcher.schema else None
    contrasted = tuple(parts) if contrast.WEIGHT and len(parts) >= 2 else ()
    return _Blends(recency, closeness.query_meaning(scorer, parsed), named or None, contrasted)


def _pruned(
    scorer: VectorScorer,
    parsed: ParsedQuery,
    parts: list[wq.Query],
    excluded_ids: np.ndarray | None,
    depth: int,
    doc_filter: DocFilter | None,
    facets: bool,
    blends: _Blends,
) -> Ranking | None:
    """:func:`rank_and_count` for a query of optional words, one of them in at
    least :data:`~.limits.TRACK_TOTAL_HITS` admitted articles; ``None`` when
    that is not so or no threshold is found. ``excluded_ids``: the documents
    of the excluded words (sorted), if any."""
    admit = pruning.admitter(scorer, doc_filter, excluded_ids)
    leaves = [leaf for part in parts for leaf in pruning.leaves_of(part)]
    bound = pruning.lower_bound(scorer, leaves, admit, bool(doc_filter) or excluded_ids is not None)
    if bound is None:
        return None
    wanted = max(depth, BONUS_DEPTH) if parsed.bonus is not None or blends else depth
    strict = first = None
    best: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.int64), np.zeros(0))
    holding = depth  # documents holding every word, when told apart
    if ALL_WORDS_FIRST and len(parts) >= 2:
        docs, scores, rarest = pruning.holding_all(scorer, parts, admit)
        holding = len(docs)
        strict = pruning.best_within(scorer, parts, docs, wanted, read=(rarest, scores))
        first = _best_of(strict, wanted)
    if holding < depth or strict is None:  # else the page holds only documents with every word
        found = pruning.best(scorer, parts, wanted, admit, known=strict)
        if found is None:
            return None
        best = _best_of(found, wanted)
    counts = bound.facets(scorer, doc_filter, excluded_ids) if facets else {"source": [], "year": []}
    hits = _in_order(scorer, parsed.bonus, depth, best, first, blends)
    return Ranking(hits, bound.count, counts, total_relation="gte", facets_relation="gte")


def _best_of(matches: tuple[np.ndarray, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of (docnums, scores), best first."""
    docs, scores = matches
    index = top(docs, scores, k)
    return docs[index], scores[index]


def _in_order(
    scorer: VectorScorer,
    bonus: wq.Query | None,
    depth: int,
    best: tuple[np.ndarray, np.ndarray],
    first: tuple[np.ndarray, np.ndarray] | None,
    blends: _Blends | None = None,
) -> list[tuple[int, float]]:
    """The page's ``depth`` hits: those holding every word (``first``) before
    the others (``best``), each group reordered once the pair bonus is added,
    the clauses rare among those holding some words raised (``contrasted``:
    :mod:`.contrast`),
    the scores blended with the articles' dates (``recency``), and shares of
    the best score added for their closeness to the query's vector
    (``meaning``: :mod:`.closeness`) and for a weekday or month it names
    (``named``: :mod:`.dates`)."""
    blends = blends or _Blends()
    if first is None:
        first = (best[0][:0], best[1][:0])
    if bonus is not None or blends:
        within = np.union1d(best[0], first[0])
        extra = scorer.evaluate_within(bonus, within) if bonus is not None else np.zeros(len(within))
        factor = np.ones(len(within))
        if blends.recency:
            days = scorer.arrays.day(scorer.reader)[within]
            factor = blends.recency.factors(days, scorer.arrays.newest_day(scorer.reader))
        at_best, at_first = np.searchsorted(within, best[0]), np.searchsorted(within, first[0])
        best_scores = (best[1] + extra[at_best]) * factor[at_best]
        first_scores = (first[1] + extra[at_first]) * factor[at_first]
        top = max(best_scores.max(initial=0.0), first_scores.max(initial=0.0))
        if blends.contrasted:  # not among those holding every word: each holds every clause
            best_scores = best_scores + _contrast(scorer, blends.contrasted, best[0]) * factor[at_best]
        gains = np.zeros(len(within))  # shares of the best score
        if blends.meaning is not None and len(within):
            gains += closeness.gains(scorer, within, blends.meaning)
        if blends.named:
            gains += blends.named.gains(scorer.arrays.day(scorer.reader)[within])
        if gains.any():
            best_scores = best_scores + top * gains[at_best]
            first_scores = first_scores + top * gains[at_first]
        best = _rerank(best[0], best_scores)
        first = _rerank(first[0], first_scores)
    seen = set(first[0].tolist())
    ordered = list(zip(first[0].tolist(), first[1].tolist(), strict=True))
    ordered += [(d, s) for d, s in zip(best[0].tolist(), best[1].tolist(), strict=True) if d not in seen]
    return [(int(d), float(s)) for d, s in ordered[:depth]]


def _contrast(scorer: VectorScorer, clauses: tuple[wq.Query, ...], docs: np.ndarray) -> np.ndarray:
    """:func:`.contrast.gains` of ``docs`` (in any order), aligned with them."""
    order = np.argsort(docs)
    gained = np.zeros(len(docs))
    gained[order] = contrast.gains(scorer, list(clauses), docs[order])
    return gained


def _score_clauses(
    scorer: VectorScorer, parts: list[wq.Query], required: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every document some clause matches (sorted), its summed score, how
    many clauses it holds, and how many of the first ``required`` ones.

    Scored into the thread's dense accumulators (a bit per clause, 32 at a
    time: the counts of a wider query are folded in after each 32), then read
    back and cleared."""
    dense, bits = scorer.arrays.scratch()
    held = held_required = None  # per-document counts, for queries of more than 32 clauses
    ids = None
    try:
        for start in range(0, len(parts), 32):
            for i, clause in enumerate(parts[start : start + 32]):
                scorer.accumulate(clause, dense, bits, 1 << i)
            if len(parts) > 32:
                if held is None:
                    held = np.zeros(scorer.n, dtype=np.int16)
                    held_required = np.zeros(scorer.n, dtype=np.int16)
                touched = np.flatnonzero(bits)
                group = bits[touched]
                held[touched] += np.bitwise_count(group)
                held_required[touched] += np.bitwise_count(group & _low_bits(required - start))
                bits[touched] = 0
        if held is None:
            ids = np.flatnonzero(bits)
            group = bits[ids]
            return ids, dense[ids], np.bitwise_count(group), np.bitwise_count(group & _low_bits(required))
        ids = np.flatnonzero(held)
        return ids, dense[ids], held[ids], held_required[ids]
    finally:  # the slots used, back to zero for the next query (all of them, after an error)
        if ids is None:
            used = bits != 0
            if held is not None:
                used |= held != 0
            ids = np.flatnonzero(used)
        dense[ids] = 0
        bits[ids] = 0


def _low_bits(count: int) -> int:
    """The mask of the first ``count`` bits of 32 (none when ``count`` <= 0)."""
    return (1 << max(0, min(count, 32))) - 1


#: How many of the best matches the pair bonus may reorder.
BONUS_DEPTH = 100


def _rerank(docs: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``docs`` by score again, then docnum."""
    order = np.lexsort((docs, -scores))
    return docs[order], scores[order]
