"""``/admin/stats``: what readers look for, for the site's owners only.

The page exists only when ``SEARCHSVC_ADMIN_TOKEN`` is set (else 404, like
any unknown address). The token is the password of HTTP Basic authentication
(any user name, so a browser asks for it) or an ``Authorization: Bearer``
header (for scripts); anything else is a 401 that shows nothing of the log.
Nothing is remembered: no cookie, no session.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from ..errors import QueryError
from ..ops.querylog import QueryLog, stats

bp = Blueprint("admin", __name__, url_prefix="/admin")

DEFAULT_DAYS = 30
MAX_DAYS = 3650
ROWS = 50


def configured_token() -> str | None:
    """``SEARCHSVC_ADMIN_TOKEN`` as written: Flask reads ``SEARCHSVC_*`` values as
    JSON when they parse, so a token of digits would otherwise arrive as a number."""
    value = current_app.config.get("ADMIN_TOKEN")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raw = os.environ.get("SEARCHSVC_ADMIN_TOKEN")
    try:
        if raw is not None and json.loads(raw) == value:
            return raw
    except ValueError:
        pass
    return str(value)


def presented_token() -> str | None:
    """The token the request carries: the Basic password or the Bearer token."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep else None
    return None


@bp.before_request
def require_token() -> None:
    token = configured_token()
    if token is None:
        abort(404)
    presented = presented_token()
    if presented is None or not hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8")):
        challenge = WWWAuthenticate("basic", {"realm": "searchsvc admin", "charset": "UTF-8"})
        raise Unauthorized("Authentification requise.", www_authenticate=challenge)


@bp.after_request
def private(response: Response) -> Response:
    """Never cached, never indexed: applies to the 401 as well."""
    if configured_token() is not None:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _days(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_DAYS
    value = value.strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise QueryError(f"days must be a whole number between 1 and {MAX_DAYS}")
    return int(value)


@bp.get("/stats")
def stats_page() -> ResponseReturnValue:
    """The top queries, those without results and the slowest, over ``?days=N``."""
    days = _days(request.args.get("days"))
    query_log: QueryLog = current_app.extensions["searchsvc.querylog"]
    query_log.flush()  # this worker's last second too (the others' follow within one)
    figures = stats(query_log.path, days, ROWS)
    return render_template("admin_stats.html", stats=figures, log_path=query_log.path)
