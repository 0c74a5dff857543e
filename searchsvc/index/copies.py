"""Wire copies: one agency story republished by several outlets (near-identical
bodies under other titles, sources or dates), found at index time so that
the results show it once.

Two steps, both at index time:

* each segment's articles get a signature: a MinHash of their body
  (datasketch, over word 3-shingles) and their title's words, written beside
  the segment's packed postings (``packed-<segment>-minhash.npy``) with its
  LSH tables (``-lshkeys``, ``-lshdocs``): computed as the segment is built,
  hard-linked by the generations that keep it, gathered from its sources'
  when segments merge;
* each generation gets ``copies.npy``: for every document, the number of its
  group of copies (-1: it has none), and ``copies.json``, the segments it
  was computed over. Candidates share one LSH band of their signatures; a
  pair is a copy when the bodies agree on at least :data:`THRESHOLD` of
  their MinHash values (the estimated Jaccard similarity of the shingles)
  and the titles share a word; groups are the connected pairs. Only live
  documents count, so a retracted article leaves its group. A push's
  generation matches only its new articles against the others (binary
  search in each segment's LSH tables); a merge carries the groups over to
  the new docnums; a full reindex groups everything again.

A body shorter than :data:`MIN_WORDS` words gets no signature: short
templated texts (« Résultats du tirage du 12 mai ») are alike without being
copies.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from whoosh.reading import IndexReader

from ..text.analysis import STOP_WORDS, stem
from ..text.normalize import fold

#: MinHash values of a signature; LSH bands × rows of each.
NUM_PERM = 64
#: Title words a signature also holds (hashed, the first in hash order):
#: copies must share one. Near-identical boilerplate about another subject
#: (Wikipedia's census paragraph of two communes, a wrestling show's
#: standard blurb) names that other subject in its title.
TITLE_WORDS = 12
WIDTH = NUM_PERM + TITLE_WORDS
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
#: The segments (id, document count) ``copies.npy`` was computed over.
LAYOUT_FILE = "copies.json"
_WORD = re.compile(r"\w+")
_STOP = frozenset(STOP_WORDS)
_SEED = 1


def signature_path(folder: Path, segment_id: str) -> Path:
    """Where a segment's signatures are (named as its packed arrays, so that they go with them)."""
    return Path(folder) / f"packed-{segment_id}-minhash.npy"


def signature(body: str, title: str = "") -> np.ndarray:
    """A document's :data:`WIDTH` values: its body's :data:`NUM_PERM` MinHash
    values, then its title's words (:data:`TITLE_WORDS`); :data:`NO_SIGNATURE`
    in each when the body is too short to be a copy."""
    # Imported here: searching processes read groups, never sign (0.3 s to import).
    from datasketch import MinHash

    row = np.full(WIDTH, NO_SIGNATURE, dtype=np.uint32)
    words = _WORD.findall(body.lower())[:MAX_WORDS]
    if len(words) < MIN_WORDS:
        return row
    minhash = MinHash(num_perm=NUM_PERM, seed=_SEED, hashfunc=zlib.crc32)
    minhash.update_batch([" ".join(words[j : j + SHINGLE]).encode() for j in range(len(words) - SHINGLE + 1)])
    row[:NUM_PERM] = minhash.hashvalues.astype(np.uint32)
    title_words = sorted({zlib.crc32(w.encode()) for w in _title_words(title)})[:TITLE_WORDS]
    row[NUM_PERM : NUM_PERM + len(title_words)] = title_words
    return row


def _title_words(title: str) -> set[str]:
    """The title's words as compared: folded, stemmed, stop words and short words aside."""
    words = (fold(w) for w in _WORD.findall(title.lower()))
    return {stem(w) for w in words if len(w) >= 3 and w not in _STOP and not w.isdigit()}


def table_path(folder: Path, segment_id: str, part: str) -> Path:
    """A segment's LSH table (``keys`` or ``docs``), beside its signatures."""
    return Path(folder) / f"packed-{segment_id}-lsh{part}.npy"


def signatures(documents: Iterable[tuple[str, str]]) -> np.ndarray:
    """One row of :func:`signature` per (body, title)."""
    rows = [signature(body, title) for body, title in documents]
    return np.stack(rows) if rows else np.zeros((0, WIDTH), dtype=np.uint32)


def write_signatures(folder: Path, segment_id: str, documents: Iterable[tuple[str, str]]) -> None:
    """Save a segment's signatures, from its (body, title) pairs in docnum order."""
    _save_segment(folder, segment_id, signatures(documents))


