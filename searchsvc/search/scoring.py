"""Scoring a query over whole posting lists at once, with numpy.

Whoosh's matchers walk postings one at a time in Python: several method calls
per document and per term, which made ranking 88% of a query's time. Here a
term's posting list is read a block at a time (Whoosh stores 128 postings per
block) into arrays, kept in a bounded cache for the life of the generation,
and BM25 is computed for all of its documents in one vector operation. A
query becomes a few array additions and logical ANDs over the collection.

The scores are Whoosh's own (the same BM25 formula, statistics and field
lengths), so ranking is unchanged; ``tests/test_scoring.py`` compares them
with Whoosh's matchers query by query. Query shapes this module does not know
fall back to Whoosh's matcher for that part of the query only.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from ..text.schema import has_positions
from .postings import arrays_for, leaves, term_text
from .weighting import bm25_idf


@dataclass
class Matches:
    """Which documents a query matches, and their scores (dense, one slot per document)."""

    scores: np.ndarray  # float64
    matched: np.ndarray  # bool

    @classmethod
    def empty(cls, n: int) -> Matches:
        return cls(np.zeros(n), np.zeros(n, dtype=bool))


class VectorScorer:
    """Evaluates Whoosh query trees for one searcher into :class:`Matches`."""

    def __init__(self, searcher: Searcher, k1: float, b: float) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.arrays = arrays_for(self.reader)
        self.n = self.arrays.doc_count
        self.k1, self.b = k1, b

    # Terms -----------------------------------------------------------------

    def term_scores(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, BM25 scores) of one term, as Whoosh's scorer computes them."""
        if fieldname not in self.reader.schema:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        field = self.reader.schema[fieldname]
        ids, weights = self.arrays.postings(self.reader, fieldname, text)
        if not len(ids) or not field.scorable:
            return ids, weights
        stats = self.searcher.get_parent()  # collection statistics, as Whoosh's scorer uses
        idf = bm25_idf(stats, fieldname, text)
        avgfl = stats.avg_field_length(fieldname) or 1
        lengths = self.arrays.lengths(self.reader, fieldname)[ids]
        weights = weights.astype(np.float64)
        norm = self.k1 * (1 - self.b + self.b * lengths / avgfl)
        return ids, idf * weights * (self.k1 + 1) / (weights + norm)

    # Queries ---------------------------------------------------------------

    def evaluate(self, q: wq.Query) -> Matches:
        """Every document ``q`` matches and its score (deleted documents included)."""
        if isinstance(q, wq.NullQuery.__class__):
            return Matches.empty(self.n)
        if type(q) is wq.Term:
            ids, scores = self.term_scores(q.fieldname, term_text(q.text))
            out = Matches.empty(self.n)
            out.scores[ids] = scores * q.boost
            out.matched[ids] = True
            return out
        if isinstance(q, wq.Or) and not q.minmatch and not q.scale:
            return self._or(q.subqueries)
        if type(q) is wq.And:
            return self._and(q.subqueries)
        if type(q) is wq.AndNot:
            a, b = self.evaluate(q.a), self.evaluate(q.b)
            a.matched &= ~b.matched
            return a
        if type(q) is wq.AndMaybe:
            a, b = self.evaluate(q.a), self.evaluate(q.b)
            a.scores += np.where(b.matched, b.scores, 0.0)
            return a
        if type(q) is wq.Phrase and q.slop == 1 and has_positions(self.reader.schema, q.fieldname):
            return self.phrase(q.fieldname, [term_text(w) for w in q.words], q.boost)
        return self._whoosh(q)

    def evaluate_within(self, q: wq.Query, within: np.ndarray) -> np.ndarray:
        """``q``'s scores, computed for the documents ``within`` only (0 elsewhere):
        a bonus that is worth checking on the best candidates, not on the index."""
        out = np.zeros(self.n)
        subqueries = q.subqueries if type(q) is wq.Or else [q]
        for sub in subqueries:
            if type(sub) is wq.Phrase and sub.slop == 1 and has_positions(self.reader.schema, sub.fieldname):
                part = self.phrase(sub.fieldname, [term_text(w) for w in sub.words], sub.boost, within=within)
            else:
                part = self.evaluate(sub)
            mask = np.zeros(self.n, dtype=bool)
            mask[within] = True
            out += np.where(part.matched & mask, part.scores, 0.0)
        return out

    def _or(self, subqueries: Iterable[wq.Query]) -> Matches:
        out = Matches.empty(self.n)
        for sub in subqueries:
            part = self.evaluate(sub)
            out.scores += np.where(part.matched, part.scores, 0.0)
            out.matched |= part.matched
        return out

    def _and(self, subqueries: Iterable[wq.Query]) -> Matches:
        out: Matches | None = None
        for sub in subqueries:
            part = self.evaluate(sub)
            if out is None:
                out = part
            else:
                out.scores += part.scores
                out.matched &= part.matched
        return out or Matches.empty(self.n)

    def phrase(
        self, fieldname: str, words: list[str], boost: float = 1.0, within: np.ndarray | None = None
    ) -> Matches:
        """Documents holding ``words`` at consecutive positions (Whoosh's
        ``Phrase`` with slop 1), scored as Whoosh does: the sum of the words'
        scores, times ``boost``. ``within`` restricts the check to those documents."""
        out = Matches.empty(self.n)
        if not words:
            return out
        per_word = [self.term_scores(fieldname, w) for w in words]
        candidates = per_word[0][0]
        for ids, _ in per_word[1:]:
            candidates = np.intersect1d(candidates, ids, assume_unique=True)
        if within is not None:
            candidates = np.intersect1d(candidates, within)
        if not len(candidates):
            return out
        if len(words) > 1:
            candidates = self._adjacent(fieldname, words, candidates)
        for ids, scores in per_word:
            positions = np.searchsorted(ids, candidates)
            out.scores[candidates] += scores[positions]
        out.scores[candidates] *= boost
        out.matched[candidates] = True
        return out

    def _adjacent(self, fieldname: str, words: list[str], candidates: np.ndarray) -> np.ndarray:
        """The candidates where the words follow each other."""
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

    def _positions(self, fieldname: str, text: str, docnums: np.ndarray) -> dict[int, list[int]]:
        """The positions of one term in a few documents, decoding only their blocks."""
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
        out = Matches.empty(self.n)
        for sub, offset in self.searcher.leaf_searchers():
            m = q.matcher(sub)
            while m.is_active():
                docnum = m.id() + offset
                out.matched[docnum] = True
                out.scores[docnum] = m.score()
                m.next()
        return out


def top(scores: np.ndarray, docnums: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best of ``docnums`` by score (highest first, then lowest docnum)."""
    if len(docnums) > k:
        part = np.argpartition(-scores[docnums], k - 1)[:k]
        threshold = scores[docnums[part]].min()
        docnums = docnums[scores[docnums] >= threshold]  # keep ties at the edge
    order = np.lexsort((docnums, -scores[docnums]))
    return docnums[order][:k]
