"""Dates typed in a query also match the day an article was published.

A newsroom's reader who types « 29 août » or « incendie 14 juillet 2019 »
wants the articles of that day, not only those whose text happens to spell
the date: most dispatches say « mardi » or « hier », and briefs often say
nothing of when. So a day and a month (« 29 août », « 1er mai »), a day, a
month and a year (« 29 août 2019 ») or a month and a year (« août 2019 »),
accents or not, also match the articles published then, as if each of
those words were in the article once (the score a word earns in an article
of average length). A bare month (« août ») is left to the text: it would
stand for a twelfth of the archive.

Without a year, the most recent such day comes first: each year further
back keeps :data:`YEAR_DECAY` of the credit, counted from the index's newest
article (as :mod:`.recency` counts). The words still match the text as
typed: an article published that day that also names the date gets both.

A weekday (« grève jeudi ») or a month (« incendie août ») named in a query
matches nothing more, but among the query's best candidates the articles
published on such a day, or in that month, gain a share of the best score
(:data:`WEEKDAY_WEIGHT`, :data:`MONTH_WEIGHT`; :class:`NamedDays`): a
dispatch says « jeudi » of the day it is published, and of two articles on
the same story the reader who names the day wants that day's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.fields import Schema

from ..text.normalize import fold_text
from .clauses import Clauses

#: Whether dates in a query match publication days (a lever of
#: ``bench/tune_relevance.py``).
PUBLICATION_DATES = True

#: For a date typed without a year: the share of the credit kept for each
#: year before the most recent such day.
YEAR_DECAY = 0.8

MONTHS = (
    "janvier", "fevrier", "mars", "avril", "mai", "juin",
    "juillet", "aout", "septembre", "octobre", "novembre", "decembre",
)  # fmt: skip

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

#: Among a query's best candidates, the share of the best score gained by an
#: article published on a weekday the query names, or in a month it names.
WEEKDAY_WEIGHT = 0.15
MONTH_WEIGHT = 0.1

_WORD = re.compile(r"\w+")

_DATE = re.compile(
    r"(?<!\w)(?:(1er|premier|0?[1-9]|[12]\d|3[01])\s+)?(" + "|".join(MONTHS) + r")(?:\s+((?:1[89]|2[01])\d\d))?(?!\w)"
)


@dataclass(frozen=True)
class DateSpec:
    """A date read in a query: month, and day and/or year (0 when not typed)."""

    month: int
    day: int = 0
    year: int = 0
    #: The words that spelled it, as typed (folded).
    words: tuple[str, ...] = ()

    def label(self) -> str:
        """As a reader would write it back: ``29/08``, ``29/08/2019``, ``08/2019``."""
        parts = [f"{self.day:02d}"] if self.day else []
        parts.append(f"{self.month:02d}")
        if self.year:
            parts.append(str(self.year))
        return "/".join(parts)


def dates_in(text: str) -> list[DateSpec]:
    """The dates ``text`` spells: a day and a month, with a year or not, or a
    month and a year; a month alone is not one."""
    found = []
    for m in _DATE.finditer(fold_text(text)):
        day_text, month_text, year_text = m.groups()
        if not day_text and not year_text:
            continue
        day = 1 if day_text in ("1er", "premier") else int(day_text or 0)
        year = int(year_text or 0)
        words = tuple(w for w in (day_text, month_text, year_text) if w)
        found.append(DateSpec(MONTHS.index(month_text) + 1, day, year, words))
    return found


class PublishedOn(wq.Query):
    """Articles published on ``date``, scored as if they held the words
    ``like`` ((field, term, boost) of one query word) once, at average length.

    Evaluated by :class:`.scoring.VectorScorer` from the index's ``day``
    column; it has no terms (nothing to highlight, no postings)."""

    def __init__(self, date: DateSpec, like: tuple[tuple[str, str, float], ...]) -> None:
        self.date, self.like = date, like
        self.boost = 1.0

    def __eq__(self, other: object) -> bool:
        return type(other) is PublishedOn and (other.date, other.like) == (self.date, self.like)

    def __hash__(self) -> int:
        return hash((PublishedOn, self.date, self.like))

    def __repr__(self) -> str:
        return f"PublishedOn({self.date.label()!r})"

    def __str__(self) -> str:
        return f"<published:{self.date.label()}>"

    def matches(self, days: np.ndarray, month_days: np.ndarray, newest_day: int) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, share of the credit) of the articles published on the
        date, among ``days`` (YYYYMMDD per document, 0 undated; ``month_days``:
        MMDD, the same as int16): one comparison or two over the index."""
        d = self.date
        if d.year and d.day:
            ids = np.flatnonzero(days == d.year * 10000 + d.month * 100 + d.day)
        elif d.year:
            first = d.year * 10000 + d.month * 100
            ids = np.flatnonzero((days > first) & (days < first + 100))
        else:
            ids = np.flatnonzero(month_days == d.month * 100 + d.day)
        share = np.ones(len(ids))
        if not d.year and len(ids) and newest_day:
            # The most recent such day on or before the newest article, then
            # each year before it worth YEAR_DECAY of the one after.
            latest = newest_day // 10000
            if (d.month, d.day) > (newest_day // 100 % 100, newest_day % 100):
                latest -= 1
            back = np.maximum(latest - days[ids] // 10000, 0)
            share = YEAR_DECAY ** back.astype(np.float64)
        return ids, share


def with_publication_dates(q: wq.Query, text: str, schema: Schema, excluded: Iterable[str] = ()) -> wq.Query:
    """``q`` with each word of a date ``text`` spells also matching the
    articles published on it (an OR beside the word's own clause); not a
    date one of whose words is ``excluded`` (typed with ``-``)."""
    if not PUBLICATION_DATES or "day" not in schema or "text" not in schema:
        return q
    banned = {fold_text(word) for word in excluded}
    specs = [spec for spec in dates_in(text) if not banned.intersection(spec.words)]
    if not specs:
        return q
    analyzer = schema["text"].analyzer
    by_term: dict[str, DateSpec] = {}
    for spec in specs:
        for word in spec.words:
            for token in analyzer(word, mode="query"):
                by_term.setdefault(token.text, spec)
    return _rewrite(q, by_term)


def _rewrite(q: wq.Query, by_term: dict[str, DateSpec]) -> wq.Query:
    if type(q) in (Clauses, wq.And):
        return type(q)([_rewrite_clause(sub, by_term) for sub in q.subqueries], boost=q.boost)
    if type(q) is wq.AndNot:  # the excluded words stay as typed
        return wq.AndNot(_rewrite(q.a, by_term), q.b)
    if type(q) is wq.AndMaybe:
        return wq.AndMaybe(_rewrite(q.a, by_term), _rewrite(q.b, by_term))
    return _rewrite_clause(q, by_term)


def _rewrite_clause(clause: wq.Query, by_term: dict[str, DateSpec]) -> wq.Query:
    """``clause`` (one query word) ORed with the day it names, if it names one
    (not an OR of several words, as Whoosh flattens some: its credit would be theirs)."""
    leaves = list(_term_leaves(clause))
    words = {t.text for t in leaves if t.fieldname == "text"}
    spec = by_term.get(next(iter(words))) if len(words) == 1 else None
    if spec is None:
        return clause
    like = tuple((t.fieldname, t.text, float(t.boost)) for t in leaves)
    return wq.Or([clause, PublishedOn(spec, like)])


def _term_leaves(q: wq.Query) -> Iterable[wq.Term]:
    """The plain terms a word's clause sums (its fields; not its synonyms)."""
    if type(q) is wq.Term:
        yield q
    elif isinstance(q, wq.Or) and type(q) is wq.Or:
        for sub in q.subqueries:
            yield from _term_leaves(sub)


@dataclass(frozen=True)
class NamedDays:
    """The weekdays (0 for Monday) and months (1 to 12) a query names."""

    weekdays: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.weekdays or self.months)

    def gains(self, days: np.ndarray) -> np.ndarray:
        """For articles published on ``days`` (YYYYMMDD, 0 undated): the share
        of the best score each gains (:data:`WEEKDAY_WEIGHT` on a weekday
        named, :data:`MONTH_WEIGHT` in a month named; an undated one none)."""
        days = np.asarray(days, dtype=np.int64)
        dated = days > 0
        gains = np.zeros(len(days))
        if self.months:
            gains += MONTH_WEIGHT * (dated & np.isin(days // 100 % 100, sorted(self.months)))
        if self.weekdays:
            gains += WEEKDAY_WEIGHT * (dated & np.isin(weekday(days), sorted(self.weekdays)))
        return gains


def weekday(days: np.ndarray) -> np.ndarray:
    """The weekday (0 for Monday) of each YYYYMMDD, by Zeller's congruence."""
    year, month, day = days // 10000, days // 100 % 100, days % 100
    early = month < 3  # January and February count as months 13 and 14 of the year before
    month, year = np.where(early, month + 12, month), np.where(early, year - 1, year)
    h = (day + 13 * (month + 1) // 5 + year % 100 + year % 100 // 4 + year // 400 + 5 * (year // 100)) % 7
    return (h + 5) % 7  # Zeller's 0 is Saturday


def days_named(text: str, excluded: Iterable[str] = ()) -> NamedDays:
    """The weekdays and months ``text`` names (accents or not), but those
    typed with ``-`` (``excluded``)."""
    if not PUBLICATION_DATES or not (WEEKDAY_WEIGHT or MONTH_WEIGHT):
        return NamedDays()
    banned = {fold_text(word) for word in excluded}
    words = [w for w in _WORD.findall(fold_text(text)) if w not in banned]
    return NamedDays(
        frozenset(WEEKDAYS.index(w) for w in words if w in WEEKDAYS),
        frozenset(MONTHS.index(w) + 1 for w in words if w in MONTHS),
    )
