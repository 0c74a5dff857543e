"""The on-disk catalog: duplicate check while loading, fingerprints for incremental runs."""

from __future__ import annotations

import sqlite3

import pytest

from searchsvc.index import catalog as catalog_module
from searchsvc.index.catalog import Catalog, CatalogError
from searchsvc.index.documents import Document, Unchanged


def doc(doc_id: str, body: str = "corps") -> Document:
    return Document(id=doc_id, title="Titre", body=body)


@pytest.fixture(params=[1, 5_000], ids=["flushed", "buffered"])
def batch(request, monkeypatch):
    """Every row written at once (1) or still in the buffer (5,000)."""
    monkeypatch.setattr(catalog_module, "_BATCH", request.param)
    return request.param


def test_claim_records_once_and_names_the_first_place(tmp_path, batch):
    with_line = Catalog.create(tmp_path)
    assert with_line.claim(doc("a"), "feed.jsonl", 3) is None
    assert with_line.claim(doc("b.txt"), "b.txt", None) is None
    assert with_line.claim(doc("a", "autre"), "other.jsonl", 9) == "feed.jsonl:3"
    assert with_line.claim(doc("b.txt"), "b.txt", None) == "b.txt"
    assert len(with_line) == 2
    assert with_line.get("a") == (doc("a").fingerprint, "feed.jsonl")
    with_line.close()


def test_a_sealed_catalog_reads_back_and_lists_what_vanished(tmp_path, batch):
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = Catalog.create(tmp_path / "old")
    for i in range(7):
        old.claim(doc(f"d{i}.txt", f"texte {i}"), f"d{i}.txt", None)
    old.claim(doc("j1", "json"), "feed.jsonl", 1)
    old.close()

    old = Catalog.open(tmp_path / "old")
    assert len(old) == 8
    assert old.get("d3.txt") == (doc("d3.txt", "texte 3").fingerprint, "d3.txt")
    assert old.get("j1") == (doc("j1", "json").fingerprint, "feed.jsonl")
    assert old.get("missing") is None
    new = Catalog.create(tmp_path / "new")
    for i in (0, 2, 4):
        new.claim(doc(f"d{i}.txt"), f"d{i}.txt", None)
    assert list(old.ids_missing_from(new)) == ["d1.txt", "d3.txt", "d5.txt", "d6.txt", "j1"]
    new.put("d1.txt", *old.get("d1.txt"))
    assert list(old.ids_missing_from(new)) == ["d3.txt", "d5.txt", "d6.txt", "j1"]
    new.close()
    old.close()


def test_a_missing_or_damaged_catalog_is_an_error_not_an_empty_one(tmp_path):
    with pytest.raises(CatalogError, match="missing"):
        Catalog.open(tmp_path)
    (tmp_path / catalog_module.FILENAME).write_bytes(b"not a database at all" * 100)
    with pytest.raises(CatalogError, match="cannot be read"):
        Catalog.open(tmp_path)


def test_a_line_parsed_before_is_known_by_its_digest(tmp_path, batch):
    (tmp_path / "old").mkdir()
    old = Catalog.create(tmp_path / "old")
    old.claim(doc("a"), "feed.jsonl", 1, b"digest-a")
    old.claim(doc("b"), "feed.jsonl", 2, None)  # a line that needed a note: parsed again next time
    old.close()
    old = Catalog.open(tmp_path / "old")
    assert old.unchanged(b"digest-a") == Unchanged("a", doc("a").fingerprint)
    assert old.unchanged(b"digest-b") is None
    old.close()


def test_a_catalog_of_0_4_knows_no_line(tmp_path):
    """Catalogs written before the digests: every line is parsed, as before."""
    db = sqlite3.connect(tmp_path / catalog_module.FILENAME)
    db.executescript(
        "CREATE TABLE origins (number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
        "CREATE TABLE documents (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, origin INTEGER, line INTEGER) WITHOUT ROWID;"
        "INSERT INTO documents VALUES ('a', 'f', NULL, NULL);"
    )
    db.commit()
    db.close()
    old = Catalog.open(tmp_path)
    assert old.get("a") == ("f", "a") and old.unchanged(b"anything") is None
    old.close()


def test_what_vanished_is_listed_while_the_new_catalog_is_written(tmp_path, batch):
    """The kept documents are recorded while the vanished ones are listed."""
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = Catalog.create(tmp_path / "old")
    for i in range(5_000):
        old.claim(doc(f"d{i:05}"), "feed.jsonl", i + 1)
    old.close()
    old = Catalog.open(tmp_path / "old")
    new = Catalog.create(tmp_path / "new")
    for i in range(0, 5_000, 3):
        new.claim(doc(f"d{i:05}"), "feed.jsonl", i + 1)
    vanished = []
    for doc_id in old.ids_missing_from(new):
        vanished.append(doc_id)
        new.put(doc_id, *old.get(doc_id))  # as the reindex keeps those of a damaged file
    assert vanished == [f"d{i:05}" for i in range(5_000) if i % 3]
    assert len(new) == 5_000
    new.close()
    old.close()
