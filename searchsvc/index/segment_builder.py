"""One Whoosh segment built in bulk from a batch of documents.

Whoosh's ``SegmentWriter`` adds each posting to a pool one Python call at a
time, sorts the pool in runs on disk, merges them and writes each posting
again through Python: half a reindex was those calls. :class:`SegmentBuilder`
keeps the documents' words as numbers in one flat array (a dictionary
lookup per word; each distinct word is analysed once per process, and each
field knows the terms of each word); when the segment is full it turns the
term occurrences into postings with numpy, one range of terms at a time
(each occurrence sorted once, memory bounded by the range), and writes
whole posting lists (:mod:`.w3blocks`), with the packed copy that searching
reads (:mod:`.packed`) from the same arrays, in the same pass.

Everything else goes through Whoosh's own codec objects (stored fields,
lengths, columns, the term index, the other fields' few postings), so the
segment is Whoosh's W3 format: Whoosh's reader, an unpatched one included,
reads exactly what its own writer would have written for the same documents
(``tests/test_bulk_writer.py`` checks it term by term).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import Schema, UnknownFieldError
from whoosh.filedb import filetables
from whoosh.filedb.filestore import Storage
from whoosh.util.numeric import _length_byte_cache
from whoosh.util.numlists import GrowableArray

from ..text.analysis import WordCache, forget_words, split_words
from ..text.meaning import document_vector, title_vector
from ..text.schema import FrenchText
from . import copies, packed
from .w3blocks import FieldPostings, write_field

_LENGTH_STEPS = np.asarray(_length_byte_cache, dtype=np.int64)


def length_bytes(lengths: np.ndarray) -> np.ndarray:
    """Whoosh's ``length_to_byte`` of each length."""
    return np.minimum(np.searchsorted(_LENGTH_STEPS, lengths, side="left"), 255).astype(np.uint8)


def supports(schema: Schema) -> bool:
    """Whether :class:`SegmentBuilder` writes ``schema``'s fields as Whoosh
    would: no term vectors, no separate spelling fields, and every indexed
    field either French text or one whose postings carry nothing (ids,
    numbers, dates: ``Existence``, not scored)."""
    return all(
        not field.vector
        and not field.separate_spelling()
        and (not field.indexed or _bulk(field) or (type(field.format) is formats.Existence and not field.scorable))
        for _, field in schema.items()
    )


class Words(dict):
    """Word → its number in this process, and for each French text field what
    each word puts in the index (:class:`_WordTerms`). Kept across the
    segments a process builds: a word is analysed and numbered once, and a
    document's words are a list of numbers."""

    #: Words kept before a new segment starts afresh. Each takes about 1 KB
    #: with its terms (tracemalloc: 144,768 words of the news corpus, 135 MiB),
    #: so this bounds them near 200 MiB per process, whatever the vocabulary:
    #: past it, the next segment analyses its words again.
    MAX_WORDS = 200_000
    #: New words between two clearings of the chain's own per-word caches.
    FORGET_EVERY = 20_000

    def __init__(self, caches: dict[str, WordCache]) -> None:
        super().__init__()
        self.caches = caches
        self._distinct_caches = list({id(c): c for c in caches.values()}.values())
        self.fields = {name: _WordTerms(cache) for name, cache in caches.items()}

    def __missing__(self, word: str) -> int:
        number = self[word] = len(self)
        for terms in self.fields.values():
            terms.add(word)
        # Its terms are here now: the analysis caches need not keep the word
        # (they held a third of a writer's memory before its segment's end).
        for cache in self._distinct_caches:
            cache.pop(word, None)
            cache.stopped_before.pop(word, None)
        if not number % self.FORGET_EVERY:
            forget_words()
        return number

    def forget_analyses(self) -> None:
        """Empty the per-word caches: each word numbered has its terms here."""
        for cache in self.caches.values():
            cache.clear()
            cache.stopped_before.clear()
        forget_words()

    def reset_if_large(self) -> None:
        """Between two segments: forget every number once there are many."""
        if len(self) > self.MAX_WORDS:
            self.clear()
            self.fields = {name: _WordTerms(cache) for name, cache in self.caches.items()}


