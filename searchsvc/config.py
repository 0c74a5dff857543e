"""Configuration: defaults, then ``SEARCHSVC_*`` environment variables, then the test mapping.

Every setting, its default and its meaning live in :data:`SETTINGS`; the
README's configuration table is checked against it by a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

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
