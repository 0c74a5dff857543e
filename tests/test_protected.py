"""Protected words: indexed folded but unstemmed, so « France » is not the
currency; the list is the index's, and changing the file asks for a reindex."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchsvc.index.generations import current_generation
from searchsvc.index.reindex import reindex
from searchsvc.search.searching import SearchRequest, search
from searchsvc.text.analysis import stem
from searchsvc.text.normalize import fold
from searchsvc.text.protected import default_words, load_protected_words, protected_in
from searchsvc.text.wordfiles import WatchedFile, default_path

from .builders import make_app, open_searcher, validate, write_jsonl

ARTICLES = [
    ("franc", "Le franc suisse s'apprécie", "Le franc suisse et les francs CFA gagnent du terrain."),
    ("france", "La France gagne", "L'équipe de France a remporté la finale."),
    ("francais", "Le vin", "Les vins français s'exportent bien."),
    ("gaz", "Le prix du gaz", "Le gaz naturel coûte plus cher cet hiver."),
    ("gaza", "Gaza", "Des convois humanitaires sont entrés à Gaza."),
    ("meteo", "La météo", "Du soleil au nord, des orages au sud."),
    ("rugby", "Rugby", "L'équipe a gagné grâce à un essai en fin de match."),
]


@pytest.fixture(scope="module")
def articles(tmp_path_factory) -> Path:
    """ARTICLES as one JSON-lines file (no test changes it)."""
    documents = [{"id": doc_id, "title": title, "body": body} for doc_id, title, body in ARTICLES]
    return write_jsonl(tmp_path_factory.mktemp("protected") / "news" / "articles.jsonl", documents)


def build(articles: Path, index_dir: Path, protected=()) -> Path:
    reindex([articles], index_dir, protected=protected)
    return index_dir


@pytest.fixture(scope="module")
def built_with(articles, tmp_path_factory):
    """``built_with(*words)``: ARTICLES' index with these protected words, built
    once per module for the tests that only search it."""
    built: dict[tuple[str, ...], Path] = {}

    def index_with(*protected: str) -> Path:
        if protected not in built:
            built[protected] = build(articles, tmp_path_factory.mktemp("protected-index"), protected=protected)
        return built[protected]

    return index_with


def found(index_dir: Path, q: str) -> set[str]:
    searcher = open_searcher(index_dir)
    return {hit.id for hit in search(searcher, SearchRequest(q=q, per_page=100), render=False).hits}


def test_the_file_format_and_its_problems(tmp_path):
    path = tmp_path / "protected.txt"
    path.write_text("# names\nFrance\n\nÉtats-Unis\ndeux mots\nles\nSète   # a comment\nl'Oréal\n", "utf-8")
    protected = load_protected_words(path)
    assert protected.words == {"france", "sete", "oreal"}  # as the index sees them: folded, no elision
    assert [(p.line, p.message.split(":")[0]) for p in protected.problems] == [
        (4, "«États-Unis»"), (5, "«deux mots»"), (6, "«les» is a stop word"),
    ]  # fmt: skip
    assert load_protected_words(tmp_path / "none.txt").words == frozenset()
    assert load_protected_words(None).problems == ()


def test_the_shipped_list_is_clean_and_each_word_needs_protecting():
    protected = load_protected_words(default_path("protected_words.txt"))
    assert protected.problems == ()
    assert {"france", "gaza", "mali", "seine"} <= protected.words
    # A word the stemmer leaves as it is (paris, lyon) would gain nothing from the list.
    assert all(stem(word) != word for word in protected.words)


def test_france_matches_the_currency_unless_protected(built_with):
    plain = built_with()
    assert {"france", "franc", "francais"} <= found(plain, "france")  # all stemmed to « franc »
    assert "gaz" in found(plain, "gaza")

    protected = built_with("France", "Gaza")
    assert found(protected, "france") == {"france"}
    assert found(protected, "gaza") == {"gaza"}
    assert "france" not in found(protected, "francs") and "franc" in found(protected, "francs")
    assert "francais" in found(protected, "française")  # other words stem as before


@pytest.mark.parametrize("typed", ["France", "FRANCE", "france", "Fránce", "title:France"])
def test_a_protected_word_is_folded_but_not_stemmed(built_with, typed):
    index_dir = built_with("france")
    assert found(index_dir, typed) == {"france"}


def test_a_protected_word_does_not_cover_its_plural(built_with):
    # « Frances » is another word: stemmed as usual, it is the currency's « franc ».
    index_dir = built_with("france")
    assert "france" not in found(index_dir, "Frances")


def test_the_index_and_its_manifest_record_the_words(built_with):
    index_dir = built_with("Gaza", "France")
    generation = current_generation(index_dir)
    assert generation.manifest["protected_words"] == ["france", "gaza"]
    assert protected_in(open_searcher(index_dir).schema) == {"france", "gaza"}


def test_reindex_uses_the_shipped_list_by_default(articles, tmp_path):
    reindex([articles], tmp_path / "ix")
    assert current_generation(tmp_path / "ix").manifest["protected_words"] == sorted(default_words())
    assert found(tmp_path / "ix", "france") == {"france"}


def test_an_incremental_reindex_rebuilds_when_the_words_changed(articles, tmp_path):
    index_dir = build(articles, tmp_path / "ix", protected=["france"])
    same = reindex([articles], index_dir, incremental=True, protected=["France"])
    assert same.mode == "incremental"
    changed = reindex([articles], index_dir, incremental=True, protected=["france", "gaza"])
    assert changed.mode == "full"
    assert changed.note == "the protected words changed (added: gaza): full rebuild"
    assert found(index_dir, "gaza") == {"gaza"}


@pytest.fixture
def words_file(tmp_path: Path) -> Path:
    path = tmp_path / "protected_words.txt"
    path.write_text("france\n", "utf-8")
    return path


@pytest.fixture
def protected_app(articles, tmp_path, words_file, monkeypatch):
    monkeypatch.setattr(WatchedFile, "CHECK_EVERY", 0.0)
    index_dir = build(articles, tmp_path / "index", protected=["france"])
    return make_app(index_dir, query_log=None, SOURCE_DIR=str(articles), PROTECTED_WORDS=str(words_file), SYNONYMS="")


def test_health_asks_for_a_reindex_after_the_list_changed(protected_app, words_file):
    client = protected_app.test_client()
    openapi = client.get("/api/openapi.json").get_json()
    assert client.get("/api/health").get_json()["status"] == "ok"

    words_file.write_text("france\ngaza\n", "utf-8")
    response = client.get("/api/health")
    assert response.status_code == 200  # still searchable, with the index's own list
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["problem"] == (
        "the protected words changed since generation 1 was built (added: gaza): run `searchsvc reindex`"
    )
    validate(openapi, "/api/health", 200, body)
    assert client.get("/api/search?q=france").status_code == 200

    result = protected_app.test_cli_runner().invoke(args=["reindex", "--quiet"])
    assert result.exit_code == 0, result.output
    body = client.get("/api/health").get_json()
    assert (body["status"], body["generation"]) == ("ok", 2)
    assert [h["id"] for h in client.get("/api/search?q=gaza").get_json()["hits"]] == ["gaza"]

    words_file.unlink()  # no file: no protected words, which the index has
    assert "removed: france, gaza" in client.get("/api/health").get_json()["problem"]


def test_cli_shows_the_words_the_problems_and_whether_to_reindex(protected_app, words_file):
    runner = protected_app.test_cli_runner()
    result = runner.invoke(args=["protected-words", "--check"])
    assert result.exit_code == 0, result.output
    assert "Generation 1 was built with this list." in result.output
    words_file.write_text("france\ndeux mots\n", "utf-8")
    result = runner.invoke(args=["protected-words", "--check"])
    assert result.exit_code == 1
    assert f"{words_file}:2: «deux mots»: one word a line" in result.output
    words_file.write_text("france\ngaza\n", "utf-8")
    result = runner.invoke(args=["protected-words", "--json"])
    data = json.loads(result.output)
    assert data["words"] == ["france", "gaza"]
    assert data["index"] == {"generation": 1, "words": ["france"], "reindex_needed": True}
    assert runner.invoke(args=["protected-words", "--check"]).exit_code == 1


def test_folding_is_the_analysers_own():
    assert fold("Sète") == "sete" and stem("sete") == "set"  # why Sète is on the shipped list