def save_signatures(folder: Path, segment_id: str, rows: list[np.ndarray]) -> None:
    """Save a segment's signatures, computed as its documents came (:func:`signature`)."""
    _save_segment(folder, segment_id, np.stack(rows) if rows else np.zeros((0, WIDTH), dtype=np.uint32))


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
    rows = np.empty((len(order), WIDTH), dtype=np.uint32)
    for i, (source, docnum) in enumerate(order):
        rows[i] = loaded[source][docnum]
    _save_segment(folder, segment_id, rows)
    return True


def _save_segment(folder: Path, segment_id: str, sigs: np.ndarray) -> None:
    """A segment's signatures, and its LSH tables: for each band, the keys
    of its signed documents sorted, and their docnums in that order (so
    that a push finds the candidates for its few new documents by binary
    search, without reading every signature again)."""
    signed = np.flatnonzero(sigs[:, 0] != NO_SIGNATURE).astype(np.uint32) if len(sigs) else np.zeros(0, np.uint32)
    keys = np.empty((BANDS, len(signed)), dtype=np.uint64)
    docs = np.empty((BANDS, len(signed)), dtype=np.uint32)
    for band in range(BANDS):
        band_keys = _band_keys(sigs[signed, band * ROWS : (band + 1) * ROWS])
        order = np.argsort(band_keys)
        keys[band], docs[band] = band_keys[order], signed[order]
    _save(table_path(folder, segment_id, "keys"), keys)
    _save(table_path(folder, segment_id, "docs"), docs)
    _save(signature_path(folder, segment_id), sigs)  # last: its presence says the segment is done


def write_groups(folder: Path, reader: IndexReader, merged_from: tuple[Path, str, list[tuple[str, int]]] | None = None) -> int:
    """Group the copies among the live documents of the generation in
    ``folder`` (``reader`` reads it), from its segments' signatures, and save
    ``copies.npy`` (with ``copies.json``, the segments it was computed over).
    Returns the number of groups.

    A generation that extends the one it was linked from (a push: the same
    segments, fewer live documents, new segments after them) starts from
    that one's groups and matches only its new documents against the others.
    A merge (``merged_from``: the generation merged, the merged segment's id
    and where each of its documents came from) carries that generation's
    groups over to the new docnums: the same documents, no regrouping under
    the reindex lock. Anything else (a full reindex) groups everything again."""
    folder = Path(folder)
    layout, live = _layout(reader)
    groups = _carried(layout, live, *merged_from) if merged_from is not None else _extended(folder, layout, live)
    if groups is None:
        groups = find_groups(_signatures_of(folder, layout, 0, len(live)), live)
    _save(folder / GROUPS_FILE, groups)
    _save_json(folder / LAYOUT_FILE, {"segments": [[segment_id, count] for segment_id, _, count in layout]})
    return len(np.unique(groups[groups >= 0]))


def _layout(reader: IndexReader) -> tuple[list[tuple[str, int, int]], np.ndarray]:
    """Each segment's (id, first docnum, document count), and the live documents."""
    live = np.ones(reader.doc_count_all(), dtype=bool)
    layout = []
    pairs = [(reader, 0)] if reader.is_atomic() else reader.leaf_readers()
    for r, offset in pairs:
        segment = getattr(r, "_segment", None)
        layout.append((segment.segment_id() if segment is not None else "", offset, r.doc_count_all()))
        if r.has_deletions():
            live[np.asarray(sorted(r.deleted_docs_set), dtype=np.int64) + offset] = False
    return layout, live


def _signatures_of(folder: Path, layout: list[tuple[str, int, int]], start: int, stop: int) -> np.ndarray:
    """The signatures of documents ``start`` to ``stop`` (whole segments), from the segments' files."""
    sigs = np.full((stop - start, WIDTH), NO_SIGNATURE, dtype=np.uint32)
    for segment_id, offset, count in layout:
        if offset < start or offset + count > stop:
            continue
        path = signature_path(folder, segment_id)
        if segment_id and path.exists():
            rows = np.load(path, mmap_mode="r")
            if rows.shape[1:] == (WIDTH,):  # else another format: never copies
                sigs[offset - start : offset - start + count] = rows[:count]
    return sigs


