"""Reindexing: what a site owner's articles become, and the safety of the switch."""

from __future__ import annotations

import errno
import json
import sqlite3

import pytest
from whoosh import index as whoosh_index
from whoosh.qparser import AndGroup

from searchsvc.errors import IndexWriteError, NothingToIndex
from searchsvc.index.generations import current_generation
from searchsvc.index.reindex import reindex
from searchsvc.text.analysis import ANALYSIS_VERSION, exact_analyzer, french_analyzer
from searchsvc.text.protected import default_words
from searchsvc.text.schema import TITLE_WEIGHT

from .builders import kill_the_first_writer_process, search_ids, use_a_newer_schema


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("universite", "universite.txt"),
        ("Université", "universite.txt"),
        ("etats-unis", "monde/etats-unis.txt"),
        ("Etats-Unis", "monde/etats-unis.txt"),
        ("etats unis", "monde/etats-unis.txt"),
        ("unis", "monde/etats-unis.txt"),
        ("l'otan", "monde/etats-unis.txt"),
        ("OTAN", "monde/etats-unis.txt"),
        ("americano-russe", "monde/etats-unis.txt"),
        ("coeur", "coeur.txt"),
        ("aujourdhui", "universite.txt"),
        ("jeudi", "nuit.txt"),
        ("gouvernement", "nuit.txt"),
        ("14,2", "nuit.txt"),
        ("elections", "election.txt"),
        ("presidente", "election.txt"),
        ("portemonnaie", None),
        ("porte-monnaie", "porte"),
    ],
)
def test_readers_typing_without_accents_find_the_article(shared_index, typed, expected):
    found = search_ids(shared_index, typed, group=AndGroup)
    if expected is None:
        assert found == set()
    else:
        assert expected in found


def test_queries_use_the_index_own_analyzer(shared_index):
    generation = current_generation(shared_index)
    ix = whoosh_index.open_dir(str(generation.path))
    # reindex() protects the shipped list by default, as `searchsvc reindex` does
    assert ix.schema["text"].analyzer == french_analyzer(default_words(), lead_boost=TITLE_WEIGHT)
    assert ix.schema["exact"].analyzer == exact_analyzer(lead_boost=TITLE_WEIGHT)


def test_phrase_with_stop_words_matches_on_the_exact_field(shared_index):
    assert search_ids(shared_index, '"la nuit de mercredi à jeudi"', fields=("exact",)) == {"nuit.txt"}
    assert search_ids(shared_index, '"la nuit de jeudi à mercredi"', fields=("exact",)) == set()


@pytest.mark.parametrize(
    "typed, expected", [("jusqu'à", "porte"), ("jusqu'a", "porte"), ("être ou ne pas être", "hamlet")]
)
def test_stop_word_only_queries_still_find_documents(shared_index, typed, expected):
    if "jusqu" in typed:
        assert search_ids(shared_index, typed) == set()  # nothing left on the stemmed fields
    assert search_ids(shared_index, f'"{typed}"', fields=("exact",)) == {expected}


def test_stored_fields_and_dates(shared_index):
    generation = current_generation(shared_index)
    with whoosh_index.open_dir(str(generation.path)).searcher() as s:
        doc = s.document(id="monde/etats-unis.txt")
        assert doc["title"] == "Les États-Unis et l'OTAN"
        assert doc["date"].date().isoformat() == "2024-11-22"
        assert doc["source"] == "AA"
        hamlet = s.document(id="hamlet")
        assert hamlet["url"] == "https://example.org/hamlet"
    assert generation.documents == 7
    assert generation.manifest["analysis"] == ANALYSIS_VERSION


