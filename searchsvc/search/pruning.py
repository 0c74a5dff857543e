"""The best matches of a large query without scoring every posting.

A word found in a third of a million articles has 300,000 postings; scoring
them all to keep ten is most of what a query over a large archive costs.
This module finds the same best documents (rank-safe: the same ones, with
the same scores, as scoring everything) from far fewer postings, with the
ideas of MaxScore (Turtle and Flood, 1995; Lucene, tantivy, PISA):

- every leaf of the query (a term in a field, a phrase) has an upper bound:
  no document scores more than it for that leaf
  (:meth:`~.scoring.VectorScorer.upper_bound`);
- a threshold θ is found cheaply: the full scores of a few hundred likely
  documents (the best of the strongest term alone), the ``k``-th of which no
  true ``k``-th best can be below;
- leaves are scored over their whole posting lists in decreasing order of
  bound only until the bounds of those left sum to less than θ: a document
  none of them has read cannot reach the top ``k`` then, nor can one whose
  partial score plus those bounds stays under θ;
- the few candidates left get their full scores by looking them up in every
  list (:meth:`~.scoring.VectorScorer.within`), summed in the same order as
  the exhaustive scorer sums them, to the last bit.

The documents holding every word of the query ("all words first") are found
apart, by intersecting the words' lists from the rarest.

Counting: a query this path serves has a word in at least
:data:`~.limits.TRACK_TOTAL_HITS` live articles, so its total is that word's
count, a lower bound (``"gte"``, as Elasticsearch says past
``track_total_hits``), and its facets are that word's counts (lower bounds
too). Any other query is scored exhaustively by :mod:`.ranking`, with exact
totals and facets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq

from .facets import DocFilter, facet_counts, filter_candidates
from .limits import TRACK_TOTAL_HITS
from .postings import term_text
from .scoring import VectorScorer, positions_in, top

#: How many of the strongest term's documents are fully scored to set θ, per hit wanted.
POOL_PER_HIT = 2
#: Candidates few enough to score in full at once, per hit wanted.
FEW = 4
#: Looking candidates up costs about this many times reading a posting whole
#: (binary searches, positions): past it, every list is scored whole instead.
LOOKUP_COST = 4

Admit = Callable[[np.ndarray], np.ndarray]
Scored = tuple[np.ndarray, np.ndarray]  # sorted docnums, their scores


def leaves_of(q: wq.Query) -> list[wq.Query]:
    """The parts of ``q`` whose scores it sums (through plain ORs), in order."""
    if isinstance(q, wq.Or) and not q.minmatch and not q.scale:
        return [leaf for sub in q.subqueries for leaf in leaves_of(sub)]
    return [q]


def admitter(scorer: VectorScorer, doc_filter: DocFilter | None, excluded_ids: np.ndarray | None) -> Admit:
    """A function telling, of some sorted docnums, which are live, pass every
    filter and are not among ``excluded_ids`` (sorted): a mask over them."""
    live = scorer.arrays.live

    def admit(docs: np.ndarray) -> np.ndarray:
        mask = live[docs]
        if excluded_ids is not None and len(excluded_ids):
            out, _ = positions_in(excluded_ids, docs)
            mask &= ~out
        kept = filter_candidates(scorer, docs, doc_filter).all_but()
        return mask if kept is None else mask & kept

    return admit


@dataclass
class LowerBound:
    """A word every document of which matches the query, and how many of them
    are admitted: at least :data:`TRACK_TOTAL_HITS`."""

    ids: np.ndarray  # its postings' docnums, deleted documents included
    count: int

    def facets(
        self, scorer: VectorScorer, doc_filter: DocFilter | None, excluded_ids: np.ndarray | None
    ) -> dict[str, list[tuple[str, int]]]:
        """The word's facet counts: lower bounds of the query's."""
        docs = self.ids[scorer.arrays.live[self.ids]] if scorer.arrays.deleted else self.ids
        if excluded_ids is not None and len(excluded_ids):
            out, _ = positions_in(excluded_ids, docs)
            docs = docs[~out]
        return facet_counts(scorer, docs, filter_candidates(scorer, docs, doc_filter), doc_filter)


def lower_bound(
    scorer: VectorScorer, leaves: list[wq.Query], admit: Admit, filtered: bool
) -> LowerBound | None:
    """The term of the query matching the most admitted documents, if at
    least :data:`TRACK_TOTAL_HITS`. Without deletions, filters or excluded
    words (``filtered`` false), a list's length is its count: no reading."""
    lists = []
    for leaf in leaves:
        if type(leaf) is wq.Term and leaf.fieldname in scorer.reader.schema:
            lists.append(scorer.postings(leaf.fieldname, term_text(leaf.text))[0])
    for ids in sorted(lists, key=len, reverse=True):
        if len(ids) < TRACK_TOTAL_HITS:
            return None
        count = int(np.count_nonzero(admit(ids))) if filtered or scorer.arrays.deleted else len(ids)
        if count >= TRACK_TOTAL_HITS:
            return LowerBound(ids, count)
    return None