class _WordTerms:
    """One field's terms of each numbered word: term numbers (in the order
    first seen) in one flat array, where each word's end, and as lists for
    the per-document sums: how many terms, how many stop words before the
    first (Whoosh's positions count them)."""

    def __init__(self, cache: WordCache) -> None:
        self.cache = cache
        self.numbers: dict[str, int] = {}
        self.terms: list[str] = []
        self.flat = array("i")
        self.ends = array("q")
        self.counts: list[int] = []
        self.stopped: list[int] = []

    def add(self, word: str) -> None:
        kept = self.cache[word]
        numbers = self.numbers
        for term in kept:
            number = numbers.get(term)
            if number is None:
                number = numbers[term] = len(self.terms)
                self.terms.append(term)
            self.flat.append(number)
        self.ends.append(len(self.flat))
        self.counts.append(len(kept))
        self.stopped.append(self.cache.stopped_before[word])


class _TermRuns:
    """A French text field's words for every document of the segment, in
    document order, as word numbers; per document how many, the position of
    its first term and how many terms come from the lead."""

    def __init__(self, field: FrenchText, words: Words, name: str, store: array) -> None:
        self.field, self.words, self.name = field, words, name
        self.lead_boost = _lead_boost(field.analyzer)
        self.positions = field.format.supports("positions")
        #: The segment's word numbers, shared by the fields (``text`` and
        #: ``exact`` index the same words: they are kept once).
        self.store = store
        self.starts = array("q")
        self.nwords = array("i")
        self.lengths = array("i")
        self.firsts = array("i")
        self.leads = array("i")
        self.docnums = array("i")

    def add(self, docnum: int, numbers: list[int], lead_words: int, start: int) -> int:
        """Add a document's words (numbers, the first ``lead_words`` of them
        the lead's, kept in the store from ``start``); returns its length in
        the field (its terms)."""
        terms = self.words.fields[self.name]
        counts = terms.counts
        length = sum(map(counts.__getitem__, numbers))
        if length:
            stopped = terms.stopped
            first = 0
            for number in numbers:
                first += stopped[number]
                if counts[number]:
                    break
            self.starts.append(start)
            self.nwords.append(len(numbers))
            self.lengths.append(length)
            self.firsts.append(first)
            self.leads.append(sum(map(counts.__getitem__, numbers[:lead_words])) if lead_words else 0)
            self.docnums.append(docnum)
        return length

    def postings(self, lengths: np.ndarray) -> Iterator[FieldPostings]:
        """The field's postings, sorted by term, then document, in parts
        that follow each other in term order. ``lengths``: each docnum's
        length in the field.

        The documents' term occurrences are numbered by term rank
        :data:`CHUNK_DOCS` documents at a time (4 bytes each, kept); each
        part then takes, from every chunk, the occurrences of a range of
        terms of about :data:`PASS_OCCURRENCES` occurrences, sorts them into
        postings, and puts the chunks' postings in term order with one
        stable sort. Each occurrence is sorted once; what a part needs
        beyond the term numbers is bounded, whatever the segment's size."""
        terms_of = self.words.fields[self.name]
        store = np.frombuffer(self.store, dtype=np.int32)
        nwords = np.frombuffer(self.nwords, dtype=np.int32).astype(np.int64)
        word_starts = np.frombuffer(self.starts, dtype=np.int64)
        per_word = np.asarray(terms_of.counts, dtype=np.int32)
        word_ends = np.frombuffer(terms_of.ends, dtype=np.int64)
        flat = np.frombuffer(terms_of.flat, dtype=np.int32)
        names = terms_of.terms
        chunks = [(lo, min(lo + CHUNK_DOCS, len(nwords))) for lo in range(0, len(nwords), CHUNK_DOCS)]

        # The terms of this segment, in order (UTF-8 sorts as code points do).
        used = np.zeros(len(per_word), dtype=bool)
        for lo, hi in chunks:
            used[store[_ranges(word_starts[lo:hi], nwords[lo:hi])]] = True
        used = np.flatnonzero(used)
        present = np.unique(flat[_ranges(word_ends[used] - per_word[used], per_word[used])])
        order_of_terms = sorted(present.tolist(), key=names.__getitem__)
        rank = np.zeros(len(names), dtype=np.int32)
        rank[order_of_terms] = np.arange(len(order_of_terms), dtype=np.int32)
        terms = [names[i].encode("utf-8") for i in order_of_terms]

        doc_lengths = np.frombuffer(self.lengths, dtype=np.int32).astype(np.int64)
        firsts = np.frombuffer(self.firsts, dtype=np.int32).astype(np.int64)
        leads = np.frombuffer(self.leads, dtype=np.int32).astype(np.int64)
        docnums = np.frombuffer(self.docnums, dtype=np.int32)
        chunk_keys = []
        occurrences = np.zeros(len(terms), dtype=np.int64)
        for lo, hi in chunks:
            words = store[_ranges(word_starts[lo:hi], nwords[lo:hi])]
            n_terms = per_word[words]
            keys = rank[flat[_ranges(word_ends[words] - n_terms, n_terms)]]
            occurrences += np.bincount(keys, minlength=len(terms))
            chunk_keys.append(keys)
        del store
        doc_arrays = [(doc_lengths[lo:hi], firsts[lo:hi], leads[lo:hi], docnums[lo:hi]) for lo, hi in chunks]
        self.starts = array("q")
        for kind in ("nwords", "lengths", "firsts", "leads", "docnums"):
            setattr(self, kind, array("i"))

        ends = np.cumsum(occurrences)
        cuts = [0]
        while cuts[-1] < len(terms):
            done = ends[cuts[-1] - 1] if cuts[-1] else 0
            cut = int(np.searchsorted(ends, done + PASS_OCCURRENCES, side="right"))
            cuts.append(min(len(terms), max(cut, cuts[-1] + 1)))
        boost = np.float32(self.field.format.field_boost)
        for first, last in zip(cuts[:-1], cuts[1:], strict=True):
            parts: list[list[np.ndarray]] = [[], [], [], [], []]  # terms, docnums, freqs, weights, positions
            for keys, per_doc in zip(chunk_keys, doc_arrays, strict=True):
                chunk = _chunk_postings(keys, first, last, *per_doc, self.lead_boost)
                for kind, values in zip(parts, chunk, strict=True):
                    kind.append(values)
            yield self._part(terms[first:last], first, parts, boost, lengths)

    def _part(self, terms: list[bytes], first: int, parts: list[list[np.ndarray]], boost, lengths) -> FieldPostings:
        def joined(kind: int) -> np.ndarray:
            whole = np.concatenate(parts[kind])
            parts[kind].clear()
            return whole

        term_of = joined(0)
        order = np.argsort(term_of, kind="stable")  # chunks are in document order
        term_of = term_of[order]
        docs = joined(1)[order]
        freqs = joined(2).astype(np.int64)
        weights = joined(3)[order] * boost
        positions = None
        flat_positions = joined(4)
        if self.positions:
            starts = np.cumsum(freqs) - freqs
            positions = flat_positions[_ranges(starts[order], freqs[order])]
            del starts
        del flat_positions
        freqs = freqs[order]
        postoff = np.searchsorted(term_of, np.arange(first, first + len(terms) + 1)).astype(np.int64)
        return FieldPostings(
            terms=terms,
            postoff=postoff,
            docs=docs,
            weights=weights,
            freqs=freqs,
            lenbytes=length_bytes(lengths[docs]),
            positions=positions,
            kind="positions" if self.positions else "frequency",
        )


