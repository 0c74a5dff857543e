"""How close in meaning each of the best candidates is to the query.

The lexical score tells which articles hold the query's words, not which
are *about* what the query is about; among the best candidates, the one
whose words, taken together, point the same way as the query's usually is.
The cosine of the query's vector and each candidate's
(:mod:`searchsvc.text.meaning`) is added to its score, weighted by
:data:`WEIGHT` times the best candidate's score (so the blend is the same
whatever the scale of the scores: ``score / best + WEIGHT × cosine`` in
order), within each group of the ranking: the articles holding every word
stay ahead of those holding some (:mod:`.ranking`). The cosine with the
title's own vector is added too, with a smaller weight (:data:`TITLE_WEIGHT`).
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
#: The weight of the cosine of the query's vector and the title's alone
#: (0: off), added to the article's: of several articles about one story,
#: the one whose title names what the query asks is more likely the one
#: meant. Indexes built before 0.8.0 have no title vectors: 0 for them.
TITLE_WEIGHT = 0.2

#: The name of a fielded word (``title:``), not a word of the query.
_FIELD_PREFIX = re.compile(r"\b\w+:")
_WORD = re.compile(r"\w+")


def query_meaning(scorer: VectorScorer, parsed: ParsedQuery) -> np.ndarray | None:
    """The vector of the query's words (its excluded words and field names
    left out), or ``None``: the blend off, a query of one word (every
    candidate holds it: its score says enough), an index without article
    vectors (built before 0.7.0), or no word with a vector."""
    if not (WEIGHT or TITLE_WEIGHT) or "meaning" not in scorer.searcher.schema:
        return None
    excluded = {fold(word) for word in parsed.excluded}
    words = [w for w in _WORD.findall(_FIELD_PREFIX.sub(" ", parsed.text)) if fold(w) not in excluded]
    if len({fold(w) for w in words} - STOP_WORDS) < 2:
        return None
    return query_vector(" ".join(words))


def gains(scorer: VectorScorer, docnums: np.ndarray, meaning: np.ndarray) -> np.ndarray:
    """What each document gains, in shares of the best score: :data:`WEIGHT`
    times the cosine of ``meaning`` and its vector, plus :data:`TITLE_WEIGHT`
    times the cosine with its title's (when the index has them)."""
    gained = WEIGHT * cosines(scorer, docnums, meaning) if WEIGHT else np.zeros(len(docnums))
    if TITLE_WEIGHT and "title_meaning" in scorer.searcher.schema:
        gained += TITLE_WEIGHT * cosines(scorer, docnums, meaning, column="title_meaning")
    return gained


def cosines(scorer: VectorScorer, docnums: np.ndarray, meaning: np.ndarray, column: str = "meaning") -> np.ndarray:
    """The cosine of ``meaning`` and each document's vector in ``column`` (0
    for a document without one), row by row: a document's does not depend on
    which others are scored with it (a matrix product's rounding would)."""
    values = scorer.searcher.reader().column_reader(column)
    return (stored_vectors([values[int(d)] for d in docnums]) * meaning).sum(axis=1, dtype=np.float64)
