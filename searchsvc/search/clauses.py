"""A query's top-level clauses: its words, as the ranking counts them.

A reader who typed three words expects the articles holding all three first.
:class:`Clauses` keeps the top-level OR of a query's words apart from the
ORs inside each word (its fields, its expansions, its synonyms), and
:func:`clauses` splits a query into required, optional and excluded words.
"""

from __future__ import annotations

from whoosh import query as wq
from whoosh.qparser import OrGroup

from .synonym_query import SynonymOr


class Clauses(wq.Or):
    """The top-level OR of a query's words. A class of its own, so that Whoosh's
    normalisation does not flatten each word's OR (``title:w OR body:w``, or
    the expansions of ``w*``) into it: ranking counts the words a document holds."""


class ClausesGroup(OrGroup):
    qclass = Clauses


def clauses(q: wq.Query) -> tuple[list[wq.Query], list[wq.Query], wq.Query | None]:
    """Split ``q`` into (required, optional, excluded) top-level clauses."""
    excluded = None
    if isinstance(q, wq.AndNot):
        q, excluded = q.a, q.b
    if isinstance(q, wq.AndMaybe):
        required, optional = clauses(q.a)[0] or [q.a], clauses(q.b)[1] or [q.b]
        return required, optional, excluded
    if isinstance(q, wq.And):
        return list(q.subqueries), [], excluded
    if isinstance(q, Clauses):
        return [], list(q.subqueries), excluded
    if isinstance(q, SynonymOr):  # one word (or phrase) and its synonyms: one clause
        return [], [q], excluded
    if isinstance(q, wq.Or):  # flattened by Whoosh (after + or -): one word per text
        return [], _words_of(q), excluded
    return [], [q], excluded


def _words_of(q: wq.Or) -> list[wq.Query]:
    """Regroup a flat OR's terms by text: ``title:w OR body:w`` is one word."""
    groups: dict[object, list[wq.Query]] = {}
    for sub in q.subqueries:
        key = sub.text if isinstance(sub, wq.Term) else id(sub)
        groups.setdefault(key, []).append(sub)
    return [subs[0] if len(subs) == 1 else wq.Or(subs) for subs in groups.values()]