#: Documents whose term occurrences are sorted together.
CHUNK_DOCS = 4096
#: Term occurrences per part of a field's postings (what bounds a writer
#: process's memory while it writes a segment: about 60 bytes each).
PASS_OCCURRENCES = 500_000


def _chunk_postings(keys, first, last, counts, firsts, leads, docnums, lead_boost: float):
    """The postings of a few documents for the terms ranked ``first`` to
    ``last``, from all their term occurrences in order (``keys``: term
    ranks; ``counts``: occurrences per document), sorted by term, then
    document: (term, docnum, frequency, weight, positions of every posting,
    in posting order)."""
    doc_index = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    pos = np.arange(len(keys), dtype=np.int64) + np.repeat(firsts - (np.cumsum(counts) - counts), counts)
    in_lead = pos < np.repeat(firsts + leads, counts) if leads.any() else None
    inside = (keys >= first) & (keys < last)
    if not inside.all():
        keys, doc_index, pos = keys[inside], doc_index[inside], pos[inside]
        in_lead = in_lead[inside] if in_lead is not None else None
    n = len(keys)
    # Occurrences are in document order, positions increasing: a stable
    # sort by term leaves each term's by document, then position.
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    doc_index = doc_index[order]
    if in_lead is not None:
        in_lead = in_lead[order]
    positions = pos[order].astype(np.int32)
    del pos, order
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    new[1:] |= doc_index[1:] != doc_index[:-1]
    starts = np.flatnonzero(new)
    freqs = np.diff(np.append(starts, n)).astype(np.int32)
    if in_lead is not None and n:
        lead_count = np.add.reduceat(in_lead, starts).astype(np.float64)
        weights = lead_count * lead_boost + (freqs - lead_count)
    else:
        weights = freqs.astype(np.float64)
    # Sums of halves and units: float32 holds them exactly (as Whoosh's blocks do).
    return keys[starts], docnums[doc_index[starts]], freqs, weights.astype(np.float32), positions


