"""Shared fixtures: a tiny French corpus, its index, the app and its clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from searchsvc import create_app
from searchsvc.index.reindex import reindex

from .builders import write_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def index_dir(tmp_path: Path, corpus: Path) -> Path:
    path = tmp_path / "index"
    reindex([corpus], path)
    return path


@pytest.fixture
def app(tmp_path: Path, index_dir: Path, corpus: Path):
    return create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "SOURCE_DIR": str(corpus)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
