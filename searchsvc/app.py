"""The app factory: configuration, the service's long-lived objects, the web
views, the error handlers and the commands, put together.

Nothing is opened or read here: the index, the word lists and the query log
are opened on first use, so building an app costs nothing and tests build
one per configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import config
from .cli.commands import register_commands
from .index.applier import Applier
from .ops.querylog import QueryLog, resolve_path
from .search.live import LiveIndex
from .search.recency import Recency
from .search.result_cache import QueryCache
from .search.weighting import WEIGHTING
from .text.protected import ProtectedWordsFile
from .text.synonyms import SynonymsFile
from .web import admin, documents, errors, views


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from ``SEARCHSVC_*`` variables (and ``test_config``)."""
    app = Flask("searchsvc", template_folder="web/templates", static_folder="web/static")
    config.load(app, test_config)
    protected_words = ProtectedWordsFile(app.config["PROTECTED_WORDS"])
    app.extensions["searchsvc.index"] = LiveIndex(app.config["INDEX_DIR"], WEIGHTING, protected_words)
    app.extensions["searchsvc.applier"] = Applier(
        app.config["INDEX_DIR"],
        int(app.config["KEEP_GENERATIONS"]),
        app.config["PROTECTED_WORDS"] or None,
        # Tests build an app per case: threads, not a process each.
        in_process=bool(app.config.get("TESTING")),
    )
    app.extensions["searchsvc.synonyms"] = SynonymsFile(app.config["SYNONYMS"])
    app.extensions["searchsvc.cache"] = QueryCache(int(app.config["QUERY_CACHE"]))
    app.extensions["searchsvc.recency"] = _recency(app.config["RECENCY"], app.config["RECENCY_HALF_LIFE"])
    app.extensions["searchsvc.querylog"] = QueryLog(
        resolve_path(app.config["QUERY_LOG"], app.config["INDEX_DIR"]), int(app.config["QUERY_LOG_MAX"])
    )
    errors.register_error_handlers(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(documents.bp)
    app.before_request(_apply_pushes)
    register_commands(app)
    return app


def _recency(strength: Any, half_life: Any) -> Recency:
    """The site's recency setting, or a message naming the variable at fault."""
    try:
        return Recency(float(strength), float(half_life))
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"SEARCHSVC_RECENCY={strength!r}, SEARCHSVC_RECENCY_HALF_LIFE={half_life!r}: {e} "
            "(the strength is a number from 0, off, to 1; the half-life a number of days)"
        ) from None


def _apply_pushes() -> None:
    """Run this worker's applier (a thread, started in the process that
    serves, not at import: a fork would not carry it) once pushes are
    possible: the token is set, or a journal holds pushes from before."""
    from flask import current_app

    applier: Applier = current_app.extensions["searchsvc.applier"]
    if current_app.config.get("ADMIN_TOKEN") or applier.journal.exists():
        applier.ensure_running()