class _Postings:
    """Another indexed field's postings (ids, dates: a few per document, no
    value each), as Whoosh's field gives them: term → documents and weights."""

    def __init__(self) -> None:
        self.terms: dict[bytes, tuple[array, array]] = {}

    def add(self, docnum: int, items) -> None:
        for tbytes, _freq, weight, _value in items:
            entry = self.terms.get(tbytes)
            if entry is None:
                entry = self.terms[tbytes] = (array("I"), array("d"))
            entry[0].append(docnum)
            entry[1].append(weight)

    def postings(self) -> FieldPostings:
        terms = sorted(self.terms)
        docs = [np.frombuffer(self.terms[t][0], dtype=np.uint32) for t in terms]
        weights = [np.frombuffer(self.terms[t][1], dtype=np.float64) for t in terms]
        self.terms = {}
        postoff = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in docs], out=postoff[1:])
        docs_all = np.concatenate(docs).astype(np.int64) if docs else np.zeros(0, np.int64)
        return FieldPostings(
            terms=terms,
            postoff=postoff,
            docs=docs_all,
            weights=np.concatenate(weights).astype(np.float32) if weights else np.zeros(0, np.float32),
            freqs=np.ones(len(docs_all), dtype=np.int64),
            lenbytes=np.zeros(len(docs_all), dtype=np.uint8),
            kind="existence",
        )


class SegmentBuilder:
    """Documents in (:meth:`add_document`, Whoosh's field keywords), one
    segment of the index in ``storage`` out (:meth:`finish`)."""

    def __init__(
        self,
        storage: Storage,
        schema: Schema,
        words: Words | None = None,
        indexname: str = "MAIN",
        *,
        signatures: bool = True,
    ) -> None:
        """``signatures``: compute each body's wire-copy signature
        (:mod:`.copies`) as it comes; a merge gathers its sources' instead."""
        if words is None:
            words = Words(word_caches(schema))
        words.reset_if_large()
        self.words = words
        if not supports(schema):
            raise ValueError("this schema needs Whoosh's own writer (term vectors or spelling fields)")
        self.storage, self.schema = storage, schema
        self.codec = W3Codec()
        self.segment = self.codec.new_segment(storage, indexname)
        self.perdoc = self.codec.per_document_writer(storage, self.segment)
        self.docnum = 0
        self.runs: dict[str, _TermRuns] = {}
        self.store = array("i")
        self.others: dict[str, _Postings] = {}
        self.lengths: dict[str, array] = {}
        self.signatures: list[np.ndarray] | None = [] if signatures else None
        for name, field in schema.items():
            if not field.indexed:
                continue
            if _bulk(field) and name in words.fields:
                self.runs[name] = _TermRuns(field, words, name, self.store)
                self.lengths[name] = array("i")
            else:
                self.others[name] = _Postings()

    def add_document(self, **fields) -> None:
        """What Whoosh's ``SegmentWriter.add_document`` does, the postings aside."""
        schema, perdoc, docnum = self.schema, self.perdoc, self.docnum
        if "meaning" in schema and "meaning" not in fields:  # computed here: in the worker, when several
            fields["meaning"] = document_vector(fields.get("title") or "", fields.get("body") or "")
        if "title_meaning" in schema and "title_meaning" not in fields:
            fields["title_meaning"] = title_vector(fields.get("title") or "")
        names = sorted(name for name in fields if not name.startswith("_"))
        for name in names:
            if name not in schema:
                raise UnknownFieldError(f"No field named {name!r} in {schema}")
        perdoc.start_doc(docnum)
        lengths = dict.fromkeys(self.lengths, 0)
        split: dict[tuple[str, float], tuple[list[int], int, int]] = {}  # text and exact share one value
        for name in names:
            value = fields[name]
            if value is None:
                continue
            field = schema[name]
            length = 0
            if name in self.runs and isinstance(value, str):
                runs = self.runs[name]
                key = (value, runs.lead_boost)
                numbered = split.get(key)
                if numbered is None:
                    lead, rest = split_words(self.words.caches[name], value, runs.lead_boost)
                    numbers = list(map(self.words.__getitem__, lead + rest))
                    numbered = split[key] = (numbers, len(lead), len(self.store))
                    self.store.extend(numbers)
                length = runs.add(docnum, *numbered)
            elif field.indexed:
                if name in self.runs:
                    raise ValueError(f"field {name!r}: the bulk writer indexes text only, got {type(value).__name__}")
                self.others[name].add(docnum, field.index(value))
            if name in lengths:
                lengths[name] = length
            perdoc.add_field(name, field, value if field.stored else None, length)
            column = field.column_type
            if column:
                perdoc.add_column_value(name, column, field.to_column_value(value))
        for name, length in lengths.items():
            self.lengths[name].append(length)
        if self.signatures is not None:
            self.signatures.append(copies.signature(fields.get("body") or "", fields.get("title") or ""))
        perdoc.finish_doc()
        self.docnum += 1

    def __len__(self) -> int:
        return self.docnum

    def finish(self, folder: Path):
        """Write the segment's postings, term index and packed postings, and
        assemble its compound file. Returns Whoosh's segment object."""
        self.words.forget_analyses()  # every word seen is numbered, with its terms
        self.perdoc.close()
        writer = self.codec.field_writer(self.storage, self.segment)
        _hash_terms_with_crc32(writer)
        packed_counts = {}
        for name in sorted(set(self.runs) | set(self.others)):
            field = self.schema[name]
            writer.start_field(name, field)
            if name in self.runs:
                lengths = np.frombuffer(self.lengths[name], dtype=np.int32).astype(np.int64)
                arrays = None
                if name in packed.PACKED_FIELDS:
                    arrays = packed.FieldWriter(folder, self.segment.segment_id(), name)
                for part in self.runs[name].postings(lengths):
                    write_field(writer._postfile, writer._tindex, writer._fieldid, part)
                    if arrays is not None:
                        arrays.add(part)
                    del part
                if arrays is not None:
                    packed_counts[name] = arrays.close()
            else:
                write_field(writer._postfile, writer._tindex, writer._fieldid, self.others[name].postings())
            writer.finish_field()
        writer.close()
        self.segment.set_doc_count(self.docnum)
        self.segment.create_compound_file(self.storage)
        if self.signatures is not None:
            copies.save_signatures(folder, self.segment.segment_id(), self.signatures)
        packed.save_marker(folder, self.segment.segment_id(), self.docnum, packed_counts)
        return self.segment

    def cancel(self) -> None:
        if not self.perdoc.is_closed:
            self.perdoc.close()


