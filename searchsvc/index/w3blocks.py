"""Whoosh 3 posting lists encoded from arrays, a field at a time.

Whoosh's own writer (``W3PostingsWriter``) makes several Python calls per
posting: it appends each to a block, pickles each posting's positions on
their own, and pickles each block of 128. Here a field's postings, sorted by
(term, document), are turned into the same blocks with numpy: the pickle
opcodes of every block are laid out as rows of a byte matrix and joined in
one pass, and Python is left with one ``zlib.compress`` per block and one
term-index entry per term.

What is written reads back through Whoosh's reader (an unpatched one
included) as exactly what its writer writes: the same documents, weights,
positions, block statistics and term infos. The bytes differ in ways no
reader sees: numbers are pickled without memo entries and byte strings with
the ``SHORT_BINBYTES`` opcode, which every unpickler reads whatever protocol
the pickle declares. ``tests/test_bulk_writer.py`` compares the two writers.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.system import pack_ushort

#: Postings per block, as Whoosh's W3 codec writes them (``blocklimit``).
BLOCK = 128
#: zlib level of the blocks, Whoosh's default (``compression=3``).
COMPRESSION = 3
#: Blocks smaller than this are stored as they are (the block header says
#: so): zlib makes them no smaller, and costs as much as a large one.
RAW_BELOW = 64
#: Postings encoded per numpy pass: bounds the byte matrix (about 60 bytes
#: per posting with positions) whatever the size of the segment.
CHUNK_POSTINGS = 200_000

#: W3TermInfo.to_bytes of a list in the postings file: its ``!BfIBBfII``
#: struct, then the list's offset (``!q``) and length (``!i``).
_TERMINFO_DTYPE = np.dtype(
    [
        ("inlined", "u1"),
        ("weight", ">f4"),
        ("df", ">u4"),
        ("minlen", "u1"),
        ("maxlen", "u1"),
        ("maxweight", ">f4"),
        ("minid", ">u4"),
        ("maxid", ">u4"),
        ("offset", ">i8"),
        ("length", ">i4"),
    ]
)
_LENGTHS = struct.Struct("!ii")  # filetables' record header: key and value lengths
_WIDTH = 9  # the widest row: a float opcode and 8 bytes

# Pickle opcodes
_MARK, _TUPLE, _TUPLE3, _STOP = 0x28, 0x74, 0x87, 0x2E
_NONE, _FLOAT = 0x4E, 0x47
_INT1, _INT2, _INT4 = 0x4B, 0x4D, 0x4A
_BYTES1, _BYTES4 = 0x43, 0x42
_LIST, _APPENDS = 0x5D, 0x65
_PROTO2 = (0x80, 0x02)


@dataclass
class FieldPostings:
    """One field's postings, sorted by term then document.

    ``terms`` are the sorted term bytes; the postings of term ``i`` are
    ``postoff[i]:postoff[i + 1]``. ``positions`` (absolute, each posting's
    ``freqs[j]`` of them in order) only for a field that keeps them.
    ``lenbytes`` is each posting's document length in the field as Whoosh's
    length byte (``length_to_byte``)."""

    terms: list[bytes]
    postoff: np.ndarray
    docs: np.ndarray
    weights: np.ndarray
    freqs: np.ndarray
    lenbytes: np.ndarray
    positions: np.ndarray | None = None
    #: What each posting's value holds: ``positions`` (a pickled list of
    #: deltas), ``frequency`` (4 bytes, joined per block) or ``existence`` (none).
    kind: str = "positions"


def write_field(postfile, tindex, fieldid: int, postings: FieldPostings) -> None:
    """Append every posting list of a field to ``postfile`` (a Whoosh
    ``StructFile``) and each term's info to ``tindex`` (the segment's term
    index, an ``OrderedHashWriter``), in term order."""
    postoff = np.asarray(postings.postoff, dtype=np.int64)
    n_terms = len(postings.terms)
    if not n_terms:
        return
    pos_starts = None
    if postings.kind == "positions":
        pos_starts = np.zeros(len(postings.docs) + 1, dtype=np.int64)
        np.cumsum(postings.freqs, out=pos_starts[1:])
    prefix = pack_ushort(fieldid)
    first = 0
    while first < n_terms:
        # The terms of this pass: at least one, then up to CHUNK_POSTINGS postings.
        limit = postoff[first] + CHUNK_POSTINGS
        last = max(first + 1, int(np.searchsorted(postoff, limit, side="right")) - 1)
        last = min(last, n_terms)
        _write_terms(postfile, tindex, prefix, postings, postoff, pos_starts, first, last)
        first = last


def _write_terms(postfile, tindex, prefix, p: FieldPostings, postoff, pos_starts, t0: int, t1: int) -> None:
    lo, hi = int(postoff[t0]), int(postoff[t1])
    counts = np.diff(postoff[t0 : t1 + 1])
    docs = np.asarray(p.docs[lo:hi], dtype=np.int64)
    weights = np.asarray(p.weights[lo:hi], dtype=np.float64)
    freqs = np.asarray(p.freqs[lo:hi], dtype=np.int64)
    lenbytes = np.asarray(p.lenbytes[lo:hi], dtype=np.int64)

    # Blocks of BLOCK postings within each term.
    per_term = (counts + BLOCK - 1) // BLOCK
    n_blocks = int(per_term.sum())
    block_term = np.repeat(np.arange(len(counts)), per_term)
    term_first_block = np.cumsum(per_term) - per_term
    k = np.arange(n_blocks) - term_first_block[block_term]
    term_start = postoff[t0:t1] - lo
    bstart = term_start[block_term] + k * BLOCK
    bend = np.minimum(bstart + BLOCK, (postoff[t0 + 1 : t1 + 1] - lo)[block_term])
    bn = bend - bstart
    block_of = np.repeat(np.arange(n_blocks), bn)
    first_in_block = np.zeros(len(docs), dtype=bool)
    first_in_block[bstart] = True
    at = np.arange(len(docs)) - bstart[block_of]  # index within the block

    # What each block's header says, and how its weights are minified.
    wmax = np.maximum.reduceat(weights, bstart)
    wmin = np.minimum.reduceat(weights, bstart)
    minlb = np.minimum.reduceat(lenbytes, bstart)
    maxlb = np.maximum.reduceat(lenbytes, bstart)
    w_none = (wmin == 1.0) & (wmax == 1.0)
    w_tuple = wmin != wmax
    w_rows = np.where(w_tuple, bn + 2, 1)

    # Values: positions pickled per posting, or frequencies joined.
    if pos_starts is not None:
        positions = np.asarray(p.positions[pos_starts[lo] : pos_starts[hi]], dtype=np.int64)
        posting_of = np.repeat(np.arange(len(docs)), freqs)
        starts = pos_starts[lo:hi] - pos_starts[lo]
        deltas = positions.copy()
        deltas[1:] -= positions[:-1]
        deltas[starts] = positions[starts]  # each posting's first: from 0
        dwidth = _int_widths(deltas)
        value_len = 10 + np.add.reduceat(dwidth, starts) if len(dwidth) else np.zeros(0, np.int64)
        block_f = np.add.reduceat(freqs, bstart)
        v_rows = 2 + 4 * bn + block_f
    elif p.kind == "frequency":
        v_rows = 1 + bn
    else:
        v_rows = np.ones(n_blocks, dtype=np.int64)

    rows = 1 + bn + 1 + w_rows + v_rows + 1
    row0 = np.cumsum(rows) - rows
    total_rows = int(rows.sum())
    m = np.zeros((total_rows, _WIDTH), dtype=np.uint8)
    length = np.zeros(total_rows, dtype=np.int64)

    def put(where, matrix, lens):
        m[where, : matrix.shape[1]] = matrix
        length[where] = lens

    put(row0, _const(len(row0), (*_PROTO2, _MARK)), 3)
    id_deltas = docs.copy()
    id_deltas[1:] -= docs[:-1]
    id_deltas[first_in_block] = docs[first_in_block]
    put(row0[block_of] + 1 + at, *_int_rows(id_deltas))
    put(row0 + 1 + bn, _const(n_blocks, (_TUPLE,)), 1)
    ws = row0 + 2 + bn
    single = ~w_tuple
    put(ws[single & w_none], _const(int((single & w_none).sum()), (_NONE,)), 1)
    scalar = single & ~w_none
    put(ws[scalar], _float_rows(wmax[scalar]), 9)
    put(ws[w_tuple], _const(int(w_tuple.sum()), (_MARK,)), 1)
    in_tuple = w_tuple[block_of]
    put((ws[block_of] + 1 + at)[in_tuple], _float_rows(weights[in_tuple]), 9)
    put((ws + 1 + bn)[w_tuple], _const(int(w_tuple.sum()), (_TUPLE,)), 1)
    vs = ws + w_rows
    if pos_starts is not None:
        put(vs, _const(n_blocks, (_MARK,)), 1)
        before = np.cumsum(freqs) - freqs  # positions before each posting, in its block
        before -= before[bstart][block_of]
        ps = vs[block_of] + 1 + 4 * at + before
        put(ps, *_bytes_prefix(value_len))
        put(ps + 1, freqs.astype(">u4").view(np.uint8).reshape(-1, 4), 4)
        put(ps + 2, _const(len(ps), (*_PROTO2, _LIST, _MARK)), 4)
        within = np.arange(len(deltas)) - np.repeat(starts, freqs)
        put(ps[posting_of] + 3 + within, *_int_rows(deltas, dwidth))
        put(ps + 3 + freqs, _const(len(ps), (_APPENDS, _STOP)), 2)
        put(vs + 1 + 4 * bn + block_f, _const(n_blocks, (_TUPLE,)), 1)
    elif p.kind == "frequency":
        put(vs, *_bytes_prefix(4 * bn))
        put(vs[block_of] + 1 + at, freqs.astype(">u4").view(np.uint8).reshape(-1, 4), 4)
    else:
        put(vs, _const(n_blocks, (_NONE,)), 1)
    put(row0 + rows - 1, _const(n_blocks, (_TUPLE3, _STOP)), 2)

    data = m[np.arange(_WIDTH) < length[:, None]]
    cum = np.cumsum(length)
    begins, ends = cum[row0] - length[row0], cum[row0 + rows - 1]
    del cum

    # Python from here: one compress per block; the rest is laid out with numpy.
    sizes = ends - begins
    raw = sizes < RAW_BELOW
    wbits = np.clip(np.ceil(np.log2(np.maximum(sizes, 2))), 9, 15).astype(np.int64).tolist()
    compress = zlib.compress
    payloads = [
        data[b:e].tobytes() if r else compress(data[b:e], COMPRESSION, w)
        for b, e, r, w in zip(begins.tolist(), ends.tolist(), raw.tolist(), wbits, strict=True)
    ]
    del data
    plen = np.fromiter(map(len, payloads), dtype=np.int64, count=n_blocks)
    last_ids = docs[bend - 1]
    infos, info_len = _block_infos(bn, last_ids, wmax, np.where(raw, 0, COMPRESSION), minlb, maxlb)
    is_last = k == per_term[block_term] - 1
    heads = np.where(is_last, -(info_len + plen), info_len + plen).astype(">i4").tobytes()
    info_at = np.concatenate([[0], np.cumsum(info_len)]).tolist()
    pieces = []
    add = pieces.append
    firsts = (k == 0).tolist()
    for j in range(n_blocks):
        if firsts[j]:
            add(WHOOSH3_HEADER_MAGIC)
        add(heads[4 * j : 4 * j + 4])
        add(infos[info_at[j] : info_at[j + 1]])
        add(payloads[j])
    # Where each term's list starts and how long it is, in the postings file.
    block_bytes = 4 + info_len + plen + np.where(k == 0, len(WHOOSH3_HEADER_MAGIC), 0)
    term_bytes = np.add.reduceat(block_bytes, term_first_block)
    offsets = postfile.tell() + np.cumsum(term_bytes) - term_bytes
    postfile.write(b"".join(pieces))

    infos_t = np.zeros(len(counts), dtype=_TERMINFO_DTYPE)
    infos_t["weight"] = np.add.reduceat(weights, term_start)
    infos_t["df"] = counts
    infos_t["minlen"] = np.minimum.reduceat(minlb, term_first_block)
    infos_t["maxlen"] = np.maximum.reduceat(maxlb, term_first_block)
    infos_t["maxweight"] = np.maximum.reduceat(wmax, term_first_block)
    infos_t["minid"] = docs[term_start]
    infos_t["maxid"] = last_ids[term_first_block + per_term - 1]
    infos_t["offset"] = offsets
    infos_t["length"] = term_bytes
    values = infos_t.tobytes()
    size = _TERMINFO_DTYPE.itemsize
    keys = [prefix + term for term in p.terms[t0:t1]]
    add_terms(tindex, keys, [values[i : i + size] for i in range(0, len(values), size)])


def add_terms(tindex, keys: list[bytes], values: list[bytes]) -> None:
    """Whoosh's ``OrderedHashWriter.add`` for many keys at once: the records
    written in one call, the hash and position of each remembered as
    ``add`` would (its state, read back when the file is closed)."""
    if not keys:
        return
    if keys[0] <= tindex.lastkey or any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
        raise ValueError(f"keys must increase: {tindex.lastkey!r}..{keys[0]!r}")
    dbfile = tindex.dbfile
    start = dbfile.tell()
    records = [_LENGTHS.pack(len(key), len(value)) + key + value for key, value in zip(keys, values, strict=True)]
    positions = (start + np.cumsum([0, *map(len, records[:-1])])).tolist()
    dbfile.write(b"".join(records))
    hashfn, buckets = tindex.hashfn, tindex.buckets
    for key, pos in zip(keys, positions, strict=True):
        h = hashfn(key)
        buckets[h & 255].append((h, pos))
    index = tindex.index  # a GrowableArray: widened first if the last position needs it
    index.append(positions[-1])
    index.array.pop()
    index.array.extend(positions)
    tindex.lastkey = keys[-1]


def _block_infos(n, last_ids, maxweight, level, minlb, maxlb) -> tuple[bytes, np.ndarray]:
    """Each block's header tuple ``(postings, last id, highest weight,
    compression, shortest length byte, longest)``, pickled; and each one's length."""
    count = len(n)
    per = 8  # rows per header
    m = np.zeros((count * per, _WIDTH), dtype=np.uint8)
    length = np.zeros(count * per, dtype=np.int64)
    base = np.arange(count) * per

    def put(where, matrix, lens):
        m[where, : matrix.shape[1]] = matrix
        length[where] = lens

    put(base, _const(count, (*_PROTO2, _MARK)), 3)
    put(base + 1, *_int_rows(np.asarray(n, dtype=np.int64)))
    put(base + 2, *_int_rows(np.asarray(last_ids, dtype=np.int64)))
    put(base + 3, _float_rows(np.asarray(maxweight, dtype=np.float64)), 9)
    put(base + 4, *_int_rows(np.asarray(level, dtype=np.int64)))
    put(base + 5, *_int_rows(np.asarray(minlb, dtype=np.int64)))
    put(base + 6, *_int_rows(np.asarray(maxlb, dtype=np.int64)))
    put(base + 7, _const(count, (_TUPLE, _STOP)), 2)
    data = m[np.arange(_WIDTH) < length[:, None]].tobytes()
    return data, length.reshape(count, per).sum(axis=1)