def _carried(
    layout: list[tuple[str, int, int]], live: np.ndarray, previous: Path, merged_id: str, order: list[tuple[str, int]]
) -> np.ndarray | None:
    """The groups of ``previous`` (a generation) moved to a merge of some of
    its segments into ``merged_id`` (``order``: each merged document's
    segment and docnum there), or ``None`` when it has none to carry."""
    found = _groups_in(previous)
    if found is None:
        return None
    before, old = found
    offsets, start = {}, 0
    for segment_id, count in before:
        offsets[segment_id] = (start, count)
        start += count
    if len(old) != start:
        return None
    where = np.empty(len(live), dtype=np.int64)  # each new docnum's docnum in the previous generation
    for segment_id, offset, count in layout:
        if segment_id == merged_id:
            if count != len(order) or any(source not in offsets for source, _ in order):
                return None
            where[offset : offset + count] = [offsets[source][0] + docnum for source, docnum in order]
        elif offsets.get(segment_id, (0, -1))[1] == count:
            where[offset : offset + count] = np.arange(offsets[segment_id][0], offsets[segment_id][0] + count)
        else:
            return None  # a segment the previous generation did not have as it is
    return _without_deleted(old[where].astype(np.int32), live)


def _groups_in(folder: Path) -> tuple[list[tuple], np.ndarray] | None:
    """A generation's ``copies.json`` segments and ``copies.npy`` groups, if it has them."""
    try:
        before = [tuple(s) for s in json.loads((folder / LAYOUT_FILE).read_text())["segments"]]
        return before, np.load(folder / GROUPS_FILE)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _without_deleted(groups: np.ndarray, live: np.ndarray) -> np.ndarray:
    """``groups`` with the deleted documents out of their groups, and a group
    left with one article no group."""
    groups[~live] = -1
    if (groups >= 0).any():
        sizes = np.bincount(groups[groups >= 0])
        groups[(groups >= 0) & (sizes[np.maximum(groups, 0)] == 1)] = -1
    return groups


def _extended(folder: Path, layout: list[tuple[str, int, int]], live: np.ndarray) -> np.ndarray | None:
    """The groups of a generation that extends the one whose ``copies.npy``
    it holds (hard-linked), or ``None`` when it does not."""
    found = _groups_in(folder)
    if found is None:
        return None
    before, previous = found
    now = [(segment_id, count) for segment_id, _, count in layout]
    known = sum(count for _, count in before)
    if not before or now[: len(before)] != before or len(previous) != known:
        return None
    groups = np.full(len(live), -1, dtype=np.int32)
    groups[:known] = previous
    groups = _without_deleted(groups, live)  # replaced or retracted since
    added = _signatures_of(folder, layout, known, len(live))
    fresh = np.flatnonzero(live[known:] & (added[:, 0] != NO_SIGNATURE))
    if not len(fresh):
        return groups
    new_sigs = added[fresh]
    pairs: set[tuple[int, int]] = set()
    # The new documents among themselves…
    among = find_groups(new_sigs, np.ones(len(fresh), dtype=bool))
    for label in np.unique(among[among >= 0]):
        members = fresh[among == label] + known
        pairs.update((int(members[0]), int(m)) for m in members[1:])
    # …and against every live document before them, through each segment's LSH tables.
    new_keys = [_band_keys(new_sigs[:, band * ROWS : (band + 1) * ROWS]) for band in range(BANDS)]
    for segment_id, offset, _ in layout:
        if offset >= known:
            break
        tables = _segment_tables(folder, segment_id)
        if tables is None:
            continue  # a segment of an older version: no signatures, never a copy
        keys, docs, sigs = tables
        found_old, found_new = [], []
        for band in range(BANDS):
            lows = np.searchsorted(keys[band], new_keys[band])
            highs = np.searchsorted(keys[band], new_keys[band], side="right")
            for j in np.flatnonzero(highs > lows):
                found_old.append(docs[band, lows[j] : highs[j]])
                found_new.append(np.full(highs[j] - lows[j], j))
        if not found_old:
            continue
        candidates = np.unique(np.stack([np.concatenate(found_old), np.concatenate(found_new)]), axis=1)
        olds, news = candidates[0].astype(np.int64), candidates[1]
        keep = live[offset + olds]
        olds, news = olds[keep], news[keep]
        alike = _alike(sigs[olds], new_sigs[news])
        pairs.update(zip((offset + olds[alike]).tolist(), (fresh[news[alike]] + known).tolist(), strict=True))
    next_label = int(groups.max()) + 1 if len(groups) else 0
    for a, b in sorted(pairs):
        ga, gb = int(groups[a]), int(groups[b])
        if ga < 0 and gb < 0:
            groups[a] = groups[b] = next_label
            next_label += 1
        elif gb < 0:
            groups[b] = ga
        elif ga < 0:
            groups[a] = gb
        elif ga != gb:
            groups[groups == gb] = ga  # the new document joins two groups: one now
    return groups


