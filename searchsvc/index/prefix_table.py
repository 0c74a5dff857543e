"""The most frequent words of each short prefix, written with a generation.

Why: completing ``p`` means finding the most frequent of every indexed word
starting with ``p``, a tenth of the vocabulary (0.2 s at 20,000 articles),
and every worker would pay it again on a first keystroke after each reindex.
The reindex reads the vocabulary once anyway cheaply, so it writes, for every
prefix of one or two characters, its :data:`KEPT` most frequent words of the
``exact`` field (folded, unstemmed; stop words and single letters left out).
Longer prefixes hold few words and are read from the index when asked.

An incremental reindex keeps the table of the generation it starts from:
reading the vocabulary (about 0.5 s at 20,000 articles) would add a fifth to its time,
and a few changed articles barely move the most frequent words. A word new
since the last full reindex is offered from its third letter on.
"""

from __future__ import annotations

import heapq
import json
import os
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index

from ..text.analysis import STOP_WORDS
from . import packed

FILENAME = "prefixes.json"
#: Prefixes up to this length are in the table.
LONGEST = 2
#: Words kept per prefix, the most frequent.
KEPT = 60


def write_table(index_path: Path) -> None:
    """Write the table beside the Whoosh files of ``index_path``.

    Written to a new file then renamed: an incremental generation starts with
    a hard link to its predecessor's table, which must stay as it was."""
    heaps: dict[str, list[tuple[int, str]]] = {}
    for word, frequency in _frequencies(Path(index_path)):
        if len(word) < 2 or word in STOP_WORDS:
            continue
        entry = (frequency, word)  # words are unique: the best KEPT whatever the order
        for n in range(1, min(LONGEST, len(word)) + 1):
            heap = heaps.setdefault(word[:n], [])
            if len(heap) < KEPT:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)
    table = {
        prefix: [[word, n] for n, word in sorted(heap, key=lambda e: (-e[0], e[1]))]
        for prefix, heap in sorted(heaps.items())
    }
    target = Path(index_path) / FILENAME
    tmp = target.with_name(f".{FILENAME}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")), "utf-8")
    os.replace(tmp, target)


def _frequencies(index_path: Path) -> list[tuple[str, int]]:
    """Every word of the ``exact`` field with the number of documents holding
    it, from the packed postings' term lists (a few array reads a segment),
    else from Whoosh's term index (a generation from an older version: 7 s
    at 20,000 articles)."""
    with whoosh_index.open_dir(str(index_path)).reader() as reader:
        segments = packed.open_packed(index_path, reader)
        if segments is None or any(segment.field("exact") is None for segment in segments):
            return [
                (term.decode("utf-8") if isinstance(term, bytes) else term, info.doc_frequency())
                for term, info in reader.iter_field("exact")
            ]
    counts: dict[bytes, int] = {}
    for segment in segments:
        field = segment.field("exact")
        blob = field.lex.tobytes()
        cuts = field.lexoff.tolist()
        for term, n in zip(
            (blob[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)),
            np.diff(field.postoff).tolist(),
            strict=True,
        ):
            counts[term] = counts.get(term, 0) + n
    return [(term.decode("utf-8"), n) for term, n in counts.items()]


def read_table(index_path: Path) -> dict[str, list[tuple[str, int]]] | None:
    """The table of the generation at ``index_path``, or None (an older
    generation, or a damaged file: the words are then read from the index)."""
    try:
        raw = json.loads((Path(index_path) / FILENAME).read_text("utf-8"))
        return {prefix: [(word, int(n)) for word, n in words] for prefix, words in raw.items()}
    except (OSError, ValueError, TypeError):
        return None
