"""Packed postings: each segment's posting lists as flat arrays that numpy reads in one call.

Whoosh keeps postings in blocks of 128 decoded by Python code, and each
posting's positions in a pickle of its own: reading them was most of a fresh
query's time, and the time grew with the archive. Beside each segment's
Whoosh files a generation holds the same postings packed per field (sorted
terms, then every term's documents, weights and, for ``text``, positions,
contiguous), as ``.npy`` files that searching processes memory-map: the
workers of a host share them through the page cache, and a term's whole list
is a slice.

They are written right after the segment (:func:`write_packed`, by the
reindex, before the generation is sealed) and hold exactly what Whoosh's
blocks hold (``tests/test_packed.py`` compares them). A generation without
them (built by an older version) is still searched, through Whoosh's blocks.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from itertools import chain
from pathlib import Path

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.reading import IndexReader, TermNotFound

from ..errors import IndexWriteError
from . import copies

#: The fields packed, and whether their positions are too: ``text`` is what
#: every query scores and what the pair bonus checks for adjacent words;
#: ``exact`` holds quoted phrases and words that analyse into several terms
#: (« aujourd'hui », « qu'elle »); ``title`` keeps no positions.
PACKED_FIELDS = {"text": True, "exact": True, "title": False}

#: Version of the files' layout, in each segment's marker file. 3: each
#: array in its narrowest type, no weights where they are the frequencies.
FORMAT = 3
#: Versions this one reads (the types are in the ``.npy`` headers).
READABLE = (2, 3)

PREFIX = "packed-"
#: Term look-ups remembered per field and segment.
FOUND_CACHE = 65_536


def marker_path(folder: Path, segment_id: str) -> Path:
    """The file that says a segment's packed postings are complete (written last)."""
    return Path(folder) / f"{PREFIX}{segment_id}.json"


def array_path(folder: Path, segment_id: str, field: str, kind: str) -> Path:
    return Path(folder) / f"{PREFIX}{segment_id}-{field}-{kind}.npy"


# Writing ----------------------------------------------------------------------


def write_packed(folder: Path, reader: IndexReader, procs: int = 1) -> list[str]:
    """Pack the postings of every segment of ``reader`` (the index in
    ``folder``) that has none yet, ``procs`` segments at a time, and remove
    those of segments that are gone (merged away). Returns the ids of the
    segments packed."""
    folder = Path(folder)
    leaves = list(_leaves(reader))
    live_ids = {r._segment.segment_id() for r, _ in leaves}
    missing = [r for r, _ in leaves if not marker_path(folder, r._segment.segment_id()).exists()]
    if procs > 1 and len(missing) > 1:
        try:
            with ProcessPoolExecutor(max_workers=min(procs, len(missing))) as pool:
                ids = [r._segment.segment_id() for r in missing]
                list(pool.map(_pack_in_process, [folder] * len(missing), ids))
        except BrokenProcessPool as e:  # killed, or out of memory: the generation is not published
            raise IndexWriteError(
                f"a writer process died while packing the postings in {folder} (killed, or out of memory); "
                "the previous generation is untouched"
            ) from e
    else:
        for r in missing:
            _pack_segment(folder, r)
    for entry in folder.glob(f"{PREFIX}*"):
        segment_id = entry.name[len(PREFIX) :].split("-", 1)[0].split(".", 1)[0]
        if segment_id not in live_ids:
            entry.unlink(missing_ok=True)
    return [r._segment.segment_id() for r in missing]


def _pack_in_process(folder: Path, segment_id: str) -> None:
    """:func:`_pack_segment` in a worker process, which opens the index itself."""
    from whoosh import index as whoosh_index

    from ..text import whoosh_patches

    whoosh_patches.install_reader()
    with whoosh_index.open_dir(str(folder)).reader() as reader:
        for r, _ in _leaves(reader):
            if r._segment.segment_id() == segment_id:
                _pack_segment(folder, r)
                return
    raise LookupError(f"segment {segment_id} is not in {folder}")