def full_scores(scorer: VectorScorer, parts: list[wq.Query], docs: np.ndarray) -> np.ndarray:
    """The query's scores of ``docs`` (sorted), its parts' lists looked up in
    the order the exhaustive scorer adds them: the same sums, to the last bit."""
    scores = np.zeros(len(docs))
    held = np.zeros(len(docs), dtype=bool)
    for part in parts:
        scorer.add_within(part, docs, held, scores)
    return scores


def holding_all(scorer: VectorScorer, parts: list[wq.Query], admit: Admit) -> tuple[np.ndarray, np.ndarray, int]:
    """The admitted documents holding every one of ``parts`` (sorted), the
    rarest part's scores for them, and which part that is: the rarest part's
    documents, checked against the others in turn."""
    rarest = min(range(len(parts)), key=lambda i: scorer.cost(parts[i]))
    m = scorer.evaluate(parts[rarest])
    ok = admit(m.ids)
    docs, scores = m.ids[ok].astype(np.int64), m.scores[ok]
    for i, part in enumerate(parts):
        if i == rarest or not len(docs):
            continue
        held, _ = scorer.within(part, docs, score=False)
        docs, scores = docs[held], scores[held]
    return docs, scores, rarest


def best_within(
    scorer: VectorScorer, parts: list[wq.Query], docs: np.ndarray, k: int, read: tuple[int, np.ndarray] | None = None
) -> Scored:
    """The ``k`` best of ``docs`` (sorted, every one a match) and their
    scores, with ties at the edge and maybe a few more. ``read``: a part
    already scored for them (its index, the scores)."""
    leaves, owner = _leaves(parts)
    bounds = np.array([scorer.upper_bound(leaf) for leaf in leaves])
    if len(docs) <= FEW * k or not np.isfinite(bounds).all():
        return docs, full_scores(scorer, parts, docs)
    partial = np.zeros(len(docs))
    unread = np.ones(len(leaves), dtype=bool)
    if read is not None:
        partial += read[1]
        unread &= owner != read[0]
    return _refine(scorer, parts, leaves, bounds, unread, docs, partial, k, None)


def best(
    scorer: VectorScorer, parts: list[wq.Query], k: int, admit: Admit, known: Scored | None = None
) -> Scored | None:
    """The ``k`` best admitted documents (sorted docnums, their scores: the
    same as exhaustive scoring's, plus any ties at the edge and maybe a few
    more), or ``None`` when no threshold is found. ``known``: documents
    already fully scored that may set the threshold."""
    leaves, _ = _leaves(parts)
    bounds = np.array([scorer.upper_bound(leaf) for leaf in leaves])
    if not np.isfinite(bounds).all():
        return None
    found = _threshold(scorer, parts, leaves, bounds, k, admit, known)
    if found is None:
        return None
    threshold, strongest = found
    # Leaves by decreasing bound: score whole lists until what the rest can
    # add is under θ (all of them, at worst): a document none of them holds
    # cannot reach θ then. A phrase is not scored whole (its positions are
    # what costs): its rarest word's documents are taken in unscored, which
    # is enough, since any document matching it holds that word.
    order = np.argsort(-bounds, kind="stable")
    remaining = float(bounds.sum())
    read, covered = [], []
    for i in order:
        if remaining < threshold:
            break
        remaining -= bounds[i]
        (covered if _rarest_word(scorer, leaves[i]) is not None else read).append(int(i))
    unread = np.ones(len(leaves), dtype=bool)
    unread[read] = False
    if len(read) == 1 and not covered and leaves[read[0]] is strongest[0]:
        seen, partial = strongest[1], strongest[2]  # scored already, for θ
    else:
        marks = [_rarest_word(scorer, leaves[i]) for i in covered]
        seen, partial = _partial_scores(scorer, [leaves[i] for i in read], marks)  # type: ignore[arg-type]
    keep = partial + max(0.0, float(bounds[unread].sum())) >= threshold - _slack(threshold)
    candidates, partial = seen[keep], partial[keep]
    ok = admit(candidates)
    return _refine(scorer, parts, leaves, bounds, unread, candidates[ok], partial[ok], k, threshold)


