"""``/api/documents``: a CMS pushes and retracts articles, for the site's owners only.

Like ``/admin/``, the endpoints exist only when ``SEARCHSVC_ADMIN_TOKEN`` is
set (else 404, like any unknown address); a request without the token, or
with another, is a 401 (the token compared in constant time). A change is
answered ``202`` once it is durable (:mod:`searchsvc.index.journal`); the
worker's applier (:mod:`searchsvc.index.applier`) makes it searchable
within about a second.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from ..index.applier import Applier, journal_seq
from ..index.push import MAX_BODY_BYTES, push, retract
from ..search.lookup import indexed_document
from .admin import check_token
from .views import live_index

bp = Blueprint("documents", __name__, url_prefix="/api/documents")


def applier() -> Applier:
    return current_app.extensions["searchsvc.applier"]


@bp.before_request
def require_token() -> None:
    check_token(WWWAuthenticate("bearer", {"realm": "searchsvc"}))


@bp.put("")
def put_documents() -> ResponseReturnValue:
    """Documents in (a JSON array, or JSON Lines), each accepted or refused;
    202 once those accepted are durable, 422 when none was."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge(f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")
    result = push(applier().journal, body, request.content_type)
    if result.accepted:
        applier().wake()
    return jsonify(result.to_dict()), 202 if result.accepted else 422


@bp.delete("/<path:doc_id>")
def delete_document(doc_id: str) -> ResponseReturnValue:
    """Retract a document: gone from every answer once applied, and left
    out of later reindexes until it is pushed again."""
    sequence = retract(applier().journal, doc_id)
    applier().wake()
    return jsonify({"retracted": doc_id, "sequence": sequence}), 202


@bp.get("/<path:doc_id>")
def get_document(doc_id: str) -> ResponseReturnValue:
    """What the generation in use holds for ``doc_id``, and whether a change
    to it is still pending."""
    live = live_index()
    searcher, generation = live.searcher_and_generation()
    doc = indexed_document(searcher, doc_id)
    change = applier().journal.pending_for(doc_id, journal_seq(live.generation))
    pending = None if change is None else ("retract" if change.document is None else "push")
    if doc is None:
        raise NotFound(
            f"No document {doc_id!r} is indexed"
            + (f" (a {pending} is pending: it will be applied within seconds)." if pending else ".")
        )
    return jsonify({"document": asdict(doc), "generation": generation, "pending": pending})
