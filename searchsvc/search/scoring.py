"""Scoring a query over whole posting lists at once, with numpy.

Whoosh's matchers walk postings one at a time in Python. Here a term's
posting list is read in one call (the generation's packed postings,
:mod:`searchsvc.index.packed`, memory-mapped; Whoosh's blocks for a
generation without them) and BM25 is computed for all of its documents in
one vector operation. Matches are sparse (the sorted documents a clause
holds and their scores), so a rare word costs what its postings cost, not
one slot per document of the archive.

:meth:`VectorScorer.evaluate` and :meth:`~VectorScorer.accumulate` score
every posting of a query's words (exhaustive: the top ten, the total and the
facet counts exact); :meth:`~VectorScorer.within` looks some documents up in
the lists instead, and :meth:`~VectorScorer.upper_bound` bounds a part's
score, for :mod:`.pruning`. The scores are Whoosh's own (the same BM25 formula,
statistics and field lengths); ``tests/test_scoring.py`` compares them with
Whoosh's matchers query by query. Query shapes this module does not know
fall back to Whoosh's matcher for that part of the query only.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from ..text.schema import has_positions
from .dates import DateSpec, PublishedOn
from .postings import arrays_for, leaves, term_text
from .weighting import bm25_idf

_NO_IDS = np.zeros(0, dtype=np.int64)
#: Lists at least this long remember their highest score once scored whole
#: (for pruning's bounds), up to EXACT_BOUNDS of them per generation.
EXACT_BOUND_POSTINGS = 1000
EXACT_BOUNDS = 200_000
#: Both lists at least this long: looked up in each other through a table.
DENSE_LOOKUP = 20_000


@dataclass
class Matches:
    """The documents a query matches (sorted, unique global docnums) and their scores."""

    ids: np.ndarray  # int64
    scores: np.ndarray  # float64, aligned with ids

    @classmethod
    def empty(cls) -> Matches:
        return cls(_NO_IDS, np.zeros(0))

    def __len__(self) -> int:
        return len(self.ids)


def positions_in(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``wanted`` stands in ``ids`` (both sorted, without
    repeats): (a mask over ``wanted`` of those found, their indexes in ``ids``).
    The shorter array is searched in the longer one."""
    if len(ids) * 8 < len(wanted):  # a short list among many: search it in them instead
        at = np.searchsorted(wanted, ids)
        hit = at < len(wanted)
        hit[hit] = wanted[at[hit]] == ids[hit]
        found = np.zeros(len(wanted), dtype=bool)
        found[at[hit]] = True
        return found, np.flatnonzero(hit)
    at = np.searchsorted(ids, wanted)
    found = at < len(ids)
    found[found] = ids[at[found]] == wanted[found]
    return found, at[found]


