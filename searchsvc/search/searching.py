"""Running a search: a request in, a page of ranked, highlighted hits out.

This is the one search path: the JSON endpoint, the web page and
``searchsvc eval`` all call :func:`search`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
from whoosh.searching import Searcher

from ..errors import QueryError
from ..text.synonyms import Synonyms
from .collapse import MAX_COLLAPSE_DEPTH, collapse, other_versions
from .facets import DocFilter
from .limits import MAX_DEPTH, MAX_FACET_SOURCES, MAX_FILTER_VALUES, MAX_PER_PAGE, SORTS
from .parsing import ParsedQuery, parse
from .postings import arrays_for
from .ranking import Ranking, rank_and_count
from .recency import Recency
from .snippets import highlight_title, make_snippet, stems_to_mark
from .spelling import suggestion_for


@dataclass(frozen=True)
class SearchRequest:
    """What a reader or a program asks for, already validated."""

    q: str
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    #: Articles from any of these sources (none: every source).
    sources: tuple[str, ...] = ()
    #: Articles from any of these years (none: every year).
    years: tuple[int, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    #: Wire copies shown once, the others as the hit's ``other_versions``;
    #: off: every article, copies included.
    collapse: bool = True

    def __post_init__(self) -> None:
        # Sorted and without repeats, so that the same filters in another
        # order are the same request (and the same cache entry).
        sources = (self.sources,) if isinstance(self.sources, str) else self.sources
        object.__setattr__(self, "sources", tuple(sorted({s for s in sources if s})))
        object.__setattr__(self, "years", tuple(sorted(set(self.years))))
        for name, values in (("source", self.sources), ("year", self.years)):
            if len(values) > MAX_FILTER_VALUES:
                raise QueryError(f"{name} may be given at most {MAX_FILTER_VALUES} times")
        if any(not 1 <= y <= 9999 for y in self.years):
            raise QueryError("year must be between 1 and 9999")
        if self.page < 1:
            raise QueryError("page must be 1 or more")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if self.page * self.per_page > MAX_DEPTH + self.per_page - 1:
            raise QueryError(
                f"page is too deep: at most {MAX_DEPTH} results can be paged through "
                f"(page {-(-MAX_DEPTH // self.per_page)} at {self.per_page} per page)"
            )
        if self.sort not in SORTS:
            raise QueryError(f"sort must be one of: {', '.join(SORTS)}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise QueryError("from must not be after to")


@dataclass
class Hit:
    id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    score: float
    snippet: str
    title_html: str = ""
    #: The other articles of its group of wire copies (the same story
    #: republished), each {"id", "title", "date", "source", "url"}.
    other_versions: list[dict] = field(default_factory=list)


@dataclass
class SearchPage:
    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    suggestion: str | None = None
    #: {"source": [{"value", "count", "selected"}…] (most frequent first, at
    #: most MAX_FACET_SOURCES plus those filtered on), "year": […] (newest
    #: first)}, counted over every match, each facet ignoring its own filter.
    facets: dict[str, list[dict]] = field(default_factory=lambda: {"source": [], "year": []})
    #: Synonyms searched besides the words typed: [{"from": typed, "to": [synonyms]}…].
    expanded: list[dict] = field(default_factory=list)
    #: What the query's bounds left out of the search (see :mod:`.limits`).
    notes: list[str] = field(default_factory=list)
    #: "eq": ``total`` is exact; "gte": a lower bound, at least
    #: TRACK_TOTAL_HITS (the query was ranked without counting every match).
    total_relation: str = "eq"
    #: The same for every facet count.
    facets_relation: str = "eq"

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_DEPTH) // self.per_page))

    def to_dict(self) -> dict:
        """The JSON endpoint's contract."""
        return {
            "query": self.query,
            "total": self.total,
            "total_relation": self.total_relation,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": self.took_ms,
            "hits": [asdict(h) for h in self.hits],
            "suggestion": self.suggestion,
            "facets": self.facets,
            "expanded": self.expanded,
            "notes": self.notes,
            "facets_relation": self.facets_relation,
        }


def _copy_groups(searcher: Searcher) -> np.ndarray | None:
    """The generation's groups of wire copies, if it has any."""
    return arrays_for(searcher.reader()).copies(searcher.reader())


