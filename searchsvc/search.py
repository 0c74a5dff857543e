"""Running a search: a request in, a page of ranked, highlighted hits out.

This is the one search path: the JSON endpoint, the web page and
``searchsvc eval`` all call :func:`search`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date

from whoosh.searching import Searcher

from . import query as querying
from .errors import QueryError
from .ranking import DocFilter, rank
from .snippets import highlight_title, make_snippet, stems_to_mark
from .suggest import suggestion_for

MAX_PER_PAGE = 100
#: How deep a reader may page: past this many hits, pages are refused.
MAX_DEPTH = 1000
SORTS = ("relevance", "date")


@dataclass(frozen=True)
class SearchRequest:
    """What a reader or a program asks for, already validated."""

    q: str
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    source: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
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


@dataclass
class SearchPage:
    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    suggestion: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_DEPTH) // self.per_page))

    def to_dict(self) -> dict:
        """The JSON endpoint's contract."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": self.took_ms,
            "hits": [asdict(h) for h in self.hits],
            "suggestion": self.suggestion,
        }


def _filter(request: SearchRequest) -> DocFilter | None:
    def day(d: date | None) -> int | None:
        return d.year * 10000 + d.month * 100 + d.day if d else None

    doc_filter = DocFilter(request.source or None, day(request.date_from), day(request.date_to))
    return doc_filter or None


def search(searcher: Searcher, request: SearchRequest, *, render: bool = True) -> SearchPage:
    """Run ``request`` on ``searcher`` (the index's own schema and analysers).

    :param render: build snippets, highlighted titles and the suggestion; off
        for evaluation, which needs the ranking only.
    """
    started = time.perf_counter()
    parsed = querying.parse(request.q, searcher.schema, searcher.reader())
    depth = min(request.page * request.per_page, MAX_DEPTH)
    ranked, total = rank(searcher, parsed, depth, _filter(request), request.sort)
    start = (request.page - 1) * request.per_page
    page_docs = ranked[start : start + request.per_page]
    marks = stems_to_mark(parsed.highlight_terms(), searcher.schema) if render else frozenset()
    analyzer = searcher.schema["text"].analyzer
    hits = []
    for docnum, score in page_docs:
        stored = searcher.stored_fields(docnum)
        when = stored.get("date")
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
            )
        )
    suggestion = suggestion_for(parsed, searcher) if render else None
    return SearchPage(
        query=parsed.text,
        total=total,
        page=request.page,
        per_page=request.per_page,
        took_ms=round((time.perf_counter() - started) * 1000, 2),
        hits=hits,
        suggestion=suggestion,
    )