def test_incremental_writes_only_what_changed(fresh_index, corpus):
    (corpus / "coeur.txt").unlink()
    text = (corpus / "nuit.txt").read_text("utf-8")
    (corpus / "nuit.txt").write_text(text.replace("400 millions", "500 millions"), "utf-8")
    (corpus / "nouveau.txt").write_text("Un nouvel article\nSur la baguette.\n", "utf-8")
    result = reindex([corpus], fresh_index, incremental=True)
    assert (result.mode, result.added, result.updated, result.deleted, result.unchanged) == (
        "incremental", 1, 1, 1, 5,
    )  # fmt: skip
    assert result.documents == 7
    assert search_ids(fresh_index, "coeur") == {"porte"}
    assert search_ids(fresh_index, "baguette") == {"nouveau.txt"}
    assert search_ids(fresh_index, "500") == {"nuit.txt"}
    assert search_ids(fresh_index, "400") == set()
    assert current_generation(fresh_index).manifest["mode"] == "incremental"


def test_incremental_runs_fold_their_small_segments(fresh_index, corpus, tmp_path, monkeypatch):
    """Each incremental run writes a segment; once FOLD_COUNT small ones are
    there, they are folded into the new one (their live documents indexed
    again from what they stored): the segments stay few, the documents the
    same as a full rebuild's."""
    from searchsvc.index import writers

    monkeypatch.setattr(writers, "FOLD_COUNT", 3)
    counts = []
    for run in range(5):
        text = (corpus / "nuit.txt").read_text("utf-8")
        (corpus / "nuit.txt").write_text(text + f"\nMise à jour numéro {run}.\n", "utf-8")
        (corpus / f"ajout{run}.txt").write_text(f"Ajout {run}\nUne baguette de plus.\n", "utf-8")
        result = reindex([corpus], fresh_index, incremental=True)
        assert (result.mode, result.added, result.updated) == ("incremental", 1, 1)
        ix = whoosh_index.open_dir(str(current_generation(fresh_index).path))
        counts.append(len(ix._segments()))
        assert ix.doc_count() == result.documents == 7 + run + 1
    assert max(counts) <= 3 and counts != sorted(counts)  # it grew, then folded
    full = reindex([corpus], tmp_path / "full")
    assert full.documents == 12
    for words in ("baguette", "numéro", "greffe", "jeudi", "otan", "nuit"):
        assert search_ids(fresh_index, words) == search_ids(tmp_path / "full", words), words


def test_incremental_without_an_index_falls_back_to_full(tmp_path, corpus):
    result = reindex([corpus], tmp_path / "ix", incremental=True)
    assert result.mode == "full" and "full rebuild" in result.note
    assert result.documents == 7


def test_incremental_after_an_analysis_change_is_a_full_rebuild(fresh_index, corpus):
    gen = current_generation(fresh_index)
    manifest = json.loads((gen.path / "manifest.json").read_text())
    manifest["analysis"] = "fr-0"
    (gen.path / "manifest.json").write_text(json.dumps(manifest))
    result = reindex([corpus], fresh_index, incremental=True)
    assert result.mode == "full" and "analysis" in result.note


def test_incremental_after_a_schema_change_is_a_full_rebuild(fresh_index, corpus, monkeypatch):
    from searchsvc.index import reindex as indexer

    use_a_newer_schema(monkeypatch, indexer)
    result = reindex([corpus], fresh_index, incremental=True)
    assert result.mode == "full" and "schema" in result.note
    assert result.documents == 7


def test_incremental_without_a_catalog_is_a_full_rebuild(fresh_index, corpus):
    """A generation made before the catalog moved to SQLite has none: every
    document would otherwise be added a second time."""
    gen = current_generation(fresh_index)
    (gen.path / "catalog.sqlite").rename(gen.path / "catalog.json")
    manifest = json.loads((gen.path / "manifest.json").read_text())
    manifest["files"]["catalog.json"] = manifest["files"].pop("catalog.sqlite")
    (gen.path / "manifest.json").write_text(json.dumps(manifest))
    result = reindex([corpus], fresh_index, incremental=True)
    assert result.mode == "full" and "catalog" in result.note
    assert result.documents == 7
    assert search_ids(fresh_index, "greffe") == {"coeur.txt"}