def _rarest_word(scorer: VectorScorer, leaf: wq.Query) -> np.ndarray | None:
    """The documents of a phrase's rarest word (those it may match); ``None``
    for any other leaf."""
    if type(leaf) is not wq.Phrase or not leaf.words or leaf.fieldname not in scorer.reader.schema:
        return None
    return min((scorer.postings(leaf.fieldname, term_text(w))[0] for w in leaf.words), key=len)


def _refine(
    scorer: VectorScorer,
    parts: list[wq.Query],
    leaves: list[wq.Query],
    bounds: np.ndarray,
    unread: np.ndarray,
    docs: np.ndarray,
    partial: np.ndarray,
    k: int,
    threshold: float | None,
) -> Scored:
    """From candidates and their partial scores (the leaves not ``unread``),
    the ``k`` best, with their full scores.

    Each candidate's reach is what the unread leaves it may hold can add (a
    term it is in the list of; a phrase whose rarest word it holds). The
    unread leaves are then looked up for the candidates by decreasing bound,
    dropping after each the candidates that cannot reach the ``k``-th best
    partial score (or ``threshold``) with their reach, until few are left;
    those are scored in full. When the look-ups would cost more than reading
    the lists whole, the lists are read whole instead."""
    threshold = -np.inf if threshold is None else threshold
    order = [int(i) for i in np.argsort(-bounds, kind="stable") if unread[i]]
    docs, partial, threshold = _prune(docs, partial, float(bounds[order].sum()), k, threshold)
    if len(docs) > FEW * k and order:
        may = np.stack([_may_hold(scorer, leaves[i], docs) for i in order])
        reach = bounds[order] @ may
        for row, i in enumerate(order):
            keep, threshold = _reachable(partial, reach, k, threshold)
            docs, partial, reach, may = docs[keep], partial[keep], reach[keep], may[:, keep]
            if len(docs) <= FEW * k:
                break
            left = order[row:]
            if len(docs) * LOOKUP_COST * len(left) > sum(scorer.cost(leaves[j]) for j in left):
                return _dense(scorer, parts, docs)
            scorer.add_within(leaves[i], docs, np.zeros(len(docs), dtype=bool), partial)
            reach -= bounds[i] * may[row]
        keep, _ = _reachable(partial, reach, k, threshold)
        docs = docs[keep]
    return docs, full_scores(scorer, parts, docs)


def _may_hold(scorer: VectorScorer, leaf: wq.Query, docs: np.ndarray) -> np.ndarray:
    """Which of ``docs`` could match ``leaf`` (a mask): those in a term's
    list, or holding a phrase's rarest word; all, for other shapes."""
    if isinstance(leaf, wq.Or) and not leaf.minmatch and not leaf.scale:
        return np.logical_or.reduce([_may_hold(scorer, sub, docs) for sub in leaf.subqueries])
    if type(leaf) is wq.Term:
        words = [term_text(leaf.text)]
    elif type(leaf) is wq.Phrase and leaf.words:
        words = [term_text(w) for w in leaf.words]
    else:
        return np.ones(len(docs), dtype=bool)
    if leaf.fieldname not in scorer.reader.schema:
        return np.zeros(len(docs), dtype=bool)
    rarest = min((scorer.postings(leaf.fieldname, w)[0] for w in words), key=len)
    found, _ = scorer.docs_in(rarest, docs)
    return found


def _reachable(partial: np.ndarray, reach: np.ndarray, k: int, threshold: float) -> tuple[np.ndarray, float]:
    """Which candidates can still reach the threshold (raised to the ``k``-th
    best partial score) with their reach, and the threshold."""
    if len(partial) > k:
        threshold = max(threshold, float(np.partition(partial, len(partial) - k)[len(partial) - k]))
    return partial + reach >= threshold - _slack(threshold), threshold


