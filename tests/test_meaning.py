"""Article vectors: what a text is about, and the closeness of query and article in the ranking."""

from __future__ import annotations

import json

import numpy as np
import pytest

from searchsvc.index import reindex as reindex_module
from searchsvc.index.applier import apply_pending
from searchsvc.index.documents import Document
from searchsvc.index.journal import Journal
from searchsvc.search import closeness
from searchsvc.search.live import LiveIndex
from searchsvc.search.searching import SearchRequest, search
from searchsvc.search.weighting import WEIGHTING
from searchsvc.text import meaning
from searchsvc.text.schema import build_schema

from .builders import index_documents, open_searcher


@pytest.mark.parametrize(
    "word, key",
    [
        ("paris", 15322182186497800017),
        ("a", 11901859001352538922),
        ("abcdefgh", 17751780907874141760),  # one whole block, no tail
        ("abcdefghi", 13885881106499164936),
        ("grève des transports", 12366595156725458082),  # multi-byte UTF-8
    ],
)
def test_words_are_hashed_as_spacy_keys_its_vectors(word, key):
    """Values from spaCy 3.8's ``spacy.strings.hash_string``."""
    assert meaning._murmur64(word.encode("utf-8")) == key


def small_model(folder):
    """A spaCy-like model folder of six strings and five vectors (row i: the i-th unit axis)."""
    import msgpack

    vocab = folder / "vocab"
    vocab.mkdir(parents=True)
    strings = {"grève": 0, "Grève": 1, "Marseille": 2, "pêche": 3, "péché": 4, "orphelin": None}
    (vocab / "strings.json").write_text(json.dumps(list(strings)), encoding="utf-8")
    rows = {meaning._murmur64(w.encode("utf-8")): r for w, r in strings.items() if r is not None}
    (vocab / "key2row").write_bytes(msgpack.packb(rows))
    with open(vocab / "vectors", "wb") as f:  # no .npy suffix, as spaCy writes it
        np.save(f, np.eye(5, meaning.DIMENSIONS, dtype=np.float32) * 3)
    return folder


