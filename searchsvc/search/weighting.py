"""How much a match counts: BM25 with Robertson's idf, and each field's weight.

:data:`WEIGHTING` is Whoosh's weighting model (for the searchers the live
index opens); :mod:`.scoring` computes the same formula over whole posting
arrays, and :func:`bm25_idf` is shared by both and by the synonyms' weights.
"""

from __future__ import annotations

import math

from whoosh import scoring
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

#: Fields a plain word is searched in, and their weights: the stemmed text,
#: and a bonus for the exact form (`exact`, folded but unstemmed).
TEXT_FIELDS = ("text",)
FIELD_BOOSTS = {"text": 1.0, "exact": 0.5}


class TunedBM25(scoring.WeightingModel):
    """BM25 with the Robertson idf (as Lucene and SQLite FTS5 use it) instead of
    Whoosh's ``log(N / (n + 1)) + 1``, and parameters tuned on French
    question-paragraph collections (see docs/relevance.md)."""

    def __init__(self, k1: float = 0.9, b: float = 0.5) -> None:
        self.k1, self.b = k1, b

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return _TunedBM25Scorer(searcher, fieldname, text, self.k1, self.b)


class _TunedBM25Scorer(scoring.WeightLengthScorer):
    def __init__(self, searcher, fieldname, text, k1, b):
        parent = searcher.get_parent()  # collection statistics, not a segment's
        self.idf = bm25_idf(parent, fieldname, text)
        self.avgfl = parent.avg_field_length(fieldname) or 1
        self.k1, self.b = k1, b
        self.setup(searcher, fieldname, text)

    def _score(self, weight, length):
        norm = self.k1 * (1 - self.b + self.b * length / self.avgfl)
        return self.idf * weight * (self.k1 + 1) / (weight + norm)


WEIGHTING = TunedBM25()


def bm25_idf(reader: IndexReader | Searcher, fieldname: str, text: str, doc_frequency: int | None = None) -> float:
    """Robertson's idf, as Lucene and SQLite FTS5 use it, floored just above 0
    (``doc_frequency``: the term's documents, when already known)."""
    n = reader.doc_frequency(fieldname, text) if doc_frequency is None else doc_frequency
    total = reader.doc_count_all()
    return max(1e-6, math.log((total - n + 0.5) / (n + 0.5)))
