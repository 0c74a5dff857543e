"""The index a running service searches (:class:`searchsvc.search.live.LiveIndex`):
it follows the ``CURRENT`` pointer without a restart, keeps one searcher per
thread, falls back to the last whole generation when the newest is damaged,
and says when the generation in use wants a reindex (``stale``) or cannot be
served (``problem``, 503).

The generations on disk themselves are ``tests/test_generations.py``'s.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from searchsvc.errors import IndexNotReady
from searchsvc.index import generations
from searchsvc.index.generations import current_generation, generation_path
from searchsvc.index.reindex import reindex
from searchsvc.search import live as live_module
from searchsvc.search.live import LiveIndex
from searchsvc.search.searching import SearchRequest, search
from searchsvc.search.weighting import WEIGHTING
from searchsvc.text.analysis import ANALYSIS_VERSION
from searchsvc.text.protected import ProtectedWordsFile
from searchsvc.text.wordfiles import WatchedFile

from .builders import use_a_newer_schema


def ids(searcher, q: str) -> list[str]:
    return [hit.id for hit in search(searcher, SearchRequest(q=q)).hits]


def edit_manifest(index_dir: Path, number: int, **changes) -> None:
    path = generation_path(index_dir, number) / generations.MANIFEST
    path.write_text(json.dumps({**json.loads(path.read_text("utf-8")), **changes}), "utf-8")


def _two_generations(index_dir, corpus):
    live = LiveIndex(index_dir)
    assert live.searcher().doc_count() == 7
    (corpus / "nouveau.txt").write_text("Un nouvel article\nSur la baguette.\n", "utf-8")
    newer = reindex([corpus], index_dir)  # full: no file shared with the one before
    assert live.searcher().doc_count() == 8
    return live, newer.generation


# --------------------------------------------------------------------------
# Following the pointer


def test_live_index_switches_to_a_new_generation_without_restart(fresh_index, corpus):
    live = LiveIndex(fresh_index)
    assert live.searcher().doc_count() == 7
    first = live.generation.number
    (corpus / "nouveau.txt").write_text("Un nouvel article\nSur la baguette.\n", "utf-8")
    reindex([corpus], fresh_index, incremental=True)
    searcher = live.searcher()
    assert live.generation.number == first + 1
    assert searcher.doc_count() == 8
    assert live.searcher() is searcher  # reused, not reopened per query


def test_searcher_picks_up_a_new_generation(fresh_index, corpus):
    live = LiveIndex(fresh_index, WEIGHTING)
    assert ids(live.searcher(), "baguette") == []
    (corpus / "pain.txt").write_text("Le pain\nUne baguette bien cuite.\n", "utf-8")
    reindex([corpus], fresh_index, incremental=True)
    assert ids(live.searcher(), "baguette") == ["pain.txt"]


def test_a_pointer_moved_back_is_followed_and_the_old_searcher_closed(fresh_index, corpus, caplog):
    live = LiveIndex(fresh_index, WEIGHTING)
    first = live.searcher()
    (corpus / "pain.txt").write_text("Le pain\nUne baguette bien cuite.\n", "utf-8")
    reindex([corpus], fresh_index)
    with caplog.at_level(logging.INFO, logger="searchsvc.search.live"):
        second, number = live.searcher_and_generation()
    assert number == 2 and second is not first and first.is_closed  # this thread's previous one, closed
    assert "switched from generation 1 to 2" in caplog.text
    assert ids(second, "baguette") == ["pain.txt"]
    generations.publish(fresh_index, 1)  # back, as `searchsvc switch 1` does
    back, number = live.searcher_and_generation()
    assert number == 1 and live.generation.number == 1 and live.current()[0].number == 1
    assert ids(back, "baguette") == [] and second.is_closed and not back.is_closed


def test_each_thread_keeps_its_own_searcher(shared_index):
    live = LiveIndex(shared_index, WEIGHTING)
    mine = live.searcher()
    got: dict[str, tuple] = {}

    def work(name: str) -> None:
        got[name] = (live.searcher(), live.searcher())

    threads = [threading.Thread(target=work, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (a1, a2), (b1, b2) = got["a"], got["b"]
    assert a1 is a2 and b1 is b2 and live.searcher() is mine  # reused within a thread…
    assert len({id(mine), id(a1), id(b1)}) == 3  # …never shared between threads
    assert not (mine.is_closed or a1.is_closed or b1.is_closed)


# --------------------------------------------------------------------------
# Damaged generations: the last whole one is served


def test_live_index_refuses_a_damaged_generation_and_keeps_serving(fresh_index, corpus):
    live = LiveIndex(fresh_index)
    live.searcher()
    good = live.generation.number
    result = reindex([corpus], fresh_index)
    # Truncate a segment of the new generation behind the service's back.
    segment = next(result_path for result_path in generations.generation_path(fresh_index, result.generation).glob("*.seg"))
    with open(segment, "r+b") as f:
        f.truncate(100)
    live._retry_at = 0
    assert live.searcher().doc_count() == 7
    assert live.generation.number == good
    assert "damaged" in live.problem and segment.name in live.problem


def test_a_new_worker_serves_the_last_whole_generation_when_the_current_one_is_truncated(fresh_index, corpus):
    reindex([corpus], fresh_index)  # generation 2 in use, 1 kept
    segment = max(generation_path(fresh_index, 2).glob("*.seg"), key=lambda p: p.stat().st_size)
    size = segment.stat().st_size
    os.truncate(segment, 100)
    live = LiveIndex(fresh_index)  # never opened generation 2: nothing of it is mapped
    assert live.searcher().doc_count() == 7 and live.generation.number == 1
    assert live.problem == (
        f"generation 2 is damaged: {segment.name} has 100 bytes, expected {size}; "
        "serving generation 1, the last good one"
    )


def test_only_a_generation_older_than_the_pointers_is_a_fallback(fresh_index, corpus):
    """A newer folder may be a build under way or a copy not switched in."""
    reindex([corpus], fresh_index)  # generation 2, whole
    generations.publish(fresh_index, 1)  # the pointer back on 1…
    next(generation_path(fresh_index, 1).glob("*.seg")).unlink()  # …which is damaged
    live = LiveIndex(fresh_index)
    with pytest.raises(IndexNotReady, match="generation 1 is damaged: .* is missing"):
        live.searcher()
    assert live.generation is None and live.index is None


def test_a_generation_that_failed_is_tried_again_after_a_pause(fresh_index, corpus, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(live_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    reindex([corpus], fresh_index)  # generation 2
    segment = next(generation_path(fresh_index, 2).glob("*.seg"))
    whole = segment.read_bytes()
    os.truncate(segment, 100)  # a copy not finished yet
    live = LiveIndex(fresh_index)
    assert live.searcher().doc_count() == 7 and live.generation.number == 1 and live.problem
    segment.write_bytes(whole)  # the copy finishes
    clock[0] += LiveIndex.RETRY_AFTER - 0.5
    assert live.searcher() and live.generation.number == 1  # not tried again before the pause is over
    clock[0] += 1.0
    assert live.searcher() and live.generation.number == 2 and live.problem is None


def test_live_index_falls_back_when_a_file_of_the_generation_in_use_goes(fresh_index, corpus, caplog):
    live, newer = _two_generations(fresh_index, corpus)
    segment = next(generations.generation_path(fresh_index, newer).glob("*.seg"))
    segment.unlink()
    with caplog.at_level(logging.ERROR, logger="searchsvc.search.live"):
        for _ in range(5):
            assert live.searcher().doc_count() == 7  # the last good generation
    assert live.generation.number == newer - 1
    assert live.problem == (
        f"generation {newer} is damaged: {segment.name} is missing; serving generation {newer - 1}, the last good one"
    )
    assert len(caplog.records) == 1 and "falling back" in caplog.records[0].getMessage()  # once, not per request
    fresh = LiveIndex(fresh_index)  # a worker started afterwards does the same
    assert fresh.searcher().doc_count() == 7 and fresh.problem == live.problem
    reindex([corpus], fresh_index)
    assert live.searcher().doc_count() == 8 and live.problem is None


def test_live_index_without_a_whole_generation_answers_503_with_the_reason(fresh_index, corpus):
    live, newer = _two_generations(fresh_index, corpus)
    for number in (newer - 1, newer):
        next(generations.generation_path(fresh_index, number).glob("*.seg")).unlink()
    with pytest.raises(IndexNotReady, match=f"generation {newer} is damaged: .* is missing"):
        live.searcher()
    assert live.index is None


def test_a_segment_truncated_under_the_service_is_not_read(fresh_index, corpus):
    """Truncating a mapped file and reading a lost page is SIGBUS: the process
    dies. In a subprocess, so that a regression does not take pytest with it."""
    _, newer = _two_generations(fresh_index, corpus)
    script = f"""