@pytest.mark.parametrize("procs", [1, 2])
def test_a_large_full_rebuild_commits_segments_in_batches(tmp_path, corpus, monkeypatch, procs):
    """Every BULK_SEGMENT_DOCS documents a writer process finishes its
    segment and starts afresh, so no writer's memory grows with the corpus;
    the index holds the same."""
    from searchsvc.index import reindex as indexer

    whole = tmp_path / "whole"
    reindex([corpus], whole, procs=procs)
    monkeypatch.setattr(indexer, "BULK_SEGMENT_DOCS", 3)
    batched = tmp_path / "batched"
    result = reindex([corpus], batched, procs=procs)
    assert result.documents == 7
    segments = whoosh_index.open_dir(str(current_generation(batched).path)).reader()
    assert segments.doc_count() == 7
    assert len(list(segments.leaf_readers())) >= 3  # 7 documents, 3 a batch
    for words in ("greffe", "jeudi", "otan", "coeur", "baguette OR nuit"):
        assert search_ids(batched, words) == search_ids(whole, words), words


@pytest.mark.parametrize("incremental", [False, True])
def test_a_file_that_became_unreadable_keeps_its_indexed_document(fresh_index, corpus, incremental):
    (corpus / "coeur.txt").write_bytes(b"\x00\x01binary junk")
    result = reindex([corpus], fresh_index, incremental=incremental)
    assert result.kept == 1 and result.deleted == 0
    assert [str(p) for p in result.skipped] == ["coeur.txt: binary file (contains NUL bytes), not a text article"]
    assert "coeur.txt" in search_ids(fresh_index, "greffe")
    assert result.documents == 7


def test_bad_input_is_reported_and_the_rest_indexed(tmp_path, corpus):
    (corpus / "vide.txt").write_text("", "utf-8")
    with open(corpus / "extra.jsonl", "a", encoding="utf-8") as f:
        f.write("{not json\n")
        f.write(json.dumps({"id": "hamlet", "title": "Doublon", "body": "x"}) + "\n")
    result = reindex([corpus], tmp_path / "ix")
    assert result.documents == 7
    assert sorted(str(p) for p in result.skipped) == [
        "extra.jsonl:3: invalid JSON: Expecting property name enclosed in double quotes at column 2",
        "extra.jsonl:4: duplicate id 'hamlet' (first seen in extra.jsonl:1); skipped",
        "vide.txt: empty file",
    ]


def test_nothing_valid_switches_nothing(fresh_index, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "bad.txt").write_text("", "utf-8")
    before = current_generation(fresh_index).number
    with pytest.raises(NothingToIndex, match="no valid document"):
        reindex([empty], fresh_index)
    assert current_generation(fresh_index).number == before
    assert sorted(p.name for p in fresh_index.glob("gen-*")) == [f"gen-{before:06d}"]


def test_a_writer_process_killed_fails_the_reindex_and_switches_nothing(fresh_index, corpus, monkeypatch, tmp_path):
    # Whoosh committed without the dead process's segment, and the reindex
    # published a generation missing its documents, with exit code 0.
    before = current_generation(fresh_index)
    kill_the_first_writer_process(monkeypatch, tmp_path)
    with pytest.raises(IndexWriteError, match=r"holds 0 documents instead of 7: a writer process died \(killed by signal 9\)"):
        reindex([corpus], fresh_index, procs=2)
    assert current_generation(fresh_index).number == before.number
    assert sorted(p.name for p in fresh_index.glob("gen-*")) == [before.path.name]
    assert reindex([corpus], fresh_index, procs=2).documents == 7  # the lock was released


def test_a_full_disk_while_writing_the_catalog_is_a_write_error(fresh_index, corpus, monkeypatch):
    # It was sqlite3.OperationalError: exit code 1 and a traceback.
    from searchsvc.index.catalog import Catalog

    original = Catalog.close

    def close(self):
        if not self._writable:
            return original(self)
        db = sqlite3.connect(":memory:")
        db.execute("PRAGMA max_page_count = 1")
        db.execute("CREATE TABLE t (x)")  # a real SQLITE_FULL: "database or disk is full"

    before = current_generation(fresh_index)
    monkeypatch.setattr(Catalog, "close", close)
    with pytest.raises(IndexWriteError, match="the disk is full; the previous generation is untouched"):
        reindex([corpus], fresh_index, incremental=True)
    assert current_generation(fresh_index).number == before.number
    assert sorted(p.name for p in fresh_index.glob("gen-*")) == [before.path.name]