def _ranked(
    searcher: Searcher,
    parsed: ParsedQuery,
    depth: int,
    request: SearchRequest,
    groups: np.ndarray | None,
    render: bool,
    recency: Recency | None,
) -> tuple[Ranking, list[tuple[int, float]]]:
    """The ranking (total, facets) and its first ``depth`` hits, copies set
    aside when ``groups`` are given: ranked twice as deep as the page, and
    again deeper while copies leave it short."""
    doc_filter = _filter(request)
    asked = depth if groups is None else min(2 * depth, MAX_COLLAPSE_DEPTH)
    ranking = rank_and_count(searcher, parsed, asked, doc_filter, request.sort, facets=render, recency=recency)
    if groups is None:
        return ranking, ranking.hits
    hits = collapse(ranking.hits, groups)
    while len(hits) < depth and len(ranking.hits) == asked and asked < MAX_COLLAPSE_DEPTH:
        asked = min(2 * asked, MAX_COLLAPSE_DEPTH)
        deeper = rank_and_count(searcher, parsed, asked, doc_filter, request.sort, facets=False, recency=recency)
        ranking.hits = deeper.hits
        hits = collapse(deeper.hits, groups)
    return ranking, hits


def _version(searcher: Searcher, docnum: int) -> dict:
    """One other version of a hit, as the page and the JSON list it."""
    stored = searcher.stored_fields(docnum)
    when = stored.get("date")
    return {
        "id": stored["id"],
        "title": stored["title"],
        "date": when.date().isoformat() if when else None,
        "source": stored.get("source"),
        "url": stored.get("url"),
    }


def _filter(request: SearchRequest) -> DocFilter | None:
    def day(d: date | None) -> int | None:
        return d.year * 10000 + d.month * 100 + d.day if d else None

    doc_filter = DocFilter(request.sources, request.years, day(request.date_from), day(request.date_to))
    return doc_filter or None


def _facet_values(request: SearchRequest, counts: dict[str, list[tuple[str, int]]]) -> dict[str, list[dict]]:
    selected = {"source": set(request.sources), "year": {str(y) for y in request.years}}
    sources = counts["source"]
    if len(sources) > MAX_FACET_SOURCES:
        sources = sources[:MAX_FACET_SOURCES] + [
            (v, n) for v, n in sources[MAX_FACET_SOURCES:] if v in selected["source"]
        ]
    return {
        name: [{"value": v, "count": n, "selected": v in selected[name]} for v, n in values]
        for name, values in (("source", sources), ("year", counts["year"]))
    }


def search(
    searcher: Searcher,
    request: SearchRequest,
    *,
    render: bool = True,
    synonyms: Synonyms | None = None,
    recency: Recency | None = None,
) -> SearchPage:
    """Run ``request`` on ``searcher`` (the index's own schema and analysers).

    :param render: build snippets, highlighted titles, the suggestion and the
        facet counts; off for evaluation, which needs the ranking only.
    :param synonyms: the site's synonyms (:mod:`searchsvc.text.synonyms`), if any.
    :param recency: how much newer articles move up among those of similar
        relevance (:mod:`.recency`); none: pure relevance.
    """
    started = time.perf_counter()
    parsed = parse(request.q, searcher.schema, searcher.reader(), synonyms)
    depth = min(request.page * request.per_page, MAX_DEPTH)
    groups = _copy_groups(searcher) if request.collapse else None
    ranking, hits_in_order = _ranked(searcher, parsed, depth, request, groups, render, recency)
    start = (request.page - 1) * request.per_page
    page_docs = hits_in_order[start : start + request.per_page]
    marks = stems_to_mark(parsed.highlight_terms(), searcher.schema) if render else frozenset()
    analyzer = searcher.schema["text"].analyzer
    members = arrays_for(searcher.reader()).copy_members(searcher.reader()) if groups is not None else None
    hits = []
    for docnum, score in page_docs:
        stored = searcher.stored_fields(docnum)
        when = stored.get("date")
        others = [_version(searcher, d) for d in other_versions(docnum, groups, members)] if groups is not None else []
        hits.append(
            Hit(
                id=stored["id"],
                title=stored["title"],
                date=when.date().isoformat() if when else None,
                source=stored.get("source"),
                url=stored.get("url"),
                score=round(score, 4),
                snippet=make_snippet(stored.get("body", ""), marks, analyzer) if render else "",
                title_html=highlight_title(stored["title"], marks, analyzer) if render else "",
                other_versions=others,
            )
        )
    suggestion = suggestion_for(parsed, searcher) if render else None
    return SearchPage(
        query=parsed.text,
        total=ranking.total,
        page=request.page,
        per_page=request.per_page,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        hits=hits,
        suggestion=suggestion,
        facets=_facet_values(request, ranking.facets),
        expanded=[e.to_dict() for e in parsed.expanded],
        notes=list(parsed.notes),
        total_relation=ranking.total_relation,
        facets_relation=ranking.facets_relation,
    )
