"""The one place where errors become responses.

Under ``/api/`` every error, ours or Flask's (404, 405…), is
``{"error": {"code": ..., "message": ...}}`` with its status; a bad
parameter on the search page shows the page again, the box as typed and the
message under it; anything else is the HTML error page.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..errors import QueryError, SearchServiceError
from .views import index_sources

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str) -> tuple[Response, int] | tuple[str, int]:
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("error.html", status=status, message=message), status


def search_page_error(e: QueryError) -> tuple[str, int]:
    """The search page with the reader's input and what is wrong with it."""
    page = render_template("search.html", args=request.args, page=None, sources=index_sources(), error=e.message)
    return page, e.status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(SearchServiceError)
    def service_error(e: SearchServiceError):
        if isinstance(e, QueryError) and request.endpoint == "search.home":
            return search_page_error(e)
        if e.status >= 500:
            log.error("%s: %s", e.code, e.message)
        return error_response(e.status, e.code, e.message)

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = (e.name or "error").lower().replace(" ", "_")
        body, status = error_response(e.code or 500, code, e.description or e.name)
        # The exception's own headers (a 405's Allow, required by RFC 9110), not its content type.
        headers = [(k, v) for k, v in e.get_headers() if k.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unexpected error on %s", request.path)
        return error_response(500, "internal", InternalServerError.description)
