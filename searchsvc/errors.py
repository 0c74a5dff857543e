"""The service's typed errors. Each carries an HTTP status and a stable code.

Domain modules raise them; ``web/errors.py`` and ``cli/errors.py`` map them to
responses and exit codes, each in one place.
"""

from __future__ import annotations


class SearchServiceError(Exception):
    """Base class: ``status`` is the HTTP status, ``code`` a stable machine name,
    ``exit_code`` what the command line returns."""

    status = 500
    code = "internal"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueryError(SearchServiceError):
    """A request parameter that cannot be used; the message names it."""

    status, code, exit_code = 400, "bad_request", 2


class UnsupportedMediaType(QueryError):
    """A request body in a format the endpoint does not read."""

    status, code = 415, "unsupported_media_type"


class IndexNotReady(SearchServiceError):
    """No usable index: never built, being built for the first time, or damaged."""

    status, code, exit_code = 503, "index_not_ready", 1


class ReindexInProgress(SearchServiceError):
    """Another reindex holds the index folder's lock."""

    status, code, exit_code = 409, "reindex_in_progress", 3


class NothingToIndex(SearchServiceError):
    """The sources held no valid document, so no generation was switched in."""

    status, code, exit_code = 422, "nothing_to_index", 4


class IndexWriteError(SearchServiceError):
    """Writing the new generation failed (disk full, permissions, a writer
    process killed); the previous generation is untouched."""

    status, code, exit_code = 500, "index_write_failed", 5


class SourceError(SearchServiceError):
    """A source that cannot be read at all (a database URL that names no
    usable database, a refused connection, a query that fails or lacks a
    required column): nothing was indexed, the current generation is untouched."""

    status, code, exit_code = 502, "source_unavailable", 6


class QueryLogError(SearchServiceError):
    """The query log is off, or its file cannot be read (``searchsvc stats``, ``/admin/stats``)."""

    status, code, exit_code = 503, "query_log_unavailable", 1
