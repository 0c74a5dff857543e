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

import math
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import FilterMatcher
from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from .schema import has_positions

#: Postings (documents × terms) kept in memory per generation and process; a
#: common word of a 20,000-article index holds ~20,000. 8 bytes each (a 32-bit
#: docnum and Whoosh's own 32-bit weight): 32 MB at most.
POSTINGS_CACHE = 4_000_000

#: Posting blocks (128 postings with their positions, ~6 KB decoded) kept per
#: generation and process for the phrase and pair-bonus checks: 30 MB at most.
BLOCK_CACHE = 5_000

_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


@dataclass
class Matches:
    """Which documents a query matches, and their scores (dense, one slot per document)."""

    scores: np.ndarray  # float64
    matched: np.ndarray  # bool

    @classmethod
    def empty(cls, n: int) -> Matches:
        return cls(np.zeros(n), np.zeros(n, dtype=bool))


class IndexArrays:
    """What one generation's readers share: field lengths, deletions, the
    ``day`` column, and the cache of posting arrays. Built lazily, read-only
    once built, so the threads of a worker share one copy."""

    def __init__(self, reader: IndexReader) -> None:
        self.doc_count = reader.doc_count_all()
        self._lengths: dict[str, np.ndarray] = {}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()
        live = np.ones(self.doc_count, dtype=bool)
        for r, offset in _leaves(reader):
            deleted = sorted(r.deleted_docs_set) if r.has_deletions() else []
            live[np.asarray(deleted, dtype=np.int64) + offset] = False
        self.live = live
        self._day: np.ndarray | None = None
        self._year: np.ndarray | None = None
        self._sources: tuple[np.ndarray, tuple[str, ...]] | None = None
        self._blocks: OrderedDict[tuple[str, int], tuple[np.ndarray, tuple]] = OrderedDict()

    def block(self, segment: str, m: W3LeafMatcher) -> tuple[np.ndarray, tuple]:
        """The docnums and encoded values (positions) of the posting block ``m``
        stands on, decoded once and remembered: the pair bonus reads the
        same blocks of the same common words query after query."""
        key = (segment, m._dataoffset)
        hit = self._blocks.get(key)
        if hit is not None:
            return hit
        m._read_data()
        ids = np.asarray(m._data[0], dtype=np.int64)
        if not m._byteids:
            ids = np.cumsum(ids)
        m._read_values()
        block = (ids, m._values)
        with self._lock:
            self._blocks[key] = block
            while len(self._blocks) > BLOCK_CACHE:
                self._blocks.popitem(last=False)
        return block

    def lengths(self, reader: IndexReader, fieldname: str) -> np.ndarray:
        """Every document's length in ``fieldname`` as Whoosh scores it (one byte, decoded)."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            codes = np.zeros(self.doc_count, dtype=np.uint8)
            for r, offset in _leaves(reader):
                column = r._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                if column is not None:
                    raw = column._dbfile.get(column._basepos, column._count)
                    codes[offset : offset + column._count] = np.frombuffer(raw, dtype=np.uint8)
            lengths = self._lengths[fieldname] = _BYTE_TO_LENGTH[codes]
        return lengths

    def day(self, reader: IndexReader) -> np.ndarray:
        """The ``day`` column (YYYYMMDD, 0 when undated) of every document."""
        if self._day is None:
            days = np.zeros(self.doc_count, dtype=np.int64)
            for r, offset in _leaves(reader):
                if r.has_column("day"):
                    column = r.column_reader("day")
                    days[offset : offset + r.doc_count_all()] = np.fromiter(
                        column, dtype=np.int64, count=r.doc_count_all()
                    )
            self._day = days
        return self._day

    def year(self, reader: IndexReader) -> np.ndarray:
        """Every document's year (0 when undated), from the ``day`` column."""
        if self._year is None:
            self._year = (self.day(reader) // 10000).astype(np.int32)
        return self._year

    def sources(self, reader: IndexReader) -> tuple[np.ndarray, tuple[str, ...]]:
        """Every document's source as a code (-1 when it has none) and the
        sources' names, sorted (code ``i`` is ``names[i]``): a column for
        filtering and counting by source with array operations. Built once
        per generation from the ``source`` postings, a block at a time."""
        if self._sources is None:
            names: tuple[str, ...] = ()
            codes = np.full(self.doc_count, -1, dtype=np.int32)
            if "source" in reader.schema:
                names = tuple(_text(t) for t in reader.lexicon("source"))
                code_of = {name: code for code, name in enumerate(names)}
                for r, offset in _leaves(reader):
                    for t in r.lexicon("source"):
                        for ids, _ in _read_postings(r, "source", t):
                            codes[ids + offset] = code_of[_text(t)]
            self._sources = (codes, names)
        return self._sources

    def postings(self, reader: IndexReader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, weights) of a term over the whole index, deleted documents included."""
        key = (fieldname, text)
        hit = self._postings.get(key)
        if hit is not None:
            with self._lock:
                if key in self._postings:
                    self._postings.move_to_end(key)
            return hit
        ids_parts, weight_parts = [], []
        for r, offset in _leaves(reader):
            for ids, weights in _read_postings(r, fieldname, text):
                ids_parts.append(ids + offset)
                weight_parts.append(weights)
        if ids_parts:  # Whoosh stores weights as 32-bit floats: nothing is lost
            result = (np.concatenate(ids_parts).astype(np.int32), np.concatenate(weight_parts).astype(np.float32))
        else:
            result = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
        with self._lock:
            self._postings[key] = result
            self._cached += len(result[0])
            while self._cached > POSTINGS_CACHE and len(self._postings) > 1:
                _, (old, _) = self._postings.popitem(last=False)
                self._cached -= len(old)
        return result


def _leaves(reader: IndexReader) -> Iterator[tuple[IndexReader, int]]:
    if reader.is_atomic():
        yield reader, 0
    else:
        yield from reader.leaf_readers()


def _read_postings(reader: IndexReader, fieldname: str, text: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A segment's postings of one term, a block of ids and weights at a time."""
    try:
        m = reader.postings(fieldname, text)
    except TermNotFound:
        return
    if isinstance(m, FilterMatcher):  # deleted documents: masked by the caller
        m = m.child
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            m._read_data()
            raw_ids, raw_weights = m._data[0], m._data[1]
            ids = np.asarray(raw_ids, dtype=np.int64)
            if not m._byteids:
                ids = np.cumsum(ids)
            n = len(ids)
            if raw_weights is None:
                weights = np.ones(n)
            elif isinstance(raw_weights, float):
                weights = np.full(n, raw_weights)
            else:
                weights = np.asarray(raw_weights, dtype=np.float64)
            yield ids, weights
            m._next_block()
        return
    ids_list, weights_list = [], []
    while m.is_active():  # inlined postings (a term in one document) and others
        ids_list.append(m.id())
        weights_list.append(m.weight())
        m.next()
    yield np.asarray(ids_list, dtype=np.int64), np.asarray(weights_list, dtype=np.float64)


_TABLES: OrderedDict[tuple, IndexArrays] = OrderedDict()
_TABLES_LOCK = threading.Lock()


def reader_key(reader: IndexReader) -> tuple:
    """What identifies the generation ``reader`` reads: its segments (their
    ids are random, so two indexes never share one) and their deletions."""
    return tuple(
        (r._segment.segment_id(), r._segment.deleted_count(), offset) for r, offset in _leaves(reader)
    )


def arrays_for(reader: IndexReader) -> IndexArrays:
    """The shared :class:`IndexArrays` of the generation ``reader`` reads."""
    key = reader_key(reader)
    with _TABLES_LOCK:
        table = _TABLES.get(key)
        if table is None:
            table = _TABLES[key] = IndexArrays(reader)
            while len(_TABLES) > 3:  # the current generation and the ones before
                _TABLES.popitem(last=False)
        return table


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
            ids, scores = self.term_scores(q.fieldname, _text(q.text))
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
            return self.phrase(q.fieldname, [_text(w) for w in q.words], q.boost)
        return self._whoosh(q)

    def evaluate_within(self, q: wq.Query, within: np.ndarray) -> np.ndarray:
        """``q``'s scores, computed for the documents ``within`` only (0 elsewhere):
        a bonus that is worth checking on the best candidates, not on the index."""
        out = np.zeros(self.n)
        subqueries = q.subqueries if type(q) is wq.Or else [q]
        for sub in subqueries:
            if type(sub) is wq.Phrase and sub.slop == 1 and has_positions(self.reader.schema, sub.fieldname):
                part = self.phrase(sub.fieldname, [_text(w) for w in sub.words], sub.boost, within=within)
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
        for r, offset in _leaves(self.reader):
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


def bm25_idf(reader: IndexReader | Searcher, fieldname: str, text: str) -> float:
    """Robertson's idf, as Lucene and SQLite FTS5 use it, floored just above 0."""
    n, total = reader.doc_frequency(fieldname, text), reader.doc_count_all()
    return max(1e-6, math.log((total - n + 0.5) / (n + 0.5)))


def _text(text: str | bytes) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else text


def top(scores: np.ndarray, docnums: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best of ``docnums`` by score (highest first, then lowest docnum)."""
    if len(docnums) > k:
        part = np.argpartition(-scores[docnums], k - 1)[:k]
        threshold = scores[docnums[part]].min()
        docnums = docnums[scores[docnums] >= threshold]  # keep ties at the edge
    order = np.lexsort((docnums, -scores[docnums]))
    return docnums[order][:k]
