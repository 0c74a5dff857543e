"""Configuration: defaults, then ``SEARCHSVC_*`` environment variables, then the test mapping.

Every setting, its default and its meaning live in :data:`SETTINGS`;
``docs/configuration.md``'s table is checked against it by a test
(``tests/test_config.py``): one row per setting, in this order. A setting's
``help`` is written for that page (Markdown); a setting whose default is
worked out when the app is built (``default`` ``None``, filled in by
:func:`load`) says so in a last sentence ``Default: ….``, and a setting
with neither is unset by default.

Values are read by Flask's ``from_prefixed_env``: one that parses as JSON
arrives as that value (``SEARCHSVC_MAX_FILE_MB=3`` is the number 3), any
other as a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # the domain modules read project_dir() without importing Flask
    from flask import Flask


def project_dir() -> Path:
    """The folder holding ``index_data/``: the source checkout, else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "index_data").is_dir() else Path.cwd()


class Setting(NamedTuple):
    name: str
    default: Any
    help: str


SETTINGS = [
    Setting("INDEX_DIR", None, "Index folder: the generations, the `CURRENT` pointer, the reindex lock "
            "and, unless `SEARCHSVC_QUERY_LOG` says otherwise, the query log. Default: `index_data/index`."),
    Setting("SOURCE_DIR", None, "What `searchsvc reindex` reads when given no SOURCE, and what "
            "`searchsvc serve` indexes when it finds no usable index. "
            "Default: `index_data/corpus` (the bundled sample)."),
    Setting("MAX_FILE_MB", 10, "A plain-text article, or one JSON line, larger than this many "
            "megabytes is skipped (and listed in the reindex's summary)."),
    Setting("WRITER_PROCS", 0, "Writer processes of a full rebuild (`--procs`); `0` = one per core, "
            "at most 4 (on 2 cores, 2 processes build about 1.8× faster than 1). Each writes segments "
            "of 50,000 articles and peaks under 450 MiB. An incremental reindex writes with one."),
    Setting("WRITER_LIMIT_MB", 128, "Ignored since 0.4.0: it sized Whoosh's posting pool, which the bulk "
            "writer does not use (its memory is bounded by its segment size). Still accepted, so that "
            "existing settings keep working."),
    Setting("QUERY_CACHE", 1000, "Result pages kept per worker for repeated searches (`0` = none); "
            "keyed by generation and synonyms list, so neither a reindex nor an edited list "
            "ever serves stale results."),
    Setting("KEEP_GENERATIONS", 2, "Index generations kept on disk, the current one included; "
            "a reindex or `searchsvc switch` removes older ones."),
    Setting("SYNONYMS", None, "Synonyms file, applied at query time and reloaded within a second of an "
            "edit (no reindex, no restart); set empty for none. Default: `index_data/synonyms.txt`."),
    Setting("PROTECTED_WORDS", None, "Words indexed unstemmed, one a line; part of the index, so after "
            "a change `/api/health` asks for a reindex; set empty for none. "
            "Default: `index_data/protected_words.txt`."),
    Setting("QUERY_LOG", None, "The query log (SQLite, shared by all workers): a file, or `off` to "
            "record nothing. Default: `querylog.sqlite` in the index folder."),
    Setting("QUERY_LOG_MAX", 100_000, "Searches the query log keeps (about 8 MB at 100,000); "
            "the oldest go first."),
    Setting("RECENCY", 0, "How much newer articles move up among those of similar relevance, from "
            "`0` (off: pure relevance) to `1`: each score is multiplied by "
            "`1 - R + R × 0.5 ^ (age / half-life)`, the age counted in days from the index's newest "
            "article; undated articles get no boost. Off by default: on the news collections it "
            "costs relevance (docs/relevance.md); a newsroom whose readers want the latest turns it on "
            "(`0.1`–`0.3`). `sort=date` is unaffected."),
    Setting("RECENCY_HALF_LIFE", 30, "Days after which `SEARCHSVC_RECENCY`'s boost is halved."),
    Setting("ADMIN_TOKEN", None, "Opens `/admin/stats` (as the HTTP Basic password, any user name, or "
            "as `Authorization: Bearer <token>`) and `/api/documents`, where a CMS pushes and retracts "
            "articles (as `Authorization: Bearer <token>`); unset, neither exists (404)."),
]


def load(app: Flask, test_config: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` from defaults, the environment and ``test_config``."""
    app.config.from_mapping({s.name: s.default for s in SETTINGS})
    app.config.from_prefixed_env("SEARCHSVC")
    if test_config:
        app.config.update(test_config)
    data = project_dir() / "index_data"
    if not app.config["INDEX_DIR"]:
        app.config["INDEX_DIR"] = str(data / "index")
    if not app.config["SOURCE_DIR"]:
        app.config["SOURCE_DIR"] = str(data / "corpus")
    for name, filename in (("SYNONYMS", "synonyms.txt"), ("PROTECTED_WORDS", "protected_words.txt")):
        if app.config[name] is None:  # unset: the shipped list; "" (set empty): none
            app.config[name] = str(data / filename)
