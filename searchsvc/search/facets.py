"""Filters and facets: what a reader narrowed a search to, and the counts
by source and by year of everything a search matches.

Both work on the matching documents' numbers only, with the per-generation
columns of :mod:`.postings` (the ``day`` column, the sources as codes), so
their cost follows the number of matches, not the size of the index.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from .scoring import VectorScorer


@dataclass(frozen=True)
class DocFilter:
    """What a reader narrowed the search to: sources (any of them), years (any
    of them), a range of days (YYYYMMDD). The kinds combine with AND."""

    sources: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    day_from: int | None = None
    day_to: int | None = None

    def __bool__(self) -> bool:
        return bool(self.sources or self.years or self.day_from or self.day_to)


@dataclass
class Passing:
    """Which of some candidate documents pass each kind of filter (``None``:
    that kind is not filtered on), one slot per candidate."""

    days: np.ndarray | None
    source: np.ndarray | None
    year: np.ndarray | None

    def all_but(self, kind: str | None = None) -> np.ndarray | None:
        """Passing every filter but ``kind`` (``None`` when nothing is left to apply)."""
        masks = [m for name, m in (("days", self.days), ("source", self.source), ("year", self.year))
                 if m is not None and name != kind]  # fmt: skip
        return np.logical_and.reduce(masks) if masks else None


def filter_candidates(scorer: VectorScorer, candidates: np.ndarray, doc_filter: DocFilter | None) -> Passing:
    """``doc_filter`` checked on ``candidates`` (docnums) only: the work follows
    the number of matches, not the size of the index."""
    days = source = year = None
    if doc_filter and (doc_filter.day_from or doc_filter.day_to):
        day = scorer.arrays.day(scorer.reader)[candidates]
        days = day > 0
        if doc_filter.day_from:
            days &= day >= doc_filter.day_from
        if doc_filter.day_to:
            days &= day <= doc_filter.day_to
    if doc_filter and doc_filter.sources:
        codes, names = scorer.arrays.sources(scorer.reader)
        wanted = np.zeros(len(names) + 1, dtype=bool)  # the last slot: no source (code -1)
        wanted[list(_codes(names, doc_filter.sources).values())] = True
        source = wanted[codes[candidates]]
    if doc_filter and doc_filter.years:
        years = np.asarray(doc_filter.years, dtype=np.int32)
        year = np.isin(scorer.arrays.year(scorer.reader)[candidates], years)
    return Passing(days, source, year)


def _codes(names: tuple[str, ...], wanted: tuple[str, ...]) -> dict[str, int]:
    """The codes of the ``wanted`` sources the index has (``names`` is sorted)."""
    codes = {}
    for name in wanted:
        i = bisect_left(names, name)
        if i < len(names) and names[i] == name:
            codes[name] = i
    return codes


def facet_counts(
    scorer: VectorScorer, candidates: np.ndarray, passing: Passing, doc_filter: DocFilter | None
) -> dict[str, list[tuple[str, int]]]:
    """Counts by source and by year of the ``candidates`` (the live documents
    matching the query), the disjunctive way: the source counts apply every
    filter but the sources', the year counts every filter but the years' (so
    a reader sees what each other value would add). Array operations only."""
    codes, names = scorer.arrays.sources(scorer.reader)
    for_sources, for_years = passing.all_but("source"), passing.all_but("year")
    source_codes = codes[candidates if for_sources is None else candidates[for_sources]]
    by_source = np.bincount(source_codes[source_codes >= 0], minlength=len(names))
    years = scorer.arrays.year(scorer.reader)[candidates if for_years is None else candidates[for_years]]
    by_year = np.bincount(years[years > 0], minlength=1)
    selected_sources = doc_filter.sources if doc_filter else ()
    sources = {names[i]: int(by_source[i]) for i in np.flatnonzero(by_source).tolist()}
    code_of = _codes(names, selected_sources)
    for name in selected_sources:
        sources.setdefault(name, int(by_source[code_of[name]]) if name in code_of else 0)
    counted_years = {y: int(by_year[y]) for y in np.flatnonzero(by_year).tolist()}
    for y in doc_filter.years if doc_filter else ():
        counted_years.setdefault(y, int(by_year[y]) if y < len(by_year) else 0)
    return {
        "source": sorted(sources.items(), key=lambda item: (-item[1], item[0])),
        "year": [(str(y), counted_years[y]) for y in sorted(counted_years, reverse=True)],
    }


def selected_only(doc_filter: DocFilter | None) -> dict[str, list[tuple[str, int]]]:
    """The facets of a search that matches nothing: the values filtered on, at 0."""
    if not doc_filter:
        return {"source": [], "year": []}
    return {
        "source": [(name, 0) for name in sorted(doc_filter.sources)],
        "year": [(str(y), 0) for y in sorted(doc_filter.years, reverse=True)],
    }