def _prune(
    docs: np.ndarray, partial: np.ndarray, remaining: float, k: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """The candidates whose partial score plus ``remaining`` can still reach
    the ``k``-th best partial score (a threshold the ``k``-th best full score
    is above, as is ``threshold``)."""
    if len(docs) > k:
        threshold = max(threshold, float(np.partition(partial, len(partial) - k)[len(partial) - k]))
    keep = partial + max(remaining, 0.0) >= threshold - _slack(threshold)
    return docs[keep], partial[keep], threshold


def _dense(scorer: VectorScorer, parts: list[wq.Query], docs: np.ndarray) -> Scored:
    """The full scores of ``docs`` from every list read whole into the
    thread's dense array, in the exhaustive scorer's order."""
    dense, bits = scorer.arrays.scratch()
    try:
        for part in parts:
            scorer.accumulate(part, dense, bits, 1)
        return docs, dense[docs]
    finally:  # back to zero for the next query, after an error too
        used = np.flatnonzero(bits)
        dense[used] = 0
        bits[used] = 0


def _leaves(parts: list[wq.Query]) -> tuple[list[wq.Query], np.ndarray]:
    """Every leaf of ``parts`` in order, and the part each belongs to."""
    leaves, owner = [], []
    for i, part in enumerate(parts):
        for leaf in leaves_of(part):
            leaves.append(leaf)
            owner.append(i)
    return leaves, np.asarray(owner, dtype=np.int64)


def _slack(threshold: float) -> float:
    """Room for rounding when comparing sums of scores with a threshold."""
    return 1e-9 * max(1.0, abs(threshold))


def _threshold(
    scorer: VectorScorer,
    parts: list[wq.Query],
    leaves: list[wq.Query],
    bounds: np.ndarray,
    k: int,
    admit: Admit,
    known: Scored | None,
) -> tuple[float, tuple[wq.Query, np.ndarray, np.ndarray]] | None:
    """A score the ``k``-th best document reaches for sure: the ``k``-th best
    full score of a pool of real matches (the strongest term's best documents
    on that term alone, and ``known``); ``None`` if the pool is too small.
    With it, the strongest term and its (docnums, scores), boost applied."""
    terms = [i for i, leaf in enumerate(leaves) if type(leaf) is wq.Term]
    if not terms:
        return None
    strongest = leaves[max(terms, key=lambda i: bounds[i])]
    m = scorer.evaluate(strongest)
    ids, term_scores = m.ids.astype(np.int64), m.scores
    live = scorer.arrays.live[ids]
    pool = np.sort(ids[live][top(ids[live], term_scores[live], k * POOL_PER_HIT)])
    pool = pool[admit(pool)]
    if known is not None and len(known[0]):  # already scored: not twice in the pool
        found, _ = positions_in(known[0], pool)
        pool = pool[~found]
    scores = full_scores(scorer, parts, pool)
    if known is not None and len(known[0]):
        scores = np.concatenate([scores, known[1]])
    if len(scores) < k:
        return None
    return float(np.partition(scores, len(scores) - k)[len(scores) - k]), (strongest, ids, term_scores)


def _partial_scores(scorer: VectorScorer, leaves: list[wq.Query], marks: list[np.ndarray] = ()) -> Scored:  # type: ignore[assignment]
    """Every document some of ``leaves`` holds or ``marks`` lists (sorted)
    and the sum of the leaves' scores: one list as it is, several through the
    thread's dense arrays."""
    if len(leaves) == 1 and not marks:
        m = scorer.evaluate(leaves[0])
        return m.ids.astype(np.int64), m.scores
    dense, bits = scorer.arrays.scratch()
    seen = None
    try:
        for leaf in leaves:
            scorer.accumulate(leaf, dense, bits, 1)
        for ids in marks:
            bits[ids] = 1
        seen = np.flatnonzero(bits)
        return seen, dense[seen]
    finally:  # back to zero for the next query, after an error too
        if seen is None:
            seen = np.flatnonzero(bits)
        dense[seen] = 0
        bits[seen] = 0
