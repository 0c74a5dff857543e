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
import threading
import time

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import TooManyRequests, Unauthorized

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


#: Wrong tokens an address may send per minute, per worker, before 429s.
WRONG_TOKENS_PER_MINUTE = 10
#: Proxies on this host whose X-Real-IP names the reader (nginx: deploy/nginx).
LOCAL_PROXIES = ("127.0.0.1", "::1")


class WrongTokens:
    """Wrong tokens recently sent, per client address (this worker's memory:
    nginx's limit_req holds across workers, see deploy/nginx)."""

    def __init__(self, per_minute: int = WRONG_TOKENS_PER_MINUTE, remembered: int = 10_000) -> None:
        self.per_minute, self.remembered = per_minute, remembered
        self._seen: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> list[float]:
        times = [t for t in self._seen.get(address, ()) if now - t < 60]
        if times:
            self._seen[address] = times
        else:
            self._seen.pop(address, None)
        return times

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            return int(60 - (now - times[0])) + 1 if len(times) >= self.per_minute else 0

    def record(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) >= self.remembered:  # a flood of addresses: forget the oldest
                self._seen.pop(next(iter(self._seen)))
            self._seen.setdefault(address, []).append(now)


def client_address() -> str:
    """The reader's address: the peer's, or the one a proxy on this host passed."""
    peer = request.remote_addr or ""
    if peer in LOCAL_PROXIES:
        return request.headers.get("X-Real-IP", "").strip() or peer
    return peer


def check_token(challenge: WWWAuthenticate) -> None:
    """404 without a configured token; 429 after too many wrong ones from this
    address; 401 for a missing or wrong one (compared in constant time)."""
    token = configured_token()
    if token is None:
        abort(404)
    address = client_address()
    wrong: WrongTokens = current_app.extensions.setdefault("searchsvc.wrong_tokens", WrongTokens())
    wait = wrong.retry_after(address)
    if wait:
        raise TooManyRequests(
            f"Trop de jetons erronés : réessayez dans {wait} s.", retry_after=wait
        )
    presented = presented_token()
    if presented is None or not hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8")):
        if presented is not None:
            wrong.record(address)
        raise Unauthorized("Authentification requise.", www_authenticate=challenge)


@bp.before_request
def require_token() -> None:
    check_token(WWWAuthenticate("basic", {"realm": "searchsvc admin", "charset": "UTF-8"}))


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