#: Candidate pairs compared at a time (their rows copied: 30 MB).
_CHUNK = 50_000


def find_groups(sigs: np.ndarray, live: np.ndarray) -> np.ndarray:
    """The group of each row (-1: none): rows sharing a band, confirmed by
    :data:`THRESHOLD`, connected."""
    out = np.full(len(sigs), -1, dtype=np.int32)
    usable = np.flatnonzero(live & (sigs[:, 0] != NO_SIGNATURE)) if len(sigs) else np.zeros(0, dtype=np.int64)
    if len(usable) < 2:
        return out
    # Without a copy of every signature (300 MB at 1,000,000 articles): a
    # band's columns at a time, then the candidate pairs' rows, a chunk at a time.
    firsts, seconds = [], []
    for band in range(BANDS):
        keys = _band_keys(sigs[usable, band * ROWS : (band + 1) * ROWS])
        order = np.argsort(keys)
        same = np.flatnonzero(keys[order][1:] == keys[order][:-1])
        firsts.append(order[same])  # each with its neighbour in the run: enough to connect it
        seconds.append(order[same + 1])
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    if not len(a):
        return out
    # Copies share most bands: each pair checked once.
    low, high = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    pairs = np.unique(low * len(usable) + high)
    a, b = pairs // len(usable), pairs % len(usable)
    agree = np.concatenate([
        _alike(sigs[usable[a[i : i + _CHUNK]]], sigs[usable[b[i : i + _CHUNK]]]) for i in range(0, len(a), _CHUNK)
    ])  # fmt: skip
    a, b = a[agree], b[agree]
    if not len(a):
        return out
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(usable), len(usable)))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    grouped = sizes[labels] > 1
    _, numbers = np.unique(labels[grouped], return_inverse=True)
    out[usable[grouped]] = numbers
    return out


#: Segments' LSH tables and signatures, mapped once per process (an applier
#: process matches every push against them), by the identity of the files:
#: generations hard-link them, and a segment's files never change.
_TABLES: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
_TABLES_KEPT = 256


def _segment_tables(folder: Path, segment_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A segment's (LSH keys, LSH docnums, signatures), or ``None`` if it has none."""
    path = signature_path(folder, segment_id)
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (st.st_dev, st.st_ino)
    tables = _TABLES.get(key)
    if tables is None:
        try:
            tables = (
                np.asarray(np.load(table_path(folder, segment_id, "keys"), mmap_mode="r")),
                np.asarray(np.load(table_path(folder, segment_id, "docs"), mmap_mode="r")),
                np.asarray(np.load(path, mmap_mode="r")),
            )
        except (OSError, ValueError):
            return None
        if tables[2].shape[1:] != (WIDTH,):
            return None
        _TABLES[key] = tables
        while len(_TABLES) > _TABLES_KEPT:
            _TABLES.popitem(last=False)
    else:
        _TABLES.move_to_end(key)
    return tables


def _alike(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For rows of signatures, pairwise: whether the bodies agree on
    :data:`THRESHOLD` of their MinHash values and the titles share a word
    (or one title has none to compare)."""
    bodies = (a[:, :NUM_PERM] == b[:, :NUM_PERM]).sum(axis=1) >= THRESHOLD * NUM_PERM
    ta, tb = a[:, NUM_PERM:], b[:, NUM_PERM:]
    shared = ((ta[:, :, None] == tb[:, None, :]) & (ta[:, :, None] != NO_SIGNATURE)).any(axis=(1, 2))
    untitled = (ta[:, 0] == NO_SIGNATURE) | (tb[:, 0] == NO_SIGNATURE)
    return bodies & (shared | untitled)


def _band_keys(block: np.ndarray) -> np.ndarray:
    """One 64-bit key per row of a band (its :data:`ROWS` values mixed): rows
    with equal values get equal keys; a rare collision only adds a candidate,
    which the agreement check then refuses."""
    keys = np.zeros(len(block), dtype=np.uint64)
    for column in range(block.shape[1]):
        keys = (keys * np.uint64(0x100000001B3)) ^ block[:, column].astype(np.uint64)
    return keys


def read_groups(folder: Path, doc_count: int) -> np.ndarray | None:
    """The generation's groups (``None``: none written, or not for these documents)."""
    path = Path(folder) / GROUPS_FILE
    try:
        groups = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return groups if len(groups) == doc_count else None


def _save_json(path: Path, data: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


def _save(path: Path, array: np.ndarray) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