def test_a_full_disk_in_a_writer_process_is_said_as_such(fresh_index, corpus, monkeypatch):
    """A writer process that meets ENOSPC sends it back: the reindex says
    the disk is full, not that a process failed."""
    from searchsvc.index import segment_builder

    def finish(self, folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))

    before = current_generation(fresh_index)
    monkeypatch.setattr(segment_builder.SegmentBuilder, "finish", finish)  # forked: in the workers too
    with pytest.raises(IndexWriteError, match="the disk is full"):
        reindex([corpus], fresh_index, procs=2)
    assert current_generation(fresh_index).number == before.number


def test_checking_the_written_count_reads_no_segment_into_memory(tmp_path, corpus, monkeypatch):
    """The count after writing comes from the table of contents: opening a
    Whoosh reader would copy every segment file into memory (at 1M documents
    the build's peak went from 0.8 to 12 GB in its last seconds)."""
    from searchsvc.index import writers

    path = tmp_path / "ix"
    reindex([corpus], path)
    generation = current_generation(path)
    monkeypatch.setattr(whoosh_index.FileIndex, "reader", lambda *a, **k: pytest.fail("a reader was opened"))
    writers.check_written(generation.path, 7, [])
    with pytest.raises(IndexWriteError, match="holds 7 documents instead of 8"):
        writers.check_written(generation.path, 8, [])
    # Every document there, but a writer process was killed after sending its segment.
    with pytest.raises(IndexWriteError, match=r"a writer process died \(killed by signal 9\) while"):
        writers.check_written(generation.path, 7, [-9])


def test_an_incremental_run_parses_only_the_json_lines_that_changed(tmp_path, monkeypatch):
    from searchsvc.index import jsonlines

    def line(i: int, body: str = "corps", date: str = "2024-01-02") -> str:
        return json.dumps({"id": f"n{i}", "title": f"Article {i}", "body": f"{body} {i}", "date": date}) + "\n"

    feed = tmp_path / "feed.jsonl"
    lines = [line(i) for i in range(6)]
    lines[5] = line(5, date="hier")  # loaded with a note: parsed (and noted) again each run
    feed.write_text("".join(lines), "utf-8")
    index = tmp_path / "index"
    reindex([feed], index)
    parsed = []
    real = jsonlines.parse_json_document
    monkeypatch.setattr(jsonlines, "parse_json_document", lambda raw, **kw: parsed.append(raw) or real(raw, **kw))
    lines[1] = line(1, body="baguette")
    del lines[2]
    lines.append(line(9, body="croissant"))
    feed.write_text("".join(lines), "utf-8")
    result = reindex([feed], index, incremental=True)
    assert (result.mode, result.added, result.updated, result.deleted, result.unchanged) == (
        "incremental", 1, 1, 1, 4,
    )  # fmt: skip
    assert sorted(json.loads(raw)["id"] for raw in parsed) == ["n1", "n5", "n9"]
    note = "'date' must be an ISO date (YYYY-MM-DD), got 'hier'; the document is loaded without a date"
    assert [str(p) for p in result.problems] == [f"feed.jsonl:5: {note}"]
    assert search_ids(index, "baguette") == {"n1"} and search_ids(index, "croissant") == {"n9"}
    assert search_ids(index, "article") == {"n0", "n1", "n3", "n4", "n5", "n9"}

    feed.write_text("".join(lines + [lines[0]]), "utf-8")  # the same line twice: a duplicate id, as before
    result = reindex([feed], index, incremental=True)
    assert [str(p) for p in result.problems] == [
        f"feed.jsonl:5: {note}",
        "feed.jsonl:7: duplicate id 'n0' (first seen in feed.jsonl:1); skipped",
    ]
    assert result.unchanged == result.documents == 6
