"""Request parameters → a :class:`~searchsvc.search.SearchRequest`, or a
:class:`~searchsvc.errors.QueryError` that names the bad parameter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from ..errors import QueryError
from ..query import MAX_QUERY_CHARS
from ..search import MAX_PER_PAGE, SearchRequest

MAX_PARAM_CHARS = 2000


def _text(args: Mapping[str, str], name: str, max_chars: int = MAX_PARAM_CHARS) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    if len(value) > max_chars:  # as sent: the limit the OpenAPI description states
        raise QueryError(f"{name} is too long: {len(value)} characters, at most {max_chars}")
    value = value.strip()
    return value or None


def _whole_number(args: Mapping[str, str], name: str, default: int) -> int:
    value = _text(args, name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise QueryError(f"{name} must be a whole number, got {value[:40]!r}")
    return int(value)


def _iso_date(args: Mapping[str, str], name: str) -> date | None:
    value = _text(args, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name} must be an ISO date (YYYY-MM-DD), got {value[:40]!r}") from None


def parse_search_args(args: Mapping[str, str], *, default_per_page: int = 10) -> SearchRequest:
    """Read ``q``, ``page``, ``per_page``, ``sort``, ``source``, ``from`` and ``to``."""
    q = _text(args, "q", MAX_QUERY_CHARS)
    if q is None:
        raise QueryError("q is required: the words to search for")
    return SearchRequest(
        q=q,
        page=_whole_number(args, "page", 1),
        per_page=_whole_number(args, "per_page", default_per_page),
        sort=_text(args, "sort") or "relevance",
        source=_text(args, "source"),
        date_from=_iso_date(args, "from"),
        date_to=_iso_date(args, "to"),
    )


__all__ = ["parse_search_args", "MAX_PER_PAGE"]
