"""The index schema: which fields a document becomes, and how each is analysed.

The schema, analysers included, is pickled into every index, classes named
by their modules: moving :class:`FrenchText` or the analysis classes to
another module needs an entry in :data:`searchsvc.moved.MOVED`, or the
indexes already built no longer open.
"""

from __future__ import annotations

from collections.abc import Iterable

from whoosh import formats
from whoosh.columns import FixedBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, NUMERIC, STORED, TEXT, Schema
from whoosh.system import pack_uint

from . import whoosh_patches
from .analysis import LEAD_SEPARATOR, WordCache, exact_analyzer, french_analyzer, index_terms
from .meaning import DIMENSIONS

#: How much a title word counts against a body word, in one BM25 over both.
TITLE_WEIGHT = 2.5


class FrenchText(TEXT):
    """Whoosh's ``TEXT``, indexing from a per-word cache of the field's own
    analyser (:func:`searchsvc.text.analysis.index_terms`) instead of running the
    chain token by token: the same postings (``tests/test_schema.py`` checks
    them against Whoosh's), with a dictionary lookup per word."""

    def index(self, value, **kwargs):
        cache = self.__dict__.get("_word_cache")
        if cache is None:
            cache = self._word_cache = WordCache(self.analyzer)
            whoosh_patches.install()  # this process writes: lengths from memory
        fmt = self.format
        if not cache.usable or not isinstance(value, str) or kwargs or type(fmt) not in _ENCODERS:
            yield from super().index(value, **kwargs)
            return
        encode = _ENCODERS[type(fmt)](fmt)
        positions, weights = index_terms(cache, value)
        boost = fmt.field_boost  # 1.0 in our schema; kept for Whoosh's semantics
        for term, poslist in positions.items():
            yield term.encode("utf-8"), len(poslist), weights[term] * boost, encode(poslist)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_word_cache", None)  # a cache, not part of the schema pickled into the index
        return state


_ENCODERS = {
    formats.Positions: lambda fmt: fmt.encode,
    formats.Frequency: lambda fmt: lambda poslist: pack_uint(len(poslist)),
}


#: The columns of vectors computed from an article's text at index time
#: (:mod:`.meaning`): carried as they are when segments merge.
VECTOR_COLUMNS = ("meaning", "title_meaning")


def build_schema(
    protected: Iterable[str] = (),
    title_weight: float | None = None,
    meaning: bool = True,
    title_meaning: bool = True,
) -> Schema:
    """The schema of every generation (``title_weight``: :data:`TITLE_WEIGHT`
    unless another is asked, to compare with an index built with another;
    ``meaning`` off: the schema of the indexes built before 0.7.0,
    ``title_meaning`` off: before 0.8.0).

    * ``text``: title and body in one stemmed field, the title's words
      counting :data:`TITLE_WEIGHT` each. Ranking runs on it: one BM25 over
      both ranks better than a BM25 per field added up. Its positions skip
      stop words, so two query words adjacent there earn the pair bonus.
    * ``exact``: title and body again, folded but unstemmed, stop words and
      elided articles kept, with positions: quoted phrases, stop-word-only
      queries, the bonus for the exact form, typo candidates and suggestions.
    * ``title``: the title alone, stemmed, for ``title:word``.
    * ``body``, ``url``: stored only, for display and snippets; ``date``
      stored and searchable by range; ``day`` the date as a sortable
      number; ``source`` for the filter.
    * ``meaning``: the article's vector (:mod:`.meaning`), a column of
      :data:`~.meaning.DIMENSIONS` bytes per document, read for the best
      candidates of a query; ``title_meaning``: the title's alone.

    A word that analyses into several terms (``États-Unis``) is searched as
    a phrase of them. The whole schema,
    analysers included, is pickled into the index, and queries are parsed
    with that stored copy.
    """
    weight = TITLE_WEIGHT if title_weight is None else title_weight
    schema = Schema(
        id=ID(stored=True, unique=True),
        title=FrenchText(analyzer=french_analyzer(protected), stored=True, phrase=False, multitoken_query="and"),
        text=FrenchText(analyzer=french_analyzer(protected, lead_boost=weight), multitoken_query="phrase"),
        exact=FrenchText(analyzer=exact_analyzer(lead_boost=weight), multitoken_query="phrase"),
        body=STORED,
        date=DATETIME(stored=True),
        # The date as a sortable number (YYYYMMDD), absent = 0, so that
        # "newest first" puts undated articles last.
        day=NUMERIC(int, bits=32, signed=False, sortable=True),
        source=ID(stored=True, sortable=True),
        url=STORED,
    )
    if meaning:
        schema.add("meaning", COLUMN(FixedBytesColumn(DIMENSIONS, default=bytes(DIMENSIONS))))
    if meaning and title_meaning:
        schema.add("title_meaning", COLUMN(FixedBytesColumn(DIMENSIONS, default=bytes(DIMENSIONS))))
    return schema


def title_weight_in(schema: Schema) -> float | None:
    """The title weight an index was built with (its ``text`` analyser's), if it has one."""
    field = schema["text"] if "text" in schema else None  # noqa: SIM401 - Schema has no get()
    tokenizer = getattr(getattr(field, "analyzer", None), "items", [None])[0]
    return getattr(tokenizer, "lead_boost", None)


def combined_text(title: str, body: str) -> str:
    """The value of the ``text`` and ``exact`` fields: title, separator, body."""
    return f"{title}{LEAD_SEPARATOR}{body}"


def has_positions(schema: Schema, fieldname: str) -> bool:
    """Whether ``fieldname`` keeps word positions (so phrases can be searched in it)."""
    field = schema[fieldname] if fieldname in schema else None  # noqa: SIM401 - Schema has no get()
    return bool(field is not None and field.format and field.format.supports("positions"))


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
