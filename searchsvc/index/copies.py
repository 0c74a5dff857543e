"""Wire copies: one agency story republished by several outlets (near-identical
bodies under other titles, sources or dates), found at index time so that
the results show it once.

Two steps, both at index time:

* each segment's articles get a MinHash signature of their body (datasketch,
  over word 3-shingles), written beside the segment's packed postings
  (``packed-<segment>-minhash.npy``) when it is packed: computed once per
  segment, hard-linked by the generations that keep it, gathered from its
  sources' when segments merge;
* each generation gets ``copies.npy``: for every document, the number of its
  group of copies (-1: it has none). Candidates share one LSH band of their
  signatures; a pair is a copy when the signatures agree on at least
  :data:`THRESHOLD` of their values (the estimated Jaccard similarity of the
  shingles); groups are the connected pairs. Only live documents count, so
  a retracted article leaves its group, and a generation written by a push,
  an incremental reindex or a merge groups its new articles with the old.

A body shorter than :data:`MIN_WORDS` words gets no signature: short
templated texts (« Résultats du tirage du 12 mai ») are alike without being
copies.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from datasketch import MinHash
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from whoosh.reading import IndexReader

#: Values of a signature; LSH bands × rows of each.
NUM_PERM = 64
BANDS, ROWS = 16, 4
#: Words per shingle.
SHINGLE = 3
#: Signature values two bodies must share to be copies (their estimated
#: Jaccard similarity). Measured on OrangeSum with injected copies
#: (bench/bench_copies.py).
THRESHOLD = 0.8
#: Shorter bodies are never copies (no signature).
MIN_WORDS = 40
#: The first words of a body only: a copy is recognised by its text, and a
#: long one would cost more for nothing.
MAX_WORDS = 2000
#: What a document without a signature holds in its row.
NO_SIGNATURE = np.uint32(0xFFFFFFFF)

GROUPS_FILE = "copies.npy"
_WORD = re.compile(r"\w+")
_SEED = 1


def signature_path(folder: Path, segment_id: str) -> Path:
    """Where a segment's signatures are (named as its packed arrays, so that they go with them)."""
    return Path(folder) / f"packed-{segment_id}-minhash.npy"


def signature(body: str) -> np.ndarray:
    """A body's :data:`NUM_PERM` MinHash values, or :data:`NO_SIGNATURE` in
    each when it is too short to be a copy."""
    words = _WORD.findall(body.lower())[:MAX_WORDS]
    if len(words) < MIN_WORDS:
        return np.full(NUM_PERM, NO_SIGNATURE, dtype=np.uint32)
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, hashfunc=zlib.crc32)
    minhash.update_batch([" ".join(words[j : j + SHINGLE]).encode() for j in range(len(words) - SHINGLE + 1)])
    return minhash.hashvalues.astype(np.uint32)


def signatures(bodies: Iterable[str]) -> np.ndarray:
    """One row of :func:`signature` per body."""
    rows = [signature(body) for body in bodies]
    return np.stack(rows) if rows else np.zeros((0, NUM_PERM), dtype=np.uint32)


def write_signatures(folder: Path, segment_id: str, bodies: Iterable[str]) -> None:
    """Save a segment's signatures, from its bodies in docnum order."""
    _save(signature_path(folder, segment_id), signatures(bodies))


def save_signatures(folder: Path, segment_id: str, rows: list[np.ndarray]) -> None:
    """Save a segment's signatures, computed as its documents came (:func:`signature`)."""
    array = np.stack(rows) if rows else np.zeros((0, NUM_PERM), dtype=np.uint32)
    _save(signature_path(folder, segment_id), array)


def write_gathered(folder: Path, segment_id: str, sources: dict[str, Path], order: list[tuple[str, int]]) -> bool:
    """A merged segment's signatures, gathered from its sources' (``sources``:
    segment id → the folder holding its signatures; ``order``: where each
    merged document came from). False when a source has none."""
    loaded = {}
    for source, where in sources.items():
        path = signature_path(where, source)
        if not path.exists():
            return False
        loaded[source] = np.load(path, mmap_mode="r")
    rows = np.empty((len(order), NUM_PERM), dtype=np.uint32)
    for i, (source, docnum) in enumerate(order):
        rows[i] = loaded[source][docnum]
    _save(signature_path(folder, segment_id), rows)
    return True


def write_groups(folder: Path, reader: IndexReader) -> int:
    """Group the copies among the live documents of the generation in
    ``folder`` (``reader`` reads it), from its segments' signatures, and save
    ``copies.npy``. Returns the number of groups."""
    total = reader.doc_count_all()
    sigs = np.full((total, NUM_PERM), NO_SIGNATURE, dtype=np.uint32)
    live = np.ones(total, dtype=bool)
    pairs = [(reader, 0)] if reader.is_atomic() else reader.leaf_readers()
    for r, offset in pairs:
        count = r.doc_count_all()
        if r.has_deletions():
            live[np.asarray(sorted(r.deleted_docs_set), dtype=np.int64) + offset] = False
        segment = getattr(r, "_segment", None)
        path = signature_path(folder, segment.segment_id()) if segment is not None else None
        if path is not None and path.exists():
            sigs[offset : offset + count] = np.load(path, mmap_mode="r")[:count]
    groups = find_groups(sigs, live)
    _save(Path(folder) / GROUPS_FILE, groups)
    return int(groups.max()) + 1 if len(groups) and groups.max() >= 0 else 0


def find_groups(sigs: np.ndarray, live: np.ndarray) -> np.ndarray:
    """The group of each row (-1: none): rows sharing a band, confirmed by
    :data:`THRESHOLD`, connected."""
    out = np.full(len(sigs), -1, dtype=np.int32)
    usable = np.flatnonzero(live & (sigs[:, 0] != NO_SIGNATURE)) if len(sigs) else np.zeros(0, dtype=np.int64)
    if len(usable) < 2:
        return out
    sub = sigs[usable]
    firsts, seconds = [], []
    for band in range(BANDS):
        block = np.ascontiguousarray(sub[:, band * ROWS : (band + 1) * ROWS])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * ROWS))).ravel()
        order = np.argsort(keys, kind="stable")
        same = np.flatnonzero(keys[order][1:] == keys[order][:-1])
        firsts.append(order[same])  # each with its neighbour in the run: enough to connect it
        seconds.append(order[same + 1])
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    if not len(a):
        return out
    agree = (sub[a] == sub[b]).sum(axis=1) >= THRESHOLD * NUM_PERM
    a, b = a[agree], b[agree]
    if not len(a):
        return out
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(usable), len(usable)))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    grouped = sizes[labels] > 1
    _, numbers = np.unique(labels[grouped], return_inverse=True)
    out[usable[grouped]] = numbers
    return out


def read_groups(folder: Path, doc_count: int) -> np.ndarray | None:
    """The generation's groups (``None``: none written, or not for these documents)."""
    path = Path(folder) / GROUPS_FILE
    try:
        groups = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return groups if len(groups) == doc_count else None


def _save(path: Path, array: np.ndarray) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
