"""Indexes built before the package had layers still open and search.

``tests/data/index-0.1.0/`` is an index folder written by searchsvc 0.1.0
(see its README): its schema pickles the analysers as ``searchsvc.schema.*``
and ``searchsvc.analysis.*``, modules that are now ``searchsvc.text.schema``
and ``searchsvc.text.analysis``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from searchsvc import create_app
from searchsvc.index.reindex import reindex
from searchsvc.search.live import LiveIndex
from searchsvc.search.searching import SearchRequest, search
from searchsvc.search.weighting import WEIGHTING

OLD_INDEX = Path(__file__).parent / "data" / "index-0.1.0"


@pytest.fixture
def old_index(tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(OLD_INDEX, copy)
    return copy


def test_the_fixture_was_written_by_the_old_layout():
    toc = next((OLD_INDEX / "gen-000001").glob("_MAIN_*.toc")).read_bytes()
    assert b"searchsvc.schema" in toc and b"searchsvc.analysis" in toc and b"searchsvc.text" not in toc
    assert json.loads((OLD_INDEX / "gen-000001" / "manifest.json").read_text())["searchsvc"] == "0.1.0"


def test_an_index_of_0_1_is_served_as_it_is(old_index):
    live = LiveIndex(old_index, WEIGHTING)
    page = search(live.searcher(), SearchRequest(q="universite"))
    assert [hit.id for hit in page.hits] == ["universite.txt"]
    # Same fields and analysis; its titles weigh 1.5, as then: served with its own
    # analysers, and a reindex asked for the ranking of now.
    assert live.problem is None and "title words 1.5 times" in live.stale and "reindex" in live.stale
    assert "no article vectors" in live.stale  # built before 0.7.0: ranked lexically until a reindex
    client = create_app({"TESTING": True, "INDEX_DIR": str(old_index), "QUERY_LOG": "off"}).test_client()
    health = client.get("/api/health").get_json()
    assert (health["status"], health["documents"], health["generation"]) == ("degraded", 7, 1)
    assert health["problem"] == live.stale
    assert client.get("/api/search?q=etats-unis").get_json()["hits"][0]["id"] == "monde/etats-unis.txt"


def test_an_incremental_reindex_rebuilds_an_index_of_0_1_whole(old_index, corpus):
    """Its postings weigh titles 1.5 times: an incremental reindex cannot build
    upon them, and says so; the new generation is no longer stale."""
    result = reindex([corpus], old_index, incremental=True)
    assert (result.mode, result.documents) == ("full", 7) and "schema" in result.note
    assert LiveIndex(old_index, WEIGHTING).stale is None


def test_an_index_of_0_1_opens_in_a_fresh_process(old_index):
    """Unpickling the schema is the first thing a new process does with the
    index (``searchsvc switch``, a gunicorn worker): the old names resolve there too."""
    code = (
        "import sys; from whoosh import index\n"
        "from searchsvc.index.generations import switch\n"
        f"print(switch({str(old_index)!r}).documents)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "7"


def test_the_old_module_names_are_the_modules_of_now():
    """One module under two names, never a second copy: the classes unpickled
    from an old index are this version's classes (so its analysers compare
    equal to a fresh chain's, and no reindex is asked for)."""
    code = (
        "import searchsvc.schema as old_schema, searchsvc.analysis as old_analysis\n"
        "import searchsvc.text.schema as schema, searchsvc.text.analysis as analysis\n"
        "print(old_schema is schema, old_analysis is analysis, schema.__spec__.name, analysis.__spec__.name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "searchsvc.text.schema", "searchsvc.text.analysis"]
