"""Configuration: defaults, then ``SEARCHSVC_*`` environment variables, then the test mapping.

Every setting, its default and its meaning live in :data:`SETTINGS`; the
README's configuration table is checked against it by a test.
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
    Setting("INDEX_DIR", None, "Index folder (generations, pointer, lock). Default: index_data/index."),
    Setting("SOURCE_DIR", None, "What `reindex` reads when given no SOURCE, and what `serve` "
            "indexes on first start. Default: index_data/corpus (the bundled sample)."),
    Setting("MAX_FILE_MB", 10, "A plain-text article (or one JSON line) larger than this is skipped."),
    Setting("WRITER_PROCS", 0, "Processes used by a full rebuild; 0 = one per core, at most 4 "
            "(measured: 2 processes build 1.8-1.9x faster than 1 on 2 cores)."),
    Setting("WRITER_LIMIT_MB", 128, "Whoosh pool per writer process before it spills to disk "
            "(a 20,000-article build: 330 MiB peak per writer at 128, 486 MiB at 256, same speed)."),
    Setting("QUERY_CACHE", 1000, "Result pages kept per worker for repeated searches (0 = none); "
            "keyed by generation, so a reindex never serves stale results."),
    Setting("KEEP_GENERATIONS", 2, "Index generations kept on disk, the current one included."),
    Setting("SYNONYMS", None, "Synonyms file, applied at query time and reloaded when it changes "
            "(no reindex, no restart); empty = none. Default: index_data/synonyms.txt."),
    Setting("PROTECTED_WORDS", None, "Words indexed unstemmed, one a line; changing the file asks for a "
            "reindex (/api/health says so); empty = none. Default: index_data/protected_words.txt."),
    Setting("QUERY_LOG", None, "The query log (SQLite, shared by all workers); `off` = no log. "
            "Default: querylog.sqlite in the index folder."),
    Setting("QUERY_LOG_MAX", 100_000, "Searches the query log keeps; the oldest go first."),
    Setting("ADMIN_TOKEN", None, "Opens /admin/stats (as the HTTP Basic password, or "
            "`Authorization: Bearer`); unset = no admin page (404)."),
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
