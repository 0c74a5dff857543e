"""searchsvc: French site search on Whoosh and Flask.

The domain modules (``analysis``, ``documents``, ``schema``, ``indexer``,
``generations``, ``search``) know nothing of Flask; ``web`` and ``cli`` are the
thin edges over them, and :func:`create_app` puts the edges together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None):
    """Build the Flask app. Nothing is opened or read until the first request."""
    from flask import Flask

    from . import cli, config
    from .cache import QueryCache
    from .generations import LiveIndex
    from .protected import ProtectedWordsFile
    from .querylog import QueryLog, resolve_path
    from .ranking import WEIGHTING
    from .synonyms import SynonymsFile
    from .web import admin, errors, views

    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    config.load(app, test_config)
    app.extensions["searchsvc.index"] = LiveIndex(
        app.config["INDEX_DIR"], WEIGHTING, ProtectedWordsFile(app.config["PROTECTED_WORDS"])
    )
    app.extensions["searchsvc.synonyms"] = SynonymsFile(app.config["SYNONYMS"])
    app.extensions["searchsvc.cache"] = QueryCache(int(app.config["QUERY_CACHE"]))
    app.extensions["searchsvc.querylog"] = QueryLog(
        resolve_path(app.config["QUERY_LOG"], app.config["INDEX_DIR"]), int(app.config["QUERY_LOG_MAX"])
    )
    errors.register_error_handlers(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    cli.init_app(app)
    return app