def _const(n: int, values: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, dtype=np.uint8), (n, len(values)))


def _int_widths(values: np.ndarray) -> np.ndarray:
    """Bytes each number takes pickled: BININT1, BININT2 or BININT."""
    return np.where(values < 256, 2, np.where(values < 65536, 3, 5))


def _int_rows(values: np.ndarray, widths: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows pickling non-negative numbers below 2**31, as the pickle module
    would: the smallest of BININT1, BININT2, BININT."""
    if widths is None:
        widths = _int_widths(values)
    rows = np.empty((len(values), 5), dtype=np.uint8)
    rows[:, 0] = np.where(widths == 2, _INT1, np.where(widths == 3, _INT2, _INT4))
    rows[:, 1:] = values.astype("<i4").view(np.uint8).reshape(-1, 4)
    return rows, widths


def _float_rows(values: np.ndarray) -> np.ndarray:
    rows = np.empty((len(values), 9), dtype=np.uint8)
    rows[:, 0] = _FLOAT
    rows[:, 1:] = values.astype(">f8").view(np.uint8).reshape(-1, 8)
    return rows


def _bytes_prefix(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows opening byte strings of ``lengths``: SHORT_BINBYTES below 256
    bytes, BINBYTES above."""
    rows = np.empty((len(lengths), 5), dtype=np.uint8)
    short = lengths < 256
    rows[:, 0] = np.where(short, _BYTES1, _BYTES4)
    rows[:, 1:] = lengths.astype("<u4").view(np.uint8).reshape(-1, 4)
    return rows, np.where(short, 2, 5)
