"""The pair bonus: two consecutive query words that are also consecutive in
an article (stop words aside) add to its score, so « fête de Noël » ranks an
article with "fête de Noël" above one where "fête" and "Noël" stand far apart.
The ranking checks it on its best candidates only (:data:`.ranking.BONUS_DEPTH`).
"""

from __future__ import annotations

from whoosh import query as wq

from .clauses import Clauses
from .synonym_query import SynonymOr

#: Weight of the bonus for two consecutive query words that are also
#: consecutive in the article (stop words aside): "fête de Noël" near
#: "Noël" and "fête" far apart.
PAIR_WEIGHT = 0.2


def pair_bonus(q: wq.Query) -> wq.Query | None:
    """Phrases of each two consecutive plain words of ``q`` in the ``text`` field."""
    if not isinstance(q, Clauses):
        return None
    stems: list[str | None] = []
    for clause in q.subqueries:
        typed = clause.subqueries[0] if isinstance(clause, SynonymOr) else clause  # not its synonyms
        texts = [t for f, t in typed.iter_all_terms() if f == "text"] if not isinstance(typed, wq.Phrase) else []
        stems.append(texts[0] if len(texts) == 1 else None)
    pairs = [
        wq.Phrase("text", [a, b], slop=1, boost=PAIR_WEIGHT)
        for a, b in zip(stems, stems[1:], strict=False)
        if a and b and a != b
    ]
    if not pairs or PAIR_WEIGHT <= 0:
        return None
    return pairs[0] if len(pairs) == 1 else wq.Or(pairs)
