"""Shared fixtures, built from :mod:`tests.builders`.

Two indexes of the small corpus:

* ``shared_index``: built once per session and shared by every test that
  only reads it (searches, API calls, pages, the CLI's read commands). It is
  read-only: after each test using it, and at the end of the session, its
  folder (and its corpus's) is compared with the listing taken when it was
  built, and a change fails the test that made it. ``app``, ``client``,
  ``runner`` and ``searcher`` are over it; an app's query log goes to a file
  of the test's own (``query_log``), never into the shared folder.
* ``fresh_index``: built for one test, which may reindex, damage, delete or
  switch it; ``corpus`` is that test's own copy of the small corpus, and
  ``fresh_app``/``fresh_client`` serve ``fresh_index`` as the service would
  (its query log in the index folder).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .builders import (
    ReadOnlyFolder,
    SharedIndex,
    build_index,
    build_small_index,
    build_two_segment_index,
    make_app,
    open_searcher,
    write_corpus,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> Iterator[SharedIndex]:
    """The small corpus and its index, built once per session (tests take
    ``shared_index``; module- and session-scoped fixtures take this)."""
    root = tmp_path_factory.mktemp("shared")
    index = build_small_index(root)
    built = SharedIndex(root / "corpus", index, ReadOnlyFolder(root))
    yield built
    built.folder.check("during the session", since_start=True)


@pytest.fixture
def shared_index(shared: SharedIndex) -> Iterator[Path]:
    """The small corpus's index, shared by the session: read it, never write it."""
    yield shared.index
    shared.folder.check("during this test")


@pytest.fixture
def query_log(tmp_path: Path) -> Path:
    """Where an app over the shared index writes its query log: the test's own file."""
    return tmp_path / "app-querylog.sqlite"


@pytest.fixture
def app(shared: SharedIndex, shared_index: Path, query_log: Path):
    return make_app(shared_index, query_log=query_log, SOURCE_DIR=str(shared.corpus))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="module")
def searcher(shared: SharedIndex):
    """The service's searcher on the shared index, one per module."""
    return open_searcher(shared.index)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """This test's own copy of the small corpus, to change at will."""
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def fresh_index(tmp_path: Path, corpus: Path) -> Path:
    """An index of ``corpus`` for this test alone (generation 1), to reindex, damage or switch."""
    return build_index(corpus, tmp_path / "index")


@pytest.fixture
def fresh_app(fresh_index: Path, corpus: Path):
    """The app over ``fresh_index`` and ``corpus``, its query log in the index folder as by default."""
    return make_app(fresh_index, query_log=None, SOURCE_DIR=str(corpus))


@pytest.fixture
def fresh_client(fresh_app):
    return fresh_app.test_client()


@pytest.fixture(scope="session")
def two_segment_index(tmp_path_factory):
    """300 bundled news articles, then 20 of them changed and 10 deleted by an
    incremental reindex: an index of several segments with deleted documents,
    as a live one is (read-only; the scoring and pruning tests share it).
    Returns the index folder and the incremental run's result."""
    articles = sorted((ROOT / "index_data" / "corpus" / "orangesum").glob("*.txt"))[:300]
    return build_two_segment_index(
        tmp_path_factory.mktemp("two-segments"), articles, changed=20, deleted=10,
        added_line="Macron et la réforme des retraites.",
    )  # fmt: skip
