"""HTTP views: parse the request, call one domain function, render."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from ..index.applier import journal_seq
from ..index.push import MAX_BODY_BYTES
from ..search.completion import complete
from ..search.limits import TRACK_TOTAL_HITS
from ..search.live import LiveIndex
from ..search.result_cache import QueryCache
from ..search.searching import SearchPage, SearchRequest, search
from .openapi import openapi_document
from .params import parse_search_args, parse_suggest_args

bp = Blueprint("search", __name__)

#: Pushed changes waiting longer than this make the health check "degraded"
#: (they are applied within about a second; a reindex holds them up while it runs).
PUSHES_LATE_SECONDS = 120.0


def live_index() -> LiveIndex:
    return current_app.extensions["searchsvc.index"]


def run_search(search_request: SearchRequest) -> SearchPage:
    """The page for ``search_request`` on the current generation, from the cache if there."""
    searcher, generation = live_index().searcher_and_generation()
    cache: QueryCache = current_app.extensions["searchsvc.cache"]
    # The synonyms' version is part of the key: an edited list never serves a page computed with the old one.
    synonyms = current_app.extensions["searchsvc.synonyms"].current()
    recency = current_app.extensions["searchsvc.recency"]
    page = cache.page(
        (generation, synonyms.version, search_request),
        lambda: search(searcher, search_request, synonyms=synonyms, recency=recency),
    )
    # What readers look for (a cached page counts: a reader searched); never fails, never waits.
    current_app.extensions["searchsvc.querylog"].record(search_request.q, page.total, page.took_ms, search_request.page)
    return page


@bp.before_app_request
def refuse_large_bodies() -> None:
    """Any body over the largest one accepted (a push, 10 MB) is a 413 before
    a byte of it is read, whatever the address."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """No inline script or style, no sniffing, no framing, no referrer leaks."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.get("/api/search")
def api_search() -> ResponseReturnValue:
    search_request = parse_search_args(request.args)
    return jsonify(run_search(search_request).to_dict())


@bp.get("/api/suggest")
def api_suggest() -> ResponseReturnValue:
    """Completions of what is being typed: words, then titles."""
    q, limit = parse_suggest_args(request.args)
    return jsonify(complete(live_index().searcher(), q, limit).to_dict())


@bp.get("/")
def home() -> ResponseReturnValue:
    """The search page: the box alone, or the box and a page of results.
    (A bad parameter is a QueryError: web/errors.py shows this page again with the message.)"""
    if not request.args.get("q", "").strip():
        return render_template("search.html", args=request.args, page=None, sources=index_sources())
    search_request = parse_search_args(request.args)
    page = run_search(search_request)
    html = render_template(
        "search.html", args=request.args, page=page, sources=index_sources(), request=search_request,
        track_total_hits=TRACK_TOTAL_HITS,
    )  # fmt: skip
    # Results are not for search engines (the page says it too): endless, and what readers typed.
    return html, {"X-Robots-Tag": "noindex, follow"}


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for it at the root; nginx serves it itself (deploy/nginx)."""
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=7 * 86400)


def index_sources() -> list[str]:
    """The sources the index holds, for the filter (empty when there is no index)."""
    try:
        reader = live_index().searcher().reader()
    except Exception:
        return []
    return sorted(t.decode("utf-8") if isinstance(t, bytes) else t for t in reader.lexicon("source"))[:200]


@bp.get("/api/health")
def health() -> ResponseReturnValue:
    """Liveness and what is being served: 200 with the generation ("degraded"
    with the problem when it can be searched but wants a reindex), 503 when
    no search can be answered."""
    live = live_index()
    generation, _ = live.current()
    body = {
        "status": "ok" if live.problem is None else "degraded",
        # The manifest's count, checked against the index when it was opened:
        # ix.doc_count() would open a reader from disk on every check.
        "documents": generation.documents,
        "generation": generation.number,
        "analysis": generation.manifest.get("analysis"),
        # The synonyms in use and the lines of the file that were ignored (with their numbers).
        "synonyms": current_app.extensions["searchsvc.synonyms"].current().summary(),
    }
    if live.problem:
        body["problem"] = live.problem
    applier = current_app.extensions["searchsvc.applier"]
    if applier.journal.exists():
        count, oldest = applier.journal.backlog(journal_seq(generation))
        waiting = time.time() - oldest if oldest is not None else 0.0
        body["pushes"] = {"pending": count, "oldest_seconds": round(waiting, 1)}
        if waiting > PUSHES_LATE_SECONDS:
            body["status"] = "degraded"
            body["problem"] = (
                f"{count} pushed changes are not applied, the oldest for {waiting:.0f} s"
                + " (a reindex holding the lock, or an error: see the service's log)"
            )
    if live.stale:
        body["status"] = "degraded"
        body["problem"] = live.stale
    if not live.searchable:  # every search would fail: tell the load balancer
        body["status"] = "unavailable"
        return jsonify(body), 503
    return jsonify(body)


@bp.get("/api/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())