import os
from searchsvc.search.live import LiveIndex
from searchsvc.index.generations import generation_path
live = LiveIndex({str(fresh_index)!r})
searcher = live.searcher()
assert searcher.doc_count() == 8
for segment in generation_path(live.index_dir, {newer}).glob("*.seg"):
    os.truncate(segment, 100)
searcher = live.searcher()
print(searcher.doc_count(), len(list(searcher.documents())), live.problem)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"7 7 generation {newer} is damaged: ")


def test_a_generation_holding_other_documents_than_its_manifest_says_is_not_served(fresh_index):
    edit_manifest(fresh_index, 1, documents=8)
    with pytest.raises(IndexNotReady, match="generation 1 holds 7 documents, its manifest says 8"):
        LiveIndex(fresh_index).searcher()


def test_no_index_at_all_is_not_ready(tmp_path):
    live = LiveIndex(tmp_path / "nothing")
    with pytest.raises(IndexNotReady, match="no index"):
        live.searcher()


def test_missing_generation_files_are_reported(fresh_index):
    gen = current_generation(fresh_index)
    shutil.rmtree(gen.path)
    with pytest.raises(IndexNotReady, match="incomplete"):
        LiveIndex(fresh_index).searcher()


# --------------------------------------------------------------------------
# Stale: the generation in use wants a reindex


