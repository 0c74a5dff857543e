"""The index schema: which fields a document becomes, and how each is analysed."""

from __future__ import annotations

from collections.abc import Iterable

from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema

from .analysis import exact_analyzer, french_analyzer


def build_schema(protected: Iterable[str] = ()) -> Schema:
    """The schema of every generation.

    ``title`` and ``body`` carry the stemming chain and are stored for display
    and snippets; ``exact`` holds title and body again, folded but unstemmed and
    with stop words, for quoted phrases, stop-word-only queries and the
    exact-form bonus. A word that analyses into several terms (``États-Unis``)
    is searched as a phrase of them. The whole schema, analysers included, is pickled into
    the index, and queries are parsed with that stored copy.
    """
    french = french_analyzer(protected)
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=french, stored=True, multitoken_query="phrase"),
        body=TEXT(analyzer=french, stored=True, multitoken_query="phrase"),
        exact=TEXT(analyzer=exact_analyzer(), multitoken_query="phrase"),
        date=DATETIME(stored=True),
        # The date as a sortable number (YYYYMMDD), absent = 0, so that
        # "newest first" puts undated articles last.
        day=NUMERIC(int, bits=32, signed=False, sortable=True),
        source=ID(stored=True, sortable=True),
        url=STORED,
    )


def same_schema(a: Schema, b: Schema) -> bool:
    """Whether two schemas index documents the same way: the same fields, of
    the same types, options and analysers. (Whoosh's own ``==`` also compares
    column objects, which never compare equal.)"""
    if sorted(a.names()) != sorted(b.names()):
        return False
    for name in a.names():
        fa, fb = a[name], b[name]
        if type(fa) is not type(fb) or type(fa.format) is not type(fb.format):
            return False
        for attribute in ("stored", "unique", "scorable", "multitoken_query"):
            if getattr(fa, attribute, None) != getattr(fb, attribute, None):
                return False
        if type(getattr(fa, "column_type", None)) is not type(getattr(fb, "column_type", None)):
            return False
        if getattr(fa, "analyzer", None) != getattr(fb, "analyzer", None):
            return False
    return True