def test_the_table_keys_folded_words_and_is_built_once_then_mapped(tmp_path, monkeypatch):
    model = small_model(tmp_path / "model")
    table = meaning.load_word_vectors(model, tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["keys.npy", "rows.npy", "vectors.npy"]
    grève, marseille, pêche, orphelin = table.rows_of(["greve", "marseille", "peche", "orphelin"]).tolist()
    assert grève == 0  # the lower-case form before the capitalised one
    assert marseille == 2  # known only capitalised
    assert orphelin == -1  # a string without a vector
    # « pêche » and « péché » fold to one word: the mean of their vectors, unit length.
    assert np.allclose(table.vectors[pêche][:5], [0, 0, 0, 2**-0.5, 2**-0.5])
    monkeypatch.setattr(meaning, "build_table", lambda folder: pytest.fail("built again"))
    mapped = meaning.load_word_vectors(model, tmp_path / "cache")
    assert isinstance(mapped.vectors, np.memmap) and mapped.rows_of(["peche", "greve"]).tolist() == [pêche, 0]


def test_the_table_stays_in_memory_where_its_cache_cannot_be_written_or_is_incomplete(tmp_path, caplog):
    model = small_model(tmp_path / "model")
    (tmp_path / "file").write_text("not a folder")
    assert meaning.load_word_vectors(model, tmp_path / "file" / "cache").rows_of(["greve"]).tolist() == [0]
    meaning.load_word_vectors(model, tmp_path / "cache")
    (tmp_path / "cache" / "rows.npy").unlink()  # left incomplete: still searchable, from memory
    assert meaning.load_word_vectors(model, tmp_path / "cache").rows_of(["greve"]).tolist() == [0]
    assert "cannot write" in caplog.text and "incomplete" in caplog.text


def vector(text: str) -> np.ndarray:
    found = meaning.query_vector(text)
    assert found is not None, text
    return found


def test_words_of_one_subject_are_closer_than_words_of_another():
    train = vector("train gare cheminots")
    assert float(train @ vector("métro voyageurs SNCF")) > float(train @ vector("farine sucre tarte")) + 0.2


def test_a_word_in_capitals_or_known_only_capitalised_finds_its_vector():
    assert float(vector("PARIS") @ vector("paris")) == pytest.approx(1.0)
    assert meaning.query_vector("Marseille") is not None


def test_words_typed_without_accents_find_the_vectors_of_their_accented_forms():
    """Readers type « greve » for « grève »: the closeness must not depend on it."""
    assert float(vector("greve des transports a noel") @ vector("Grève des transports à Noël")) == pytest.approx(1.0)
    # Several forms fold to one word (« pêche », « péché »…): it takes their mean.
    assert float(vector("peche") @ vector("pêche")) > 0.5


def test_stop_words_and_unknown_words_give_no_vector():
    assert meaning.query_vector("le la les de des") is None
    assert meaning.query_vector("zzqxw") is None
    assert meaning.document_vector("", "le la les") == bytes(meaning.DIMENSIONS)


def test_a_stored_vector_reads_back_as_the_unit_vector_it_was():
    stored = meaning.document_vector("Grève", "Les cheminots en grève : trains et métros à l'arrêt.")
    assert len(stored) == meaning.DIMENSIONS
    back = meaning.stored_vectors([stored, bytes(meaning.DIMENSIONS)])
    exact = vector("Grève\nLes cheminots en grève : trains et métros à l'arrêt.")
    assert float(back[0] @ exact) > 0.9999 and not back[1].any()


#: Two articles with the same words searched, as often, in bodies of the
#: same length: only what else they speak of tells them apart.
TWINS = [
    {"id": "cuisine", "title": "Grève", "date": "2024-03-01",
     "body": "Grève des transports. Recette : farine, sucre, beurre, pommes, four, pâte, tarte."},
    {"id": "cheminots", "title": "Grève", "date": "2024-03-01",
     "body": "Grève des transports. Cheminots : trains, métro, gares, SNCF, RATP, voyageurs, bus."},
]  # fmt: skip
FILLER = [
    {"id": f"autre-{i}", "title": f"Météo {i}", "date": "2024-02-01", "body": f"Pluie et vent sur la côte, épisode {i}."}
    for i in range(20)
]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    return open_searcher(index_documents(tmp_path_factory.mktemp("meaning"), TWINS + FILLER))


def ranked(searcher, q: str):
    return [(h.id, h.score) for h in search(searcher, SearchRequest(q=q)).hits]


def test_of_two_equal_matches_the_one_about_the_query_comes_first(twins, monkeypatch):
    monkeypatch.setattr(closeness, "WEIGHT", 0.0)
    lexical = ranked(twins, "grève transports")
    assert [i for i, _ in lexical] == ["cuisine", "cheminots"] and lexical[0][1] == lexical[1][1]
    monkeypatch.undo()
    blended = ranked(twins, "grève transports")
    assert [i for i, _ in blended] == ["cheminots", "cuisine"] and blended[0][1] > blended[1][1]


def test_a_one_word_query_is_left_to_the_lexical_score(twins):
    """One word: every candidate holds it, its score says enough."""
    hits = ranked(twins, "grève")
    assert [i for i, _ in hits] == ["cuisine", "cheminots"] and hits[0][1] == hits[1][1]


def test_the_query_vector_leaves_out_excluded_words_and_field_names(twins):
    from searchsvc.search.parsing import parse
    from searchsvc.search.scoring import VectorScorer

    scorer = VectorScorer(twins, WEIGHTING.k1, WEIGHTING.b)
    with_field = closeness.query_meaning(scorer, parse("title:grève transports -tarte", twins.schema, twins.reader()))
    assert float(with_field @ vector("grève transports")) == pytest.approx(1.0)
    assert closeness.query_meaning(scorer, parse("la grève", twins.schema, twins.reader())) is None


def test_an_index_built_without_vectors_is_served_lexically_and_takes_pushes(tmp_path, monkeypatch):
    """As an index built before 0.7.0: searchable, health degraded with the
    reason, pushes written without vectors; a reindex builds them."""
    monkeypatch.setattr(reindex_module, "build_schema", lambda protected=(): build_schema(protected, meaning=False))
    index_dir = index_documents(tmp_path, TWINS + FILLER)
    monkeypatch.undo()
    live = LiveIndex(index_dir, WEIGHTING)
    assert [h.id for h in search(live.searcher(), SearchRequest(q="grève transports")).hits] == ["cuisine", "cheminots"]
    assert live.problem is None and "no article vectors" in live.stale and "reindex" in live.stale
    Journal(index_dir).record([Document(id="nouveau", title="Grève", body="Grève des transports ce matin.")])
    assert apply_pending(index_dir).written == 1
    assert "nouveau" in {h.id for h in search(LiveIndex(index_dir, WEIGHTING).searcher(), SearchRequest(q="grève")).hits}
    result = reindex_module.reindex([tmp_path / "corpus"], index_dir, incremental=True)
    assert result.mode == "full" and "schema" in result.note
    rebuilt = LiveIndex(index_dir, WEIGHTING)
    found = [h.id for h in search(rebuilt.searcher(), SearchRequest(q="grève transports")).hits]
    assert found.index("cheminots") < found.index("cuisine") and "nouveau" in found  # the push kept
    assert rebuilt.stale is None


#: The same body, titles of as many words, none of them searched: only what
#: the title speaks of tells the two apart.
TITLED = [
    {"id": "recette", "title": "Tarte pommes", "date": "2024-03-01", "body": "Grève des transports ce matin."},
    {"id": "cheminots", "title": "Cheminots SNCF", "date": "2024-03-01", "body": "Grève des transports ce matin."},
]


def test_of_two_equal_matches_the_one_whose_title_is_about_the_query_comes_first(tmp_path, monkeypatch):
    searcher = open_searcher(index_documents(tmp_path, TITLED + FILLER))
    monkeypatch.setattr(closeness, "WEIGHT", 0.0)  # the title's vector alone
    monkeypatch.setattr(closeness, "TITLE_WEIGHT", 0.0)
    lexical = ranked(searcher, "grève transports trains")
    assert {i for i, _ in lexical} == {"recette", "cheminots"} and lexical[0][1] == lexical[1][1]
    monkeypatch.setattr(closeness, "TITLE_WEIGHT", 0.2)
    blended = ranked(searcher, "grève transports trains")
    assert [i for i, _ in blended] == ["cheminots", "recette"] and blended[0][1] > blended[1][1]


def test_an_index_built_without_title_vectors_is_served_with_its_article_vectors(tmp_path, monkeypatch):
    """As an index built by 0.7.0: searchable with the article vectors,
    health degraded with the reason; a reindex builds the title vectors."""
    monkeypatch.setattr(
        reindex_module, "build_schema", lambda protected=(): build_schema(protected, title_meaning=False)
    )
    index_dir = index_documents(tmp_path, TWINS + FILLER)
    monkeypatch.undo()
    live = LiveIndex(index_dir, WEIGHTING)
    assert "title_meaning" not in live.searcher().schema and "meaning" in live.searcher().schema
    assert [h.id for h in search(live.searcher(), SearchRequest(q="grève transports")).hits] == ["cheminots", "cuisine"]
    assert live.problem is None and "no title vectors" in live.stale and "no article vectors" not in live.stale
    Journal(index_dir).record([Document(id="nouveau", title="Grève", body="Grève des transports ce matin.")])
    assert apply_pending(index_dir).written == 1
    result = reindex_module.reindex([tmp_path / "corpus"], index_dir, incremental=True)
    assert result.mode == "full" and "schema" in result.note
    rebuilt = LiveIndex(index_dir, WEIGHTING)
    assert "title_meaning" in rebuilt.searcher().schema and rebuilt.stale is None
    assert "nouveau" in {h.id for h in search(rebuilt.searcher(), SearchRequest(q="grève")).hits}