def _pack_segment(folder: Path, r: IndexReader) -> None:
    segment_id = r._segment.segment_id()
    if not copies.signature_path(folder, segment_id).exists():  # a merge gathers its sources'
        copies.write_signatures(folder, segment_id, _bodies(r))
    counts = {}
    for field, with_positions in PACKED_FIELDS.items():
        if field in r.schema:
            counts[field] = _write_field(folder, segment_id, r, field, with_positions)
    save_marker(folder, segment_id, r.doc_count_all(), counts)


def _bodies(r: IndexReader) -> Iterator[tuple[str, str]]:
    """Every stored (body, title) of a segment, in docnum order (deleted ones too: rows stay aligned)."""
    for docnum in range(r.doc_count_all()):
        stored = r.stored_fields(docnum)
        yield stored.get("body") or "", stored.get("title") or ""


def save_marker(folder: Path, segment_id: str, doc_count: int, counts: dict) -> None:
    """Say that a segment's packed postings are complete (written last)."""
    marker = {"format": FORMAT, "doc_count": doc_count, "fields": counts}
    _write_atomically(marker_path(folder, segment_id), json.dumps(marker).encode("utf-8"))


def _write_field(folder: Path, segment_id: str, r: IndexReader, field: str, with_positions: bool) -> dict:
    terms: list[bytes] = []
    starts = [0]
    docs: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    freqs: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    count = 0
    for term, info in _field_items(r, field):
        for ids, ws, fs, ps in _term_blocks(r, field, term, with_positions, info):
            docs.append(ids)
            weights.append(ws)
            if with_positions:  # 4 bytes each while collecting: a segment's positions are many
                freqs.append(fs.astype(np.uint32))
                positions.append(ps.astype(np.uint32))
            count += len(ids)
        terms.append(term)
        starts.append(count)
    return save_field(
        folder,
        segment_id,
        field,
        _Arrays(
            terms=terms,
            postoff=np.asarray(starts, dtype=np.int64),
            docs=_concat(docs, np.int32),
            weights=_concat(weights, np.float32),
            freqs=_concat(freqs, np.int64) if with_positions else None,
            positions=_concat(positions, np.uint32) if with_positions else None,
        ),
    )


@dataclass
class _Arrays:
    terms: list[bytes]
    postoff: np.ndarray
    docs: np.ndarray
    weights: np.ndarray
    freqs: np.ndarray | None
    positions: np.ndarray | None


def save_field(folder: Path, segment_id: str, field: str, postings) -> dict:
    """Write one field's packed files from its sorted postings (``terms``,
    ``postoff``, ``docs``, ``weights``, and ``freqs`` and ``positions`` for a
    field that keeps positions). Returns the counts for the marker."""
    writer = FieldWriter(folder, segment_id, field)
    writer.add(postings)
    return writer.close()


#: The types tried for each array, narrowest first: a part whose values the
#: current type cannot hold exactly widens the file written so far. Docnums
#: of a segment of at most 65,536 documents fit in 2 bytes, weights (sums of
#: units and halves) in a half float, most frequencies in a byte.
NARROWEST = {
    "lex": (np.uint8,),
    "docs": (np.uint16, np.int32),
    "weights": (np.float16, np.float32),
    "pos": (np.uint16, np.uint32),
    "freqs": (np.uint8, np.uint16, np.uint32),
    "wat": (np.uint32, np.int64),
    "wval": (np.float16, np.float32),
}