def combine(parts: Sequence[Matches], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of ``parts``: (docnums, summed scores, how many parts hold each).

    Few postings are merged by sorting them; many (a common word of a large
    archive) through one dense slot per document, which is then cheaper."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _NO_IDS, np.zeros(0), np.zeros(0, dtype=np.int64)
    if len(parts) == 1:
        return parts[0].ids, parts[0].scores, np.ones(len(parts[0]), dtype=np.int64)
    total = sum(len(p) for p in parts)
    if total * 16 < n:
        ids = np.concatenate([p.ids for p in parts])
        unique, inverse = np.unique(ids, return_inverse=True)
        scores = np.bincount(inverse, weights=np.concatenate([p.scores for p in parts]), minlength=len(unique))
        return unique, scores, np.bincount(inverse, minlength=len(unique))
    dense = np.zeros(n)
    hits = np.zeros(n, dtype=np.int16)
    for p in parts:  # each part's ids are unique: plain fancy-index additions
        dense[p.ids] += p.scores
        hits[p.ids] += 1
    ids = np.flatnonzero(hits)
    return ids, dense[ids], hits[ids].astype(np.int64)


class VectorScorer:
    """Evaluates Whoosh query trees for one searcher into :class:`Matches`."""

    def __init__(self, searcher: Searcher, k1: float, b: float) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.arrays = arrays_for(self.reader)
        self.n = self.arrays.doc_count
        self.k1, self.b = k1, b
        # One query reads a term's list, its idf and its bound several times
        # (to count, to bound, to look documents up): found once each.
        self._lists: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._idf: dict[tuple[str, str], tuple[float, float]] = {}
        self._published: dict[PublishedOn, Matches] = {}
        self._dated: dict[DateSpec, tuple[np.ndarray, np.ndarray]] = {}

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, weights) of a term over the whole index, deleted documents included."""
        key = (fieldname, text)
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = self.arrays.postings(self.reader, fieldname, text)
        return found

    def idf(self, fieldname: str, text: str) -> tuple[float, float]:
        """A term's BM25 idf and its field's average length, from the collection's statistics."""
        key = (fieldname, text)
        found = self._idf.get(key)
        if found is None:
            stats = self.searcher.get_parent()  # collection statistics, as Whoosh's scorer uses
            # With packed postings, the term's documents are its list's length
            # (deleted ones included, as Whoosh counts them): no look-up per segment.
            known = len(self.postings(fieldname, text)[0]) if self.arrays.packed is not None else None
            idf = bm25_idf(stats, fieldname, text, doc_frequency=known)
            found = self._idf[key] = (idf, stats.avg_field_length(fieldname) or 1)
        return found

    # Terms -----------------------------------------------------------------

    def term_scores(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, BM25 scores) of one term, as Whoosh's scorer computes them."""
        if fieldname not in self.reader.schema:
            return _NO_IDS, np.zeros(0)
        ids, weights = self.postings(fieldname, text)  # int32 docnums, float32 weights
        scores = self.bm25(fieldname, text, ids, weights)
        if len(ids) >= EXACT_BOUND_POSTINGS:
            known = self.arrays.term_max
            if len(known) >= EXACT_BOUNDS:
                known.clear()
            known[(fieldname, text)] = float(scores.max())
        return ids, scores

    def bm25(self, fieldname: str, text: str, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The BM25 scores of some postings of one term (``ids``, ``weights``)."""
        if not len(ids) or not self.reader.schema[fieldname].scorable:
            return weights.astype(np.float64)
        idf, avgfl = self.idf(fieldname, text)
        # idf * w * (k1 + 1) / (w + norm), in float64, in four passes over the postings
        denominator = self.arrays.norms(self.reader, fieldname, self.k1, self.b, avgfl)[ids]
        denominator += weights
        scores = np.multiply(weights, idf * (self.k1 + 1), dtype=np.float64)
        scores /= denominator
        return scores

    def accumulate(self, q: wq.Query, scores: np.ndarray, clauses: np.ndarray, bit: int) -> None:
        """Add ``q``'s scores into ``scores`` (one slot per document) and set
        ``bit`` in ``clauses`` for every document it matches: a query's words
        scored straight into one dense array, without a sparse union per word."""
        if type(q) is wq.Term:
            ids, term_scores = self.term_scores(q.fieldname, term_text(q.text))
            scores[ids] += term_scores * q.boost if q.boost != 1 else term_scores
            clauses[ids] |= bit
        elif isinstance(q, wq.Or) and not q.minmatch and not q.scale:
            for sub in q.subqueries:  # an OR's score is the sum of its parts'
                self.accumulate(sub, scores, clauses, bit)
        else:
            m = self.evaluate(q)
            scores[m.ids] += m.scores
            clauses[m.ids] |= bit

    # Queries ---------------------------------------------------------------

    def evaluate(self, q: wq.Query) -> Matches:
        """Every document ``q`` matches and its score (deleted documents included)."""
        if isinstance(q, wq.NullQuery.__class__):
            return Matches.empty()
        if type(q) is wq.Term:
            ids, scores = self.term_scores(q.fieldname, term_text(q.text))
            return Matches(ids, scores * q.boost if q.boost != 1 else scores)
        if isinstance(q, wq.Or) and not q.minmatch and not q.scale:
            ids, scores, _ = combine([self.evaluate(sub) for sub in q.subqueries], self.n)
            return Matches(ids, scores)
        if type(q) is wq.And:
            return self._and([self.evaluate(sub) for sub in q.subqueries])
        if type(q) is wq.AndNot:
            a, b = self.evaluate(q.a), self.evaluate(q.b)
            found, _ = positions_in(b.ids, a.ids)
            return Matches(a.ids[~found], a.scores[~found])
        if type(q) is wq.AndMaybe:
            a, b = self.evaluate(q.a), self.evaluate(q.b)
            found, at = positions_in(b.ids, a.ids)
            scores = a.scores.copy()
            scores[found] += b.scores[at]
            return Matches(a.ids, scores)
        if type(q) is wq.Phrase and q.slop == 1 and has_positions(self.reader.schema, q.fieldname):
            return self.phrase(q.fieldname, [term_text(w) for w in q.words], q.boost)
        if type(q) is PublishedOn:
            return self.published_on(q)
        return self._whoosh(q)

    def published_on(self, q: PublishedOn) -> Matches:
        """The articles published on ``q``'s date, each scored as its word
        would score once in an article of average length (BM25's ``idf``
        there), times the share its year keeps (:mod:`.dates`)."""
        found = self._published.get(q)
        if found is None:
            # The words of one date share its articles: found once.
            dated = self._dated.get(q.date)
            if dated is None:
                days = self.arrays.day(self.reader)
                dated = self._dated[q.date] = q.matches(
                    days, self.arrays.month_day(self.reader), self.arrays.newest_day(self.reader)
                )
            ids, share = dated
            found = self._published[q] = Matches(ids.astype(np.int64), share * self._date_weight(q))
        return found

    def _date_weight(self, q: PublishedOn) -> float:
        schema = self.reader.schema
        return sum(
            boost * self.idf(fieldname, text)[0]
            for fieldname, text, boost in q.like
            if fieldname in schema and schema[fieldname].scorable
        )

    def evaluate_within(self, q: wq.Query, within: np.ndarray) -> np.ndarray:
        """``q``'s scores for the documents ``within`` only (sorted docnums; 0
        where it does not match), aligned with them: a bonus that is worth
        checking on the best candidates, not on the index."""
        return self.within(q, within)[1]

    def within(self, q: wq.Query, docs: np.ndarray, *, score: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``docs`` (sorted docnums) ``q`` matches, and its score there
        (0 where it does not; all 0 without ``score``), looked up in its
        postings: the cost follows ``docs`` and the lists' lengths, with no
        slot per document of the index."""
        held = np.zeros(len(docs), dtype=bool)
        scores = np.zeros(len(docs))
        self.add_within(q, docs, held, scores, score=score)
        return held, scores

    def add_within(
        self, q: wq.Query, docs: np.ndarray, held: np.ndarray, scores: np.ndarray, *, score: bool = True
    ) -> None:
        """:meth:`within` into existing arrays: ``q``'s scores added to
        ``scores`` in the order :meth:`accumulate` adds them (the same sums,
        to the last bit), ``held`` set where it matches."""
        if not len(docs):
            return
        if type(q) is wq.Term:
            if q.fieldname not in self.reader.schema:
                return
            text = term_text(q.text)
            ids, weights = self.postings(q.fieldname, text)
            found, at = self.docs_in(ids, docs)
            held |= found
            if score and len(at):
                term_scores = self.bm25(q.fieldname, text, ids[at], weights[at])
                scores[found] += term_scores * q.boost if q.boost != 1 else term_scores
        elif isinstance(q, wq.Or) and not q.minmatch and not q.scale:
            for sub in q.subqueries:
                self.add_within(sub, docs, held, scores, score=score)
        else:
            if type(q) is wq.Phrase and q.slop == 1 and has_positions(self.reader.schema, q.fieldname):
                m = self.phrase(q.fieldname, [term_text(w) for w in q.words], q.boost, within=docs)
            else:
                m = self.evaluate(q)
            found, at = positions_in(m.ids, docs)
            held |= found
            if score:
                scores[found] += m.scores[at]

    def docs_in(self, ids: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`positions_in` for docnums: when both arrays are long, through
        the thread's docnum table (linear) rather than binary searches."""
        if min(len(ids), len(docs)) < DENSE_LOOKUP:
            return positions_in(ids, docs)
        table = self.arrays.slots()
        try:
            table[ids] = np.arange(len(ids), dtype=np.int32)
            at = table[docs]
        finally:
            table[ids] = -1
        found = at >= 0
        return found, at[found].astype(np.int64)

    # Bounds, for pruning ----------------------------------------------------

    def upper_bound(self, q: wq.Query) -> float:
        """No document scores more than this for ``q`` (``inf`` for query
        shapes not bounded here). A term's bound is BM25 at its highest weight
        and the shortest document of the field; a phrase's, its words'."""
        if type(q) is wq.Term:
            return q.boost * self._term_bound(q.fieldname, term_text(q.text))
        if isinstance(q, wq.Or) and not q.minmatch and not q.scale:
            return sum(self.upper_bound(sub) for sub in q.subqueries)
        if type(q) is wq.Phrase and q.slop == 1 and has_positions(self.reader.schema, q.fieldname):
            return q.boost * sum(self._term_bound(q.fieldname, term_text(w)) for w in q.words)
        if type(q) is PublishedOn:
            return self._date_weight(q) * (1 + 1e-9)
        return float("inf")

    def _term_bound(self, fieldname: str, text: str) -> float:
        if fieldname not in self.reader.schema:
            return 0.0
        exact = self.arrays.term_max.get((fieldname, text))
        if exact is not None:
            return exact * (1 + 1e-9)
        _, weights = self.postings(fieldname, text)
        if not len(weights):
            return 0.0
        most = float(weights.max())
        if not self.reader.schema[fieldname].scorable:
            return most * (1 + 1e-9)
        idf, avgfl = self.idf(fieldname, text)
        shortest = self.arrays.min_norm(self.reader, fieldname, self.k1, self.b, avgfl)
        # The same formula as bm25(), at its largest; a margin for rounding.
        return idf * (self.k1 + 1) * most / (most + shortest) * (1 + 1e-9)

    def cost(self, q: wq.Query) -> float:
        """About how much reading ``q`` costs: its postings (a phrase's twice,
        for the positions; an unknown shape, the whole index)."""
        if type(q) is wq.Term:
            if q.fieldname not in self.reader.schema:
                return 0
            return len(self.postings(q.fieldname, term_text(q.text))[0])
        if isinstance(q, wq.Or) and not q.minmatch and not q.scale:
            return sum(self.cost(sub) for sub in q.subqueries)
        if type(q) is wq.Phrase and q.fieldname in self.reader.schema:
            return 2 * sum(len(self.postings(q.fieldname, term_text(w))[0]) for w in q.words)
        if type(q) is PublishedOn:
            return len(self.published_on(q))
        return self.n

    def _and(self, parts: list[Matches]) -> Matches:
        if not parts:
            return Matches.empty()
        parts = sorted(parts, key=len)  # the rarest first: each step searches the smallest
        ids, scores = parts[0].ids, parts[0].scores
        for part in parts[1:]:
            found, at = positions_in(part.ids, ids)
            ids, scores = ids[found], scores[found] + part.scores[at]
        return Matches(ids, scores)

    def phrase(
        self, fieldname: str, words: list[str], boost: float = 1.0, within: np.ndarray | None = None
    ) -> Matches:
        """Documents holding ``words`` at consecutive positions (Whoosh's
        ``Phrase`` with slop 1), scored as Whoosh does: the sum of the words'
        scores, times ``boost``. ``within`` restricts the check to those documents."""
        if not words or fieldname not in self.reader.schema:
            return Matches.empty()
        # Each word's postings, unscored: a phrase often holds a word found in
        # most articles (« l'île »), scored below for the candidates only.
        per_word = [self.postings(fieldname, w) for w in words]
        candidates = within if within is not None else min((ids for ids, _ in per_word), key=len)
        for ids, _ in per_word:  # sorted arrays: a binary search each, no sort
            found, _ = positions_in(ids, candidates)
            candidates = candidates[found]
        if not len(candidates):
            return Matches.empty()
        if len(words) > 1:
            candidates = self._adjacent(fieldname, words, candidates)
        scores = np.zeros(len(candidates))
        for word, (ids, weights) in zip(words, per_word, strict=True):
            _, at = positions_in(ids, candidates)
            scores += self.bm25(fieldname, word, ids[at], weights[at])
        return Matches(candidates.astype(np.int64), scores * boost)

    def _adjacent(self, fieldname: str, words: list[str], candidates: np.ndarray) -> np.ndarray:
        """The candidates where the words follow each other."""
        packed = self.arrays.packed_positions(self.reader, fieldname)
        if packed is not None:
            return self._adjacent_packed(packed, words, candidates)
        found: list[dict[int, list[int]]] = [
            self._positions(fieldname, w, candidates) for w in dict.fromkeys(words)
        ]
        by_word = dict(zip(dict.fromkeys(words), found, strict=True))
        keep = []
        for docnum in candidates.tolist():
            starts = set(by_word[words[0]].get(docnum, ()))
            for i, word in enumerate(words[1:], 1):
                following = by_word[word].get(docnum, ())
                starts &= {p - i for p in following}
                if not starts:
                    break
            if starts:
                keep.append(docnum)
        return np.asarray(keep, dtype=np.int64)

    @staticmethod
    def _adjacent_packed(packed: list, words: list[str], candidates: np.ndarray) -> np.ndarray:
        """:meth:`_adjacent` over packed positions, array operations only: each
        word's (document, position - its rank in the phrase) pairs as one
        integer, intersected word after word."""
        keep = []
        for field, offset, count in packed:
            local = candidates[(candidates >= offset) & (candidates < offset + count)] - offset
            if not len(local):
                continue
            starts = None
            for i, word in enumerate(words):
                docs, positions = field.positions(word.encode("utf-8"), local)
                ok = positions >= i
                # Sorted by document then position, so the keys are sorted and unique.
                keys = (docs[ok] << 32) | (positions[ok] - i)
                if starts is None:
                    starts = keys
                else:
                    found, _ = positions_in(keys, starts)
                    starts = starts[found]
                if not len(starts):
                    break
            if starts is not None and len(starts):
                docs = starts >> 32
                first = np.ones(len(docs), dtype=bool)
                first[1:] = docs[1:] != docs[:-1]
                keep.append(docs[first] + offset)
        return np.concatenate(keep) if keep else _NO_IDS

    def _positions(self, fieldname: str, text: str, docnums: np.ndarray) -> dict[int, list[int]]:
        """The positions of one term in a few documents, decoding only their blocks
        (a generation without packed postings)."""
        fmt = self.reader.schema[fieldname].format
        out: dict[int, list[int]] = {}
        for r, offset in leaves(self.reader):
            local = np.unique(docnums[(docnums >= offset) & (docnums < offset + r.doc_count_all())] - offset)
            if not len(local):
                continue
            try:
                m = r.postings(fieldname, text)
            except TermNotFound:
                continue
            if isinstance(m, FilterMatcher):
                m = m.child
            ordered = local.tolist()
            segment = r._segment.segment_id()
            want = set(ordered)
            if isinstance(m, W3LeafMatcher):
                previous_max = -1
                while m.is_active():
                    block_max = m.block_max_id()  # from the block header: no unpickling
                    first = bisect_right(ordered, previous_max)
                    if first < len(ordered) and ordered[first] <= block_max:
                        ids, values = self.arrays.block(segment, m)
                        at = np.minimum(np.searchsorted(local, ids), len(local) - 1)
                        for i in np.flatnonzero(local[at] == ids).tolist():
                            out[int(ids[i]) + offset] = fmt.decode_positions(values[i])
                    elif first >= len(ordered):
                        break
                    previous_max = block_max
                    m._next_block()
            else:
                while m.is_active():
                    if m.id() in want:
                        out[m.id() + offset] = m.value_as("positions")
                    m.next()
        return out

    def _whoosh(self, q: wq.Query) -> Matches:
        """Any other query: Whoosh's own matcher, document by document."""
        ids: list[int] = []
        scores: list[float] = []
        for sub, offset in self.searcher.leaf_searchers():
            m = q.matcher(sub)
            while m.is_active():
                ids.append(m.id() + offset)
                scores.append(m.score())
                m.next()
        if not ids:
            return Matches.empty()
        docnums = np.asarray(ids, dtype=np.int64)
        order = np.argsort(docnums, kind="stable")
        return Matches(docnums[order], np.asarray(scores)[order])


def top(docnums: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the ``k`` best of ``docnums`` (scores aligned with them),
    highest score first, then lowest docnum."""
    index = np.arange(len(docnums)) if len(docnums) <= k else _above(scores, k)
    order = np.lexsort((docnums[index], -scores[index]))
    return index[order][:k]


def _above(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of every score at least the ``k``-th highest (ties at the edge
    kept). On a long array, a cut guessed from a sample of it is tried first:
    one comparison pass, then a partition of the few above it."""
    n = len(scores)
    if n > 16 * SAMPLE:
        sample = np.sort(scores[:: n // SAMPLE])
        rank = min(len(sample) - 1, 4 * k * len(sample) // n + 1)  # about 4k of the n above it
        above = np.flatnonzero(scores >= sample[len(sample) - 1 - rank])
        if k <= len(above) < n:
            return above[_above(scores[above], k)]
    threshold = np.partition(scores, n - k)[n - k]
    return np.flatnonzero(scores >= threshold)


#: Scores looked at to guess where the best ``k`` of a long array begin.
SAMPLE = 4096
