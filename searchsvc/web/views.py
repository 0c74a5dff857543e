"""HTTP views: parse the request, call one domain function, render."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..generations import LiveIndex

bp = Blueprint("search", __name__)


def live_index() -> LiveIndex:
    return current_app.extensions["searchsvc.index"]


@bp.get("/api/health")
def health():
    """Liveness and what is being served: 200 with the generation, or 503."""
    live = live_index()
    generation, ix = live.current()
    body = {
        "status": "ok" if live.problem is None else "degraded",
        "documents": ix.doc_count(),
        "generation": generation.number,
        "analysis": generation.manifest.get("analysis"),
    }
    if live.problem:
        body["problem"] = live.problem
    if live.stale_analysis:
        body["status"] = "degraded"
        body["problem"] = (
            f"the index was built with analysis {generation.manifest.get('analysis')!r}, "
            f"this version uses {live.stale_analysis!r}: run `searchsvc reindex`"
        )
    return jsonify(body)