class FieldWriter:
    """One field's packed files, written from parts of its postings that
    follow each other in term order (the bulk writer's parts), so that no
    more than a part is in memory.

    Each array is kept in the narrowest type that holds its values exactly
    (:data:`NARROWEST`). A field with positions keeps its frequencies, and a
    weight is the frequency but for the words of a title (about 6% of
    postings): it keeps only those weights, with where they are (``wat``,
    ``wval``)."""

    def __init__(self, folder: Path, segment_id: str, field: str) -> None:
        self.folder, self.segment_id, self.field = Path(folder), segment_id, field
        self.with_positions = bool(PACKED_FIELDS.get(field))
        kinds = ["lex", "docs"] + (["pos", "freqs", "wat", "wval"] if self.with_positions else ["weights"])
        self.dtypes = {kind: NARROWEST[kind][0] for kind in kinds}
        self.counts = dict.fromkeys(self.dtypes, 0)
        self.raw = {kind: self._tmp(kind, "raw").open("wb") for kind in kinds}
        self.offsets: dict[str, list[np.ndarray]] = {"lexoff": [np.zeros(1, np.int64)], "postoff": [np.zeros(1, np.int64)]}
        if self.with_positions:
            self.offsets["termpos"] = []
        self.keys: list[np.ndarray] = []
        self.terms = 0

    def _tmp(self, kind: str, what: str) -> Path:
        target = array_path(self.folder, self.segment_id, self.field, kind)
        return target.with_name(f".{target.name}.{os.getpid()}.{what}")

    def add(self, postings) -> None:
        terms = postings.terms
        lex = np.frombuffer(b"".join(terms), dtype=np.uint8)
        postoff = np.asarray(postings.postoff, dtype=np.int64)
        ends = np.cumsum([len(t) for t in terms], dtype=np.int64)
        self.offsets["lexoff"].append(self.counts["lex"] + ends)
        self.offsets["postoff"].append(self.counts["docs"] + postoff[1:])
        self.keys.append(term_keys(lex, np.concatenate([[0], ends])))
        parts = {"lex": lex, "docs": np.asarray(postings.docs)}
        weights = np.asarray(postings.weights)
        if self.with_positions:
            freqs = np.asarray(postings.freqs, dtype=np.int64)
            self.offsets["termpos"].append(self.counts["pos"] + np.concatenate([[0], np.cumsum(freqs)])[postoff[:-1]])
            differ = np.flatnonzero(weights != freqs)
            parts |= {"pos": np.asarray(postings.positions), "freqs": freqs}
            parts |= {"wat": self.counts["docs"] + differ, "wval": weights[differ]}
        else:
            parts["weights"] = weights
        for kind, values in parts.items():
            while not _holds(self.dtypes[kind], values):
                self._widen(kind)
            self.raw[kind].write(values.astype(self.dtypes[kind], copy=False).tobytes())
            self.counts[kind] += len(values)
        self.terms += len(terms)

    def _widen(self, kind: str) -> None:
        """Rewrite ``kind``'s values so far in the next wider type."""
        types = NARROWEST[kind]
        wider = types[types.index(self.dtypes[kind]) + 1]
        self.raw[kind].close()
        source = self._tmp(kind, "raw")
        np.fromfile(source, dtype=self.dtypes[kind]).astype(wider).tofile(source)
        self.dtypes[kind] = wider
        self.raw[kind] = source.open("ab")

    def close(self) -> dict:
        """Write the files (each replaced atomically); the counts for the marker."""
        if self.with_positions:
            self.offsets["termpos"].append(np.asarray([self.counts["pos"]], dtype=np.int64))
        arrays = {kind: np.concatenate(parts).astype(np.int64) for kind, parts in self.offsets.items()}
        arrays["keys"] = np.concatenate(self.keys) if self.keys else np.zeros(0, np.uint64)
        for kind, raw in self.raw.items():
            raw.close()
            source = self._tmp(kind, "raw")
            target = array_path(self.folder, self.segment_id, self.field, kind)
            tmp = self._tmp(kind, "tmp")
            header = {
                "descr": np.lib.format.dtype_to_descr(np.dtype(self.dtypes[kind])),
                "fortran_order": False,
                "shape": (self.counts[kind],),
            }
            with tmp.open("wb") as out, source.open("rb") as data:
                np.lib.format.write_array_header_1_0(out, header)
                shutil.copyfileobj(data, out, 1 << 20)
            source.unlink()
            os.replace(tmp, target)
        for kind, array in arrays.items():
            target = array_path(self.folder, self.segment_id, self.field, kind)
            tmp = self._tmp(kind, "tmp")
            with tmp.open("wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, target)
        counts = {"terms": self.terms, "postings": self.counts["docs"]}
        if self.with_positions:
            counts["weights"] = "where not the frequencies"
        return counts


def term_keys(lex: np.ndarray, lexoff: np.ndarray) -> np.ndarray:
    """Each term's first 8 bytes (zero-padded) as one big-endian number: the
    terms' order, up to ties between long terms, in an array that numpy
    searches in one call."""
    lengths = np.diff(lexoff)
    columns = np.arange(8)
    inside = columns < lengths[:, None]
    first = np.zeros((len(lengths), 8), dtype=np.uint8)
    first[inside] = lex[(lexoff[:-1, None] + columns)[inside]]
    return first.view(">u8").ravel().astype(np.uint64)


def _holds(dtype, values: np.ndarray) -> bool:
    """Whether ``dtype`` holds every one of ``values`` exactly."""
    if not len(values):
        return True
    if np.issubdtype(dtype, np.floating):
        return bool(np.array_equal(values.astype(dtype).astype(values.dtype), values))
    info = np.iinfo(dtype)
    return bool(values.min() >= info.min and values.max() <= info.max)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _field_items(r: IndexReader, field: str) -> Iterator[tuple[bytes, object]]:
    """A segment's (term, term info) of one field, in order, read as the term
    index is walked (no look-up per term)."""
    for (fieldname, term), info in r._terms.items_from(field, b""):
        if fieldname != field:
            return
        yield term, info


def _term_blocks(
    r: IndexReader, field: str, term: bytes, with_positions: bool, info: object = None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """A term's postings in a segment, a Whoosh block at a time: (local
    docnums, weights, frequencies, positions) with the positions of the
    whole block flattened (frequencies say how many each posting has)."""
    terms = r._terms
    try:
        # The segment's own matcher, deleted documents included (the live
        # mask hides them): ``r.postings`` would skip them, and skip a whole
        # block of them before the first block could be read.
        if info is None:
            info = terms.term_info(field, term)
        m = terms._codec.postings_reader(terms._postfile, info, r.schema[field].format, term=(field, term))
    except (TermNotFound, KeyError):
        return
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            m._read_data()
            ids = np.asarray(m._data[0], dtype=np.int64)
            if not m._byteids:
                ids = np.cumsum(ids)
            raw = m._data[1]
            if raw is None:
                ws = np.ones(len(ids))
            elif isinstance(raw, float):
                ws = np.full(len(ids), raw)
            else:
                ws = np.asarray(raw, dtype=np.float64)
            if with_positions:
                m._read_values()
                fs, ps = decode_positions_block(list(m._values))
                yield ids, ws, fs, ps
            else:
                yield ids, ws, None, None
            m._next_block()
        return
    ids_list, ws_list, values = [], [], []
    while m.is_active():  # a term in one document: its posting is inlined in the term index
        ids_list.append(m.id())
        ws_list.append(m.weight())
        if with_positions:
            values.append(m.value())
        m.next()
    fs = ps = None
    if with_positions:
        fs, ps = decode_positions_block(values) if values else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    yield np.asarray(ids_list, dtype=np.int64), np.asarray(ws_list, dtype=np.float64), fs, ps


def decode_positions_block(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The positions of many postings encoded by Whoosh's ``Positions`` format
    (a 4-byte count, then a pickled list of deltas), in one ``pickle.loads``:
    the pickles are joined into the pickle of a list of lists. Returns the
    count of each posting and all positions, flattened."""
    # Each value: a 4-byte count, the protocol header (\x80\x02), the list,
    # and the pickle's STOP (which Whoosh's writer may leave out).
    bodies = [v[6:-1] if v[-1:] == b"." else v[6:] for v in values]
    if not all(v[4:6] == b"\x80\x02" for v in values):
        bodies = [_body(v) for v in values]
    lists = pickle.loads(b"\x80\x02(" + b"".join(bodies) + b"l.")
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    deltas = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
    # Deltas restart at each posting: a running sum, minus the sum before each posting.
    running = np.cumsum(deltas)
    firsts = np.cumsum(counts) - counts
    before = np.where(firsts > 0, running[np.maximum(firsts - 1, 0)], 0) if len(running) else firsts
    return counts, running - np.repeat(before, counts)


def _body(value: bytes) -> bytes:
    body = value[4:]
    if body[:2] == b"\x80\x02":
        body = body[2:]
    return body[:-1] if body.endswith(b".") else body


# Reading ----------------------------------------------------------------------


@dataclass
class PackedField:
    """One field of one segment, memory-mapped."""

    lex: np.ndarray
    lexoff: np.ndarray
    postoff: np.ndarray
    docs: np.ndarray
    weights: np.ndarray | None  # None: the frequencies, but at ``wat``
    pos: np.ndarray | None = None
    freqs: np.ndarray | None = None
    termpos: np.ndarray | None = None
    wat: np.ndarray | None = None  # the postings whose weight is not the frequency
    wval: np.ndarray | None = None  # and their weights
    keys: np.ndarray | None = None  # :func:`term_keys` (made on first use for format 2)
    _found: dict[bytes, int] = dataclass_field(default_factory=dict, repr=False, compare=False)
    _checkpoints: dict[int, np.ndarray] = dataclass_field(default_factory=dict, repr=False, compare=False)

    def find(self, term: bytes) -> int:
        """The ordinal of ``term`` in the field's sorted terms, or -1: one
        numpy search of the terms' keys (a binary search over the mapped
        terms cost some twenty slices, per segment and term), then a byte
        comparison. The terms last asked for are remembered: common words
        come back query after query."""
        found = self._found.get(term)
        if found is None:
            found = self._find(term)
            if len(self._found) >= FOUND_CACHE:
                self._found.clear()
            self._found[term] = found
        return found

    def _find(self, term: bytes) -> int:
        if self.keys is None:
            self.keys = term_keys(self.lex, self.lexoff)
        key = np.uint64(int.from_bytes(term[:8].ljust(8, b"\0"), "big"))
        lo = int(self.keys.searchsorted(key))
        if lo == len(self.keys) or self.keys[lo] != key:
            return -1
        terms = _Terms(self.lex, self.lexoff)
        if len(term) > 8:  # terms sharing their first 8 bytes: a binary search among them
            hi = int(self.keys.searchsorted(key, side="right"))
            lo = bisect_left(terms, term, lo, hi)
            if lo == hi:
                return -1
        # A term of 8 bytes or fewer is the first of its key: no term holds a NUL byte.
        return lo if terms[lo] == term else -1

    def terms_with_prefix(self, prefix: bytes, limit: int) -> list[bytes]:
        """The first ``limit`` terms starting with ``prefix``, in order."""
        terms = _Terms(self.lex, self.lexoff)
        lo = bisect_left(terms, prefix)
        hi = min(bisect_left(terms, prefix + b"\xff", lo), lo + limit)  # no UTF-8 byte is 0xff
        if hi <= lo:
            return []
        blob = self.lex[self.lexoff[lo] : self.lexoff[hi]].tobytes()
        cuts = (self.lexoff[lo : hi + 1] - self.lexoff[lo]).tolist()
        return [blob[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]

    def terms_from(self, start: bytes, limit: int) -> list[tuple[bytes, int]]:
        """The first ``limit`` terms from ``start`` on, in order, each with
        the number of documents holding it (deleted ones included)."""
        terms = _Terms(self.lex, self.lexoff)
        lo = bisect_left(terms, start)
        hi = min(lo + limit, len(terms))
        if hi <= lo:
            return []
        blob = self.lex[self.lexoff[lo] : self.lexoff[hi]].tobytes()
        cuts = (self.lexoff[lo : hi + 1] - self.lexoff[lo]).tolist()
        counts = np.diff(self.postoff[lo : hi + 1]).tolist()
        return [(blob[a:b], n) for a, b, n in zip(cuts[:-1], cuts[1:], counts, strict=True)]

    def postings(self, term: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(local docnums, weights) of ``term``, as int32 and float32: views
        of the files when they hold those types, else converted copies."""
        i = self.find(term)
        if i < 0:
            return _NO_DOCS, _NO_WEIGHTS
        start, end = int(self.postoff[i]), int(self.postoff[i + 1])
        docs = self.docs[start:end].astype(np.int32, copy=False)
        if self.weights is not None:
            return docs, self.weights[start:end].astype(np.float32, copy=False)
        assert self.freqs is not None and self.wat is not None and self.wval is not None
        weights = self.freqs[start:end].astype(np.float32)
        # In the array's own type: numpy would convert the whole array to search it.
        lo, hi = np.searchsorted(self.wat, np.asarray([start, end], dtype=self.wat.dtype)).tolist()
        if hi > lo:
            weights[self.wat[lo:hi].astype(np.int64) - start] = self.wval[lo:hi]
        return docs, weights

    def positions(self, term: bytes, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the documents ``local`` (sorted local docnums) that hold ``term``:
        (their docnum repeated once per position, the positions)."""
        assert self.pos is not None and self.freqs is not None and self.termpos is not None
        i = self.find(term)
        if i < 0 or not len(local):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        start, end = int(self.postoff[i]), int(self.postoff[i + 1])
        ids = self.docs[start:end]
        # In the list's own type (values past it clipped: they match nothing),
        # so that numpy does not convert the whole list for the search.
        at = np.searchsorted(ids, np.minimum(local, np.iinfo(ids.dtype).max).astype(ids.dtype))
        inside = at < len(ids)
        inside[inside] = ids[at[inside]] == local[inside]
        at = at[inside]
        if not len(at):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        lengths = self.freqs[start + at].astype(np.int64)
        lo = int(self.termpos[i]) + self._position_starts(i, start, end, at)
        # Each posting's slice of positions, gathered in one index array.
        idx = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        return np.repeat(ids[at].astype(np.int64), lengths), self.pos[idx].astype(np.int64)


    def _position_starts(self, i: int, start: int, end: int, at: np.ndarray) -> np.ndarray:
        """Where the positions of the term's postings ``at`` (sorted indexes
        into its list) start, from the term's first position: a sum of the
        counts before each. A long list keeps the sums at every
        :data:`CHECKPOINT`-th posting (once per process), so that only the
        counts within the blocks wanted are added up, not the whole list's."""
        assert self.freqs is not None
        if end - start <= CHECKPOINT * 8:
            counts = self.freqs[start : start + int(at[-1]) + 1].astype(np.int64)  # up to the last wanted
            return (np.cumsum(counts) - counts)[at]
        checkpoints = self._checkpoints.get(i)
        if checkpoints is None:
            sums = np.add.reduceat(self.freqs[start:end].astype(np.int64), np.arange(0, end - start, CHECKPOINT))
            checkpoints = np.concatenate([[0], np.cumsum(sums)[:-1]])
            if len(self._checkpoints) >= FOUND_CACHE:
                self._checkpoints.clear()
            self._checkpoints[i] = checkpoints
        blocks, row = np.unique(at // CHECKPOINT, return_inverse=True)
        index = start + blocks[:, None] * CHECKPOINT + np.arange(CHECKPOINT)
        counts = self.freqs[np.minimum(index, end - 1)].astype(np.int64)
        counts[index >= end] = 0
        before = np.cumsum(counts, axis=1) - counts  # within each block
        return checkpoints[blocks][row] + before[row, at % CHECKPOINT]


#: Postings between two remembered sums of position counts, in a long list.
CHECKPOINT = 128

_NO_DOCS = np.zeros(0, dtype=np.int32)
_NO_WEIGHTS = np.zeros(0, dtype=np.float32)


class _Terms:
    """The sorted terms of a field as a sequence of bytes, for :func:`bisect_left`."""

    def __init__(self, lex: np.ndarray, lexoff: np.ndarray) -> None:
        self.lex, self.lexoff = lex, lexoff

    def __len__(self) -> int:
        return len(self.lexoff) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.lex[self.lexoff[i] : self.lexoff[i + 1]].tobytes()


class PackedSegment:
    """The packed fields of one segment, every file mapped at once: the maps
    stay valid when an old generation's folder is removed under a reader."""

    def __init__(self, folder: Path, segment_id: str, marker: dict) -> None:
        self.segment_id, self.marker = segment_id, marker
        self._fields: dict[str, PackedField] = {}
        for name, counts in marker["fields"].items():
            kinds = ["lex", "lexoff", "postoff", "docs"]
            if PACKED_FIELDS.get(name):
                kinds += ["pos", "freqs", "termpos"]
            kinds += ["wat", "wval"] if "weights" in counts else ["weights"]
            arrays = {kind: _load(array_path(folder, segment_id, name, kind)) for kind in kinds}
            keys = array_path(folder, segment_id, name, "keys")
            if keys.exists():  # else (format 2) made on first use
                arrays["keys"] = _load(keys)
            self._fields[name] = PackedField(**{"weights": None} | arrays)

    def field(self, name: str) -> PackedField | None:
        return self._fields.get(name)


def _load(path: Path) -> np.ndarray:
    """The array in ``path``, memory-mapped, as a plain ``ndarray`` view
    (slicing a ``np.memmap`` goes through Python code: 5x slower lookups)."""
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


def open_packed(folder: Path, reader: IndexReader) -> list[PackedSegment] | None:
    """The packed postings of every segment ``reader`` reads, in its order, or
    ``None`` when a segment has none (a generation from an older version)."""
    segments = []
    for r, _ in _leaves(reader):
        segment = _opened(Path(folder), r._segment.segment_id(), r.doc_count_all())
        if segment is None:
            return None
        segments.append(segment)
    return segments


#: Segments opened, by the identity of their marker file: a new generation
#: hard-links its predecessor's files, so its unchanged segments are the
#: ones already mapped (mapping the 286 files of 100,000 articles again cost
#: the first search after each push 50 ms).
_OPENED: OrderedDict[tuple[int, int, str], PackedSegment] = OrderedDict()
_OPENED_LOCK = threading.Lock()
OPENED_SEGMENTS = 256


def _opened(folder: Path, segment_id: str, doc_count: int) -> PackedSegment | None:
    path = marker_path(folder, segment_id)
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (st.st_dev, st.st_ino, segment_id)
    with _OPENED_LOCK:
        segment = _OPENED.get(key)
        if segment is not None:
            _OPENED.move_to_end(key)
            return segment if segment.marker.get("doc_count") == doc_count else None
    try:
        marker = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if marker.get("format") not in READABLE or marker.get("doc_count") != doc_count:
        return None
    try:
        segment = PackedSegment(folder, segment_id, marker)
    except (OSError, ValueError):  # a file missing or damaged: Whoosh's blocks will do
        return None
    with _OPENED_LOCK:
        _OPENED[key] = segment
        while len(_OPENED) > OPENED_SEGMENTS:
            _OPENED.popitem(last=False)
    return segment


def _leaves(reader: IndexReader) -> Iterator[tuple[IndexReader, int]]:
    """Each segment's reader and its first docnum (none for an empty index)."""
    pairs = [(reader, 0)] if reader.is_atomic() else reader.leaf_readers()
    for r, offset in pairs:
        if hasattr(r, "_segment"):
            yield r, offset