def test_stale_when_the_protected_words_file_changes(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(WatchedFile, "CHECK_EVERY", 0.0)
    index_dir = tmp_path / "ix"
    reindex([corpus], index_dir, protected=["france"])
    words = tmp_path / "protected_words.txt"
    words.write_text("france\n", "utf-8")
    live = LiveIndex(index_dir, WEIGHTING, ProtectedWordsFile(words))
    live.searcher()
    assert live.stale is None
    words.write_text("france\ngaza\n", "utf-8")
    assert live.stale == (
        "the protected words changed since generation 1 was built (added: gaza): run `searchsvc reindex`"
    )
    assert live.searcher().doc_count() == 7 and live.problem is None  # still searched, with its own list
    words.write_text("france\n", "utf-8")
    assert live.stale is None


def test_another_analysis_version_is_stale_but_still_searched(fresh_index):
    edit_manifest(fresh_index, 1, analysis="fr-0")
    live = LiveIndex(fresh_index, WEIGHTING)
    assert ids(live.searcher(), "coeur")[0] == "coeur.txt"  # with the analysers pickled in the index
    assert live.stale == (
        f"the index was built with analysis 'fr-0', this version uses {ANALYSIS_VERSION!r}: run `searchsvc reindex`"
    )
    assert live.searchable and live.problem is None


def test_another_schema_cannot_be_searched(shared_index, monkeypatch):
    use_a_newer_schema(monkeypatch, live_module)
    live = LiveIndex(shared_index, WEIGHTING)
    generation, _ = live.current()  # the generation is whole…
    assert generation.number == 1 and live.problem is None
    assert not live.searchable and "another schema" in live.stale  # …but this code cannot search it
    with pytest.raises(IndexNotReady, match="another schema"):
        live.searcher()


# --------------------------------------------------------------------------
# As the service shows it


def test_new_generation_is_served_without_restart(fresh_client, corpus, fresh_index):
    assert fresh_client.get("/api/search?q=baguette").get_json()["total"] == 0
    (corpus / "pain.txt").write_text("Le pain\nUne baguette bien cuite.\n", "utf-8")
    reindex([corpus], fresh_index)
    body = fresh_client.get("/api/search?q=baguette").get_json()
    assert [h["id"] for h in body["hits"]] == ["pain.txt"]
    assert fresh_client.get("/api/health").get_json()["generation"] == 2


def test_health_follows_a_reindex_without_restart(fresh_client, corpus, fresh_index):
    (corpus / "nouveau.txt").write_text("Un nouvel article\nSur la baguette.\n", "utf-8")
    reindex([corpus], fresh_index, incremental=True)
    assert fresh_client.get("/api/health").get_json()["generation"] == 2
    assert fresh_client.get("/api/health").get_json()["documents"] == 8


def test_index_built_with_another_chain_is_reported(fresh_client, fresh_index):
    gen_dir = next(fresh_index.glob("gen-*"))
    manifest = json.loads((gen_dir / "manifest.json").read_text())
    manifest["analysis"] = "fr-0"
    (gen_dir / "manifest.json").write_text(json.dumps(manifest))
    body = fresh_client.get("/api/health").get_json()
    assert body["status"] == "degraded"
    assert "fr-0" in body["problem"] and "reindex" in body["problem"]
