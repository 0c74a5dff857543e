"""Ordering matches: relevance (BM25F, all words before some) or date.

A query's top-level clauses are its "words" (a plain word in title or body,
a phrase, an expanded prefix…). Documents holding every clause come first,
then those holding some, each group ordered by score: a reader who typed
three words expects the articles with all three on top, yet a question with
a word no article holds still gets its best partial matches.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq
from whoosh import scoring
from whoosh.searching import Searcher

from .query import Clauses, ParsedQuery
from .scoring import VectorScorer, bm25_idf, top
from .synonyms import SynonymOr


class TunedBM25(scoring.WeightingModel):
    """BM25 with the Robertson idf (as Lucene and SQLite FTS5 use it) instead of
    Whoosh's ``log(N / (n + 1)) + 1``, and parameters tuned on French
    question-paragraph collections (see the README's relevance section)."""

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

#: Documents holding every word of the query before those holding some.
ALL_WORDS_FIRST = True


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
class Ranking:
    """What :func:`rank_and_count` found: the best ``(docnum, score)`` pairs in
    order, how many documents pass, and the facet counts (when asked)."""

    hits: list[tuple[int, float]]
    total: int
    #: {"source": [(name, count)…] by count, then name; "year": [(year, count)…]
    #: newest first}: every value holding a match, and every value filtered on.
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: {"source": [], "year": []})


@dataclass
class _Passing:
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


def _passing(scorer: VectorScorer, candidates: np.ndarray, doc_filter: DocFilter | None) -> _Passing:
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
    return _Passing(days, source, year)


def _codes(names: tuple[str, ...], wanted: tuple[str, ...]) -> dict[str, int]:
    """The codes of the ``wanted`` sources the index has (``names`` is sorted)."""
    codes = {}
    for name in wanted:
        i = bisect_left(names, name)
        if i < len(names) and names[i] == name:
            codes[name] = i
    return codes


def _facets(
    scorer: VectorScorer, candidates: np.ndarray, passing: _Passing, doc_filter: DocFilter | None
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


def rank(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    doc_filter: DocFilter | None = None,
    sort: str = "relevance",
) -> tuple[list[tuple[int, float]], int]:
    """The first ``depth`` (docnum, relevance score) pairs in order, and the total count."""
    ranking = rank_and_count(searcher, parsed, depth, doc_filter, sort, facets=False)
    return ranking.hits, ranking.total


def rank_and_count(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    doc_filter: DocFilter | None = None,
    sort: str = "relevance",
    *,
    facets: bool = True,
) -> Ranking:
    """The first ``depth`` (docnum, relevance score) pairs in order, the total
    count and (with ``facets``) the counts by source and year.

    Each clause is scored once over the whole index (:mod:`.scoring`); the
    documents holding every clause come first. The pair bonus reorders the
    best :data:`BONUS_DEPTH` of each group.
    """
    q = parsed.query
    if q is wq.NullQuery:
        return Ranking([], 0, _selected_only(doc_filter))
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    required, optional, excluded = clauses(q)
    parts = [scorer.evaluate(c) for c in required + optional]
    scores = np.zeros(scorer.n)
    for part in parts:
        scores += np.where(part.matched, part.scores, 0.0)
    if required:
        matched = np.logical_and.reduce([p.matched for p in parts[: len(required)]])
    else:
        matched = np.logical_or.reduce([p.matched for p in parts])
    if excluded is not None:
        matched &= ~scorer.evaluate(excluded).matched
    matched &= scorer.arrays.live
    candidates = np.flatnonzero(matched)
    passing = _passing(scorer, candidates, doc_filter)
    counts = _facets(scorer, candidates, passing, doc_filter) if facets else {"source": [], "year": []}
    kept = passing.all_but()
    docnums = candidates if kept is None else candidates[kept]
    total = len(docnums)
    if sort == "date":
        day = scorer.arrays.day(scorer.reader)[docnums]
        order = np.lexsort((docnums, -scores[docnums], -day))[:depth]
        return Ranking([(int(d), float(scores[d])) for d in docnums[order]], total, counts)

    strict = None
    if ALL_WORDS_FIRST and len(parts) >= 2 and optional:
        strict = docnums[np.logical_and.reduce([p.matched[docnums] for p in parts])]
    wanted = max(depth, BONUS_DEPTH) if parsed.bonus is not None else depth
    best = top(scores, docnums, wanted)
    first = top(scores, strict, wanted) if strict is not None else best[:0]
    if parsed.bonus is not None:
        within = np.union1d(best, first)
        bonus = scorer.evaluate_within(parsed.bonus, within)
        best, first = _rerank(best, scores + bonus), _rerank(first, scores + bonus)
        scores = scores + bonus
    seen = set(first.tolist())
    ordered = first.tolist() + [d for d in best.tolist() if d not in seen]
    return Ranking([(d, float(scores[d])) for d in ordered[:depth]], total, counts)


def _selected_only(doc_filter: DocFilter | None) -> dict[str, list[tuple[str, int]]]:
    """The facets of a search that matches nothing: the values filtered on, at 0."""
    if not doc_filter:
        return {"source": [], "year": []}
    return {
        "source": [(name, 0) for name in sorted(doc_filter.sources)],
        "year": [(str(y), 0) for y in sorted(doc_filter.years, reverse=True)],
    }


#: How many of the best matches the pair bonus may reorder.
BONUS_DEPTH = 100


def _rerank(docnums: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return docnums[np.lexsort((docnums, -scores[docnums]))]
