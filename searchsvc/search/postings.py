"""Posting lists and per-document columns as numpy arrays, shared per generation.

A term's posting list is a slice of the generation's packed postings
(:mod:`searchsvc.index.packed`, memory-mapped: one read, shared by every
worker through the page cache). A generation without them (an older
version built it) has its lists read a Whoosh block at a time into arrays,
kept in a bounded cache. Field lengths, deletions, the ``day`` column and
the sources are read once. :mod:`.scoring` computes BM25 over these arrays, :mod:`.facets`
filters and counts with them, :mod:`.completion` intersects them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.columns import NumericColumn
from whoosh.matching import FilterMatcher
from whoosh.reading import IndexReader, TermNotFound
from whoosh.util.numeric import byte_to_length

from ..index import copies
from ..index.packed import PackedField, PackedSegment, open_packed
from . import collapse, recency
from .threadlocal import os_thread_local

#: Postings (documents × terms) kept in memory per generation and process: a
#: generation without packed postings keeps the lists it decodes; one with
#: them, the common words' lists joined from several segments (those of at
#: least JOINED_MIN postings; a single segment's are read in place). 8 bytes
#: each (a 32-bit docnum and Whoosh's own 32-bit weight): 64 MB at most, the
#: lists of some ten words found in half of a 1,000,000-article archive.
POSTINGS_CACHE = 8_000_000
JOINED_MIN = 50_000


#: Posting blocks (128 postings with their positions, ~6 KB decoded) kept per
#: generation and process for the phrase and pair-bonus checks: 30 MB at most.
BLOCK_CACHE = 5_000


_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


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
        for r, offset in leaves(reader):
            deleted = sorted(r.deleted_docs_set) if r.has_deletions() else []
            live[np.asarray(deleted, dtype=np.int64) + offset] = False
        self.live = live
        #: Deleted documents the generation still holds (0: every posting is live).
        self.deleted = int(self.doc_count - np.count_nonzero(live))
        self._day: np.ndarray | None = None
        self._year: np.ndarray | None = None
        self._month_day: np.ndarray | None = None
        self._newest: int | None = None
        self._copies: np.ndarray | None | bool = False  # False: not read yet
        self._members: collapse.Members | None = None
        self._sources: tuple[np.ndarray, tuple[str, ...]] | None = None
        self._blocks: OrderedDict[tuple[str, int], tuple[np.ndarray, tuple]] = OrderedDict()
        self._norms: dict[tuple, np.ndarray] = {}
        #: The highest BM25 score of each long list scored so far (its idf and
        #: the lengths are the generation's: fixed): the exact bound pruning
        #: uses in place of the looser one computed without reading the list.
        self.term_max: dict[tuple[str, str], float] = {}
        self._scratch = os_thread_local()
        folder = index_folder(reader)
        self.packed: list[tuple[PackedSegment, int, int]] | None = None
        packed = open_packed(folder, reader) if folder is not None else None
        if packed is not None:
            self.packed = [
                (segment, offset, r.doc_count_all())
                for segment, (r, offset) in zip(packed, leaves(reader), strict=True)
            ]

    def packed_positions(self, reader: IndexReader, fieldname: str) -> list[tuple[PackedField, int, int]] | None:
        """Each segment's packed ``fieldname`` with its positions, its first
        docnum and its document count; ``None`` when they are not packed."""
        if self.packed is None:
            return None
        out = []
        for segment, offset, count in self.packed:
            field = segment.field(fieldname)
            if field is None or field.pos is None:
                return None
            out.append((field, offset, count))
        return out

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
            for r, offset in leaves(reader):
                column = r._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                if column is not None:
                    raw = column._dbfile.get(column._basepos, column._count)
                    codes[offset : offset + column._count] = np.frombuffer(raw, dtype=np.uint8)
            lengths = self._lengths[fieldname] = _BYTE_TO_LENGTH[codes]
        return lengths

    def norms(self, reader: IndexReader, fieldname: str, k1: float, b: float, avgfl: float) -> np.ndarray:
        """BM25's length normalisation of every document in ``fieldname``,
        ``k1 * (1 - b + b * length / avgfl)``: computed once per generation,
        not once per posting of every query."""
        key = (fieldname, k1, b, avgfl)
        norms = self._norms.get(key)
        if norms is None:
            norms = self._norms[key] = k1 * (1 - b + b * self.lengths(reader, fieldname) / avgfl)
        return norms

    def min_norm(self, reader: IndexReader, fieldname: str, k1: float, b: float, avgfl: float) -> float:
        """The smallest of :meth:`norms`: what makes a term's BM25 upper bound."""
        key = ("min", fieldname, k1, b, avgfl)
        found = self._norms.get(key)
        if found is None:
            norms = self.norms(reader, fieldname, k1, b, avgfl)
            found = self._norms[key] = np.array(norms.min() if len(norms) else k1 * (1 - b))
        return float(found)

    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """This thread's dense accumulators, one slot per document (scores,
        and a bit per clause of the query): allocated once, zero between
        queries (the ranking clears the slots it used)."""
        buffers = getattr(self._scratch, "buffers", None)
        if buffers is None:
            buffers = self._scratch.buffers = (np.zeros(self.doc_count), np.zeros(self.doc_count, dtype=np.uint32))
        return buffers

    def slots(self) -> np.ndarray:
        """This thread's docnum-to-index table (-1 everywhere between uses,
        one slot per document): finding many documents in a long list by
        two scatters and a gather instead of a binary search each."""
        table = getattr(self._scratch, "slots", None)
        if table is None:
            table = self._scratch.slots = np.full(self.doc_count, -1, dtype=np.int32)
        return table

    def day(self, reader: IndexReader) -> np.ndarray:
        """The ``day`` column (YYYYMMDD, 0 when undated) of every document,
        each segment's read in one slice of its column file (a value at a
        time through Whoosh's reader took 1.2 s at 1,000,000 articles)."""
        if self._day is None:
            days = np.zeros(self.doc_count, dtype=np.int64)
            for r, offset in leaves(reader):
                if r.has_column("day"):
                    days[offset : offset + r.doc_count_all()] = _numeric_column(r, "day")
            self._day = days
        return self._day

    def copies(self, reader: IndexReader) -> np.ndarray | None:
        """Each document's group of wire copies (-1: none), as the index
        wrote it (``copies.npy``); ``None`` when the generation has no
        groups (an older version made it, or no article has a copy)."""
        if self._copies is False:
            folder = index_folder(reader)
            groups = copies.read_groups(folder, self.doc_count) if folder is not None else None
            self._copies = groups if groups is not None and len(groups) and groups.max() >= 0 else None
        return self._copies  # type: ignore[return-value]

    def copy_members(self, reader: IndexReader) -> collapse.Members | None:
        """The groups' members sorted by group (:func:`.collapse.members_by_group`),
        once per generation; ``None`` when it has no groups."""
        groups = self.copies(reader)
        if groups is not None and self._members is None:
            self._members = collapse.members_by_group(groups)
        return self._members

    def newest_day(self, reader: IndexReader) -> int:
        """The newest day (YYYYMMDD) of the live articles, not after the day
        it is first asked (0 when none is dated): the origin of recency."""
        if self._newest is None:
            self._newest = recency.newest_day(self.day(reader), self.live)
        return self._newest

    def month_day(self, reader: IndexReader) -> np.ndarray:
        """Every document's month and day (MMDD, 0 when undated), from the
        ``day`` column: a date typed without a year is one comparison of it."""
        if self._month_day is None:
            self._month_day = (self.day(reader) % 10000).astype(np.int16)
        return self._month_day

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
                names = tuple(term_text(t) for t in reader.lexicon("source"))
                code_of = {name: code for code, name in enumerate(names)}
                for r, offset in leaves(reader):
                    for t in r.lexicon("source"):
                        for ids, _ in read_postings(r, "source", t):
                            codes[ids + offset] = code_of[term_text(t)]
            self._sources = (codes, names)
        return self._sources

    def postings(self, reader: IndexReader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, weights) of a term over the whole index, deleted documents included."""
        if self.packed is not None:
            found = self._packed_postings(fieldname, text)
            if found is not None:
                return found
        key = (fieldname, text)
        hit = self._recall(key)
        if hit is not None:
            return hit
        ids_parts, weight_parts = [], []
        for r, offset in leaves(reader):
            for ids, weights in read_postings(r, fieldname, text):
                ids_parts.append(ids + offset)
                weight_parts.append(weights)
        if ids_parts:  # Whoosh stores weights as 32-bit floats: nothing is lost
            result = (np.concatenate(ids_parts).astype(np.int32), np.concatenate(weight_parts).astype(np.float32))
        else:
            result = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
        self._remember(key, result)
        return result

    def _packed_postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray] | None:
        assert self.packed is not None
        term = text.encode("utf-8")
        parts = []
        for segment, offset, _ in self.packed:
            field = segment.field(fieldname)
            if field is None:
                return None
            ids, weights = field.postings(term)
            if len(ids):
                parts.append((ids, weights, offset))
        if not parts:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        if len(parts) == 1:
            ids, weights, offset = parts[0]
            return (ids + offset if offset else ids), weights
        total = sum(len(ids) for ids, _, _ in parts)
        key = (fieldname, text)
        if total >= JOINED_MIN:  # a common word: its joined list is kept for the next queries
            hit = self._recall(key)
            if hit is not None:
                return hit
        joined_ids, joined_weights = np.empty(total, dtype=np.int32), np.empty(total, dtype=np.float32)
        at = 0
        for ids, weights, offset in parts:  # written once into place: no temporary per segment
            np.add(ids, offset, out=joined_ids[at : at + len(ids)])
            joined_weights[at : at + len(ids)] = weights
            at += len(ids)
        result = (joined_ids, joined_weights)
        if total >= JOINED_MIN:
            self._remember(key, result)
        return result

    def _recall(self, key: tuple[str, str]) -> tuple[np.ndarray, np.ndarray] | None:
        """A list kept by :meth:`_remember`, now the most recently used; ``None`` if not kept."""
        hit = self._postings.get(key)
        if hit is not None:
            with self._lock:
                if key in self._postings:
                    self._postings.move_to_end(key)
        return hit

    def _remember(self, key: tuple[str, str], result: tuple[np.ndarray, np.ndarray]) -> None:
        with self._lock:
            self._postings[key] = result
            self._cached += len(result[0])
            while self._cached > POSTINGS_CACHE and len(self._postings) > 1:
                _, (old, _) = self._postings.popitem(last=False)
                self._cached -= len(old)


def terms_with_prefix(reader: IndexReader, fieldname: str, prefix: str, limit: int) -> list[str]:
    """The first ``limit`` terms of ``fieldname`` starting with ``prefix``, in
    order: from the packed term lists when the generation has them (a binary
    search per segment), else from Whoosh's merge of every segment's terms."""
    arrays = arrays_for(reader)
    if arrays.packed is not None:
        fields = [segment.field(fieldname) for segment, _, _ in arrays.packed]
        if all(f is not None for f in fields):
            found: set[bytes] = set()
            for f in fields:
                found.update(f.terms_with_prefix(prefix.encode("utf-8"), limit))  # type: ignore[union-attr]
            return [t.decode("utf-8") for t in sorted(found)[:limit]]
    return [term_text(t) for t in islice(reader.expand_prefix(fieldname, prefix), limit)]


def doc_frequency(reader: IndexReader, fieldname: str, text: str) -> int:
    """Documents holding ``text`` in ``fieldname``, deleted ones included (as
    Whoosh counts them): from the packed term lists when the generation has
    them (a numpy search per segment; Whoosh's reader looks the term up in
    each segment's hash file), else from Whoosh's; 0 for a field the index
    does not have."""
    arrays = arrays_for(reader)
    if arrays.packed is not None:
        fields = [segment.field(fieldname) for segment, _, _ in arrays.packed]
        if all(f is not None for f in fields):
            term, total = text.encode("utf-8"), 0
            for f in fields:
                i = f.find(term)  # type: ignore[union-attr]
                if i >= 0:
                    total += int(f.postoff[i + 1] - f.postoff[i])  # type: ignore[union-attr]
            return total
    try:
        return reader.doc_frequency(fieldname, text)
    except Exception:  # a field the index does not have
        return 0


def in_live_documents(reader: IndexReader, fieldname: str, text: str) -> bool:
    """Whether a live document holds ``text`` in ``fieldname``: a retracted
    article's words stay in its segment's term list until the segment is
    rewritten, and must not be suggested. A word in more documents than
    were deleted is (no postings read)."""
    found = doc_frequency(reader, fieldname, text)
    arrays = arrays_for(reader)
    if found == 0 or found > arrays.deleted:
        return found > 0
    docnums, _ = arrays.postings(reader, fieldname, text)
    return bool(arrays.live[docnums].any())


def _numeric_column(reader: IndexReader, fieldname: str) -> np.ndarray:
    """A segment's numeric column as Whoosh's reader gives it, value by value
    (the field's ``from_column_value``), read in bulk when it is a plain
    integer column: fixed-width big-endian numbers, the default past the last
    written."""
    field = reader.schema[fieldname]
    count = reader.doc_count_all()
    raw = reader.column_reader(fieldname, translate=False)
    if (
        isinstance(raw, NumericColumn.Reader)
        and field.numtype is int
        and not field.decimal_places
        and raw._typecode in "bBhHiIlLqQ"
    ):
        values = np.full(count, raw._default, dtype=np.int64)
        written = min(raw._count, count)
        data = raw._dbfile.get(raw._basepos, written * raw._fixedlen)
        kind = ">i" if raw._typecode.islower() else ">u"  # struct's standard sizes, big-endian ("!")
        values[:written] = np.frombuffer(data, dtype=f"{kind}{raw._fixedlen}", count=written)
        if field.signed:
            values -= 1 << (field.bits - 1)
        return values
    return np.fromiter(reader.column_reader(fieldname), dtype=np.int64, count=count)


def scan_terms(reader: IndexReader, fieldname: str, start: str, limit: int) -> list[tuple[str, int]] | None:
    """The first ``limit`` terms of ``fieldname`` from ``start`` on, in order,
    each with the number of documents holding it (deleted ones included, as
    Whoosh counts them), from the packed term lists: a binary search and a
    slice per segment, where Whoosh's merge of the segments' terms reads each
    term's information one by one (0.16 s a scan at 1,000,000 articles).
    ``None`` when the generation has no packed ``fieldname``."""
    arrays = arrays_for(reader)
    if arrays.packed is None:
        return None
    fields = [segment.field(fieldname) for segment, _, _ in arrays.packed]
    if any(f is None for f in fields):
        return None
    counts: dict[bytes, int] = {}
    for f in fields:
        for term, n in f.terms_from(start.encode("utf-8"), limit):  # type: ignore[union-attr]
            counts[term] = counts.get(term, 0) + n
    return [(t.decode("utf-8"), counts[t]) for t in sorted(counts)[:limit]]


def index_folder(reader: IndexReader) -> Path | None:
    """The folder of the index ``reader`` reads (``None`` for one in memory)."""
    for r, _ in leaves(reader):
        storage = r._storage
        for candidate in (storage, getattr(storage, "b", None), getattr(storage, "a", None)):
            folder = getattr(candidate, "folder", None)
            if folder:
                return Path(folder)
    return None


def leaves(reader: IndexReader) -> Iterator[tuple[IndexReader, int]]:
    """Each segment's reader and the docnum its documents start at."""
    if reader.is_atomic():
        yield reader, 0
    else:
        yield from reader.leaf_readers()


def read_postings(reader: IndexReader, fieldname: str, text: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
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
        (r._segment.segment_id(), r._segment.deleted_count(), offset) for r, offset in leaves(reader)
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


def term_text(text: str | bytes) -> str:
    """A term as text (Whoosh gives bytes or str, depending on where it comes from)."""
    return text.decode("utf-8") if isinstance(text, bytes) else text
