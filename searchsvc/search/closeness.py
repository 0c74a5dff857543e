"""How close in meaning each of the best candidates is to the query.

The lexical score tells which articles hold the query's words, not which
are *about* what the query is about; among the best candidates, the one
whose words, taken together, point the same way as the query's usually is.
The cosine of the query's vector and each candidate's
(:mod:`searchsvc.text.meaning`) is added to its score, weighted by
:data:`WEIGHT` times the best candidate's score (so the blend is the same
whatever the scale of the scores: ``score / best + WEIGHT × cosine`` in
order), within each group of the ranking: the articles holding every word
stay ahead of those holding some (:mod:`.ranking`).
"""

from __future__ import annotations

import re

import numpy as np

from ..text.analysis import STOP_WORDS
from ..text.meaning import query_vector, stored_vectors
from ..text.normalize import fold
from .parsing import ParsedQuery
from .scoring import VectorScorer

#: The weight of the cosine against the best candidate's score (0: off).
#: Measured on the four DEV collections in docs/relevance.md.
WEIGHT = 0.8

#: The name of a fielded word (``title:``), not a word of the query.
_FIELD_PREFIX = re.compile(r"\b\w+:")
_WORD = re.compile(r"\w+")


def query_meaning(scorer: VectorScorer, parsed: ParsedQuery) -> np.ndarray | None:
    """The vector of the query's words (its excluded words and field names
    left out), or ``None``: the blend off, a query of one word (every
    candidate holds it: its score says enough), an index without article
    vectors (built before 0.7.0), or no word with a vector."""
    if not WEIGHT or "meaning" not in scorer.searcher.schema:
        return None
    excluded = {fold(word) for word in parsed.excluded}
    words = [w for w in _WORD.findall(_FIELD_PREFIX.sub(" ", parsed.text)) if fold(w) not in excluded]
    if len({fold(w) for w in words} - STOP_WORDS) < 2:
        return None
    return query_vector(" ".join(words))


def cosines(scorer: VectorScorer, docnums: np.ndarray, meaning: np.ndarray) -> np.ndarray:
    """The cosine of ``meaning`` and each document's vector (0 for a document
    without one), row by row: a document's does not depend on which others
    are scored with it (a matrix product's rounding would)."""
    column = scorer.searcher.reader().column_reader("meaning")
    return (stored_vectors([column[int(d)] for d in docnums]) * meaning).sum(axis=1, dtype=np.float64)
