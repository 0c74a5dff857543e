"""Words that tell the best candidates apart count for more among them.

A word's idf says how rare it is in the archive, not among the articles a
query found. Of a reader's pasted paragraph about a story, the story's words
are rare in the archive yet held by every article about it (the day
before's, the follow-up, the roundup); what tells the one meant apart are
the words few of those candidates hold: a name, a place, a figure. Among the
best :data:`~.ranking.BONUS_DEPTH` candidates by score, each clause's score
is raised by :data:`WEIGHT` times how rare the clause is *there*, as idf
measures rarity: 1 for a clause one candidate holds, near 0 for one all of
them hold. The ranking applies it to the group of articles holding some of
the words only (:mod:`.ranking`): in the group holding every word, each
holds every clause, and nothing would tell them apart.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq

from .scoring import VectorScorer

#: The most a clause's score is raised by among the best candidates, for a
#: clause one of them holds (0: off). Measured in docs/relevance.md.
WEIGHT = 0.5


def rarity(held: np.ndarray) -> np.ndarray:
    """How rare each clause (column of ``held``, candidates by clauses) is
    among the candidates, as a share: an idf over them, ``log((n + 1) /
    (holding + 0.5))``, divided by its value for a clause only one holds."""
    n = held.shape[0]
    holding = held.sum(axis=0)
    return np.log((n + 1) / (holding + 0.5)) / np.log((n + 1) / 1.5)


def gains(scorer: VectorScorer, clauses: list[wq.Query], within: np.ndarray) -> np.ndarray:
    """What each candidate of ``within`` (sorted docnums) gains: each clause's
    score there times :data:`WEIGHT` times the clause's :func:`rarity` among
    them. Zero for a query of one clause, or with the weight at 0."""
    if not WEIGHT or len(clauses) < 2 or len(within) < 2:
        return np.zeros(len(within))
    scores = np.stack([scorer.evaluate_within(clause, within) for clause in clauses], axis=1)
    return WEIGHT * (scores * rarity(scores > 0)).sum(axis=1)
