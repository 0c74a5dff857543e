"""searchsvc: French site search on Whoosh and Flask.

The package is built in layers; each imports only the layers below it (a
test keeps it so), and none below ``web`` and ``cli`` imports Flask:

* :mod:`searchsvc.text`: what a French text becomes: normalisation, the
  analysis chain, the index schema, the site's word lists;
* :mod:`searchsvc.index`: documents in, index generations out: the formats,
  the catalog, the generations on disk, the reindex;
* :mod:`searchsvc.search`: a reader's query in, a page of hits out: parsing,
  scoring and ranking, facets, snippets, spelling, completion, the live index;
* :mod:`searchsvc.ops`: running it: the query log and its statistics,
  relevance evaluation;
* :mod:`searchsvc.web` and :mod:`searchsvc.cli`: the thin edges;
* :mod:`searchsvc.app`: :func:`create_app` puts the edges together.

``errors``, ``config`` and ``version`` sit under all of them; ``moved``
keeps the old names of modules that indexes on disk still name.
``docs/architecture.md`` follows a search and a reindex through the modules.
"""

from __future__ import annotations

from typing import Any

from . import moved
from .version import __version__

moved.install()  # before any index's pickled schema can name a module that moved

__all__ = ["__version__", "create_app"]


def __getattr__(name: str) -> Any:
    # ``from searchsvc import create_app`` without importing Flask and the web
    # layer whenever any module of the package is imported (a Whoosh writer
    # process imports searchsvc.text, and must not pay for the app).
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
