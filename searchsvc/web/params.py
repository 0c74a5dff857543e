"""Request parameters → a :class:`~searchsvc.search.searching.SearchRequest`,
or a :class:`~searchsvc.errors.QueryError` that names the bad parameter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from ..errors import QueryError
from ..search.completion import DEFAULT_SUGGESTIONS, MAX_SUGGESTIONS
from ..search.limits import MAX_FILTER_VALUES, MAX_PER_PAGE, MAX_QUERY_CHARS
from ..search.searching import SearchRequest

MAX_PARAM_CHARS = 2000


def _checked(name: str, value: str, max_chars: int = MAX_PARAM_CHARS) -> str | None:
    if len(value) > max_chars:  # as sent: the limit the OpenAPI description states
        raise QueryError(f"{name} is too long: {len(value)} characters, at most {max_chars}")
    value = value.strip()
    return value or None


def _text(args: Mapping[str, str], name: str, max_chars: int = MAX_PARAM_CHARS) -> str | None:
    value = args.get(name)
    return None if value is None else _checked(name, value, max_chars)


def _texts(args: Mapping[str, str], name: str) -> list[str]:
    """Every value of a repeatable parameter (``source=A&source=B``), blanks left out."""
    getlist = getattr(args, "getlist", None)  # a MultiDict, as Flask gives
    values = getlist(name) if getlist else ([args[name]] if name in args else [])
    if len(values) > MAX_FILTER_VALUES:
        raise QueryError(f"{name} may be given at most {MAX_FILTER_VALUES} times")
    return [v for v in (_checked(name, value) for value in values) if v is not None]


def _number(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        raise QueryError(f"{name} must be a whole number, got {value[:40]!r}")
    return int(value)


def _whole_number(args: Mapping[str, str], name: str, default: int) -> int:
    value = _text(args, name)
    return default if value is None else _number(name, value)


def _iso_date(args: Mapping[str, str], name: str) -> date | None:
    value = _text(args, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name} must be an ISO date (YYYY-MM-DD), got {value[:40]!r}") from None


def _flag(args: Mapping[str, str], name: str, default: bool) -> bool:
    value = _text(args, name)
    if value is None:
        return default
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise QueryError(f"{name} must be true or false, got {value[:40]!r}")


def parse_search_args(args: Mapping[str, str], *, default_per_page: int = 10) -> SearchRequest:
    """Read ``q``, ``page``, ``per_page``, ``sort``, ``source`` (repeatable),
    ``year`` (repeatable), ``from``, ``to`` and ``collapse``."""
    q = _text(args, "q", MAX_QUERY_CHARS)
    if q is None:
        raise QueryError("q is required: the words to search for")
    return SearchRequest(
        q=q,
        page=_whole_number(args, "page", 1),
        per_page=_whole_number(args, "per_page", default_per_page),
        sort=_text(args, "sort") or "relevance",
        sources=tuple(_texts(args, "source")),
        years=tuple(_number("year", value) for value in _texts(args, "year")),
        date_from=_iso_date(args, "from"),
        date_to=_iso_date(args, "to"),
        collapse=_flag(args, "collapse", True),
    )


def parse_suggest_args(args: Mapping[str, str]) -> tuple[str, int]:
    """Read ``q`` (absent or blank: nothing typed yet) and ``limit``."""
    value = args.get("q") or ""
    if len(value) > MAX_QUERY_CHARS:
        raise QueryError(f"q is too long: {len(value)} characters, at most {MAX_QUERY_CHARS}")
    limit = _whole_number(args, "limit", DEFAULT_SUGGESTIONS)
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise QueryError(f"limit must be between 1 and {MAX_SUGGESTIONS}")
    return value, limit


__all__ = ["parse_search_args", "parse_suggest_args", "MAX_PER_PAGE"]