def _hash_terms_with_crc32(writer) -> None:
    """Give a new field writer a term index hashed with CRC-32 instead of
    MD5 (a few microseconds a term less). The hash type is in the file's
    header, and every Whoosh reader reads it from there."""
    dbfile = writer._tindex.dbfile
    fieldmap = writer._fieldmap
    dbfile.seek(writer._tindex.startoffset)
    tindex = filetables.OrderedHashWriter.__new__(filetables.OrderedHashWriter)
    filetables.HashWriter.__init__(tindex, dbfile, hashtype=_CRC32)
    tindex.index = GrowableArray("H")
    tindex.lastkey = b""
    tindex.extras["fieldmap"] = fieldmap
    writer._tindex = tindex


_CRC32 = filetables._hash_functions.index(filetables.crc_hash)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indexes ``starts[i] .. starts[i] + lengths[i]``, one range after another."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def word_caches(schema: Schema) -> dict[str, WordCache]:
    """A per-word cache for each French text field, to share between the
    segments a process builds (the words of one batch recur in the next).
    Fields whose chains differ only in the weight of the lead (``text`` and
    ``title``) share one: a word alone has no lead, its terms are the same."""
    caches: dict[str, WordCache] = {}
    chains: list[tuple[object, WordCache]] = []
    for name, field in schema.items():
        if not _bulk(field):
            continue
        chain_ = _without_lead_boost(field.analyzer)
        cache = next((c for other, c in chains if other == chain_), None)
        if cache is None:
            cache = WordCache(field.analyzer)
            if not cache.usable:
                continue
            chains.append((chain_, cache))
        caches[name] = cache
    return caches


def _lead_boost(analyzer) -> float:
    tokenizer = getattr(analyzer, "items", [None])[0]
    return getattr(tokenizer, "lead_boost", 1.0)


def _without_lead_boost(analyzer):
    """A copy of ``analyzer`` whose tokenizer weighs the lead as the rest."""
    copy = deepcopy(analyzer)
    tokenizer = getattr(copy, "items", [None])[0]
    if hasattr(tokenizer, "lead_boost"):
        tokenizer.lead_boost = 1.0
    return copy


def _bulk(field) -> bool:
    """Whether a field's postings can be made from its term sequence: our
    French text, with positions or frequencies."""
    return isinstance(field, FrenchText) and type(field.format) in (formats.Positions, formats.Frequency)
