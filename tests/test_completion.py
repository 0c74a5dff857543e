"""Suggestions as you type (``GET /api/suggest``): words completed from the
index, spelt as the articles spell them, most frequent first; then titles."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from searchsvc.errors import QueryError
from searchsvc.index.reindex import reindex
from searchsvc.search import completion
from searchsvc.search.cache import BoundedCache
from searchsvc.search.completion import complete
from searchsvc.search.live import LiveIndex
from searchsvc.search.weighting import WEIGHTING

from .builders import index_documents, make_client, open_searcher, validate, write_jsonl

#: président in 4 articles, présidentielle in 3, présidence in 2, prévu in 1.
ARTICLES = [
    {"id": "a1", "title": "Présidentielle 2022 : les candidats", "body": "Le président sortant et la présidentielle."},
    {"id": "a2", "title": "L'élection présidentielle approche", "body": "Le président parle de l'élection présidentielle."},
    {"id": "a3", "title": "Le président en visite", "body": "Le président a visité l'usine. Une présidentielle anticipée ?"},
    {"id": "a4", "title": "Un président discret", "body": "Le président se tait. Le budget est prévu."},
    {"id": "a5", "title": "Cœur de ville", "body": "La présidence du cœur de ville et l'OTAN."},
    {"id": "a6", "title": "Au conseil", "body": "La présidence tournante de l'OTAN. Le conseil a voté."},
]  # fmt: skip


def write_articles(root: Path, articles: list[dict]) -> Path:
    """``articles`` as ``root/articles.jsonl``; returns ``root``, the corpus folder."""
    return write_jsonl(root / "articles.jsonl", articles).parent


# ARTICLES' index, built once: the tests below only read it.


@pytest.fixture(scope="module")
def suggest_index(tmp_path_factory) -> Path:
    return index_documents(tmp_path_factory.mktemp("suggest"), ARTICLES)


@pytest.fixture(scope="module")
def searcher(suggest_index):
    return open_searcher(suggest_index)


@pytest.fixture(scope="module")
def client(suggest_index):
    return make_client(suggest_index, query_log="off")


def words(searcher, q, limit=8):
    return [s.text for s in complete(searcher, q, limit).suggestions if s.kind == "word"]


def titles(searcher, q, limit=8):
    return [(s.id, s.text) for s in complete(searcher, q, limit).suggestions if s.kind == "title"]


def test_the_json_contract(client):
    body = client.get("/api/suggest?q=pre").get_json()
    assert body == {
        "query": "pre",
        "suggestions": [
            {"text": "président", "kind": "word"},
            {"text": "présidentielle", "kind": "word"},
            {"text": "présidence", "kind": "word"},
            {"text": "prévu", "kind": "word"},
            {"text": "Le président en visite", "kind": "title", "id": "a3"},  # ranked by relevance (BM25)
            {"text": "Un président discret", "kind": "title", "id": "a4"},
            {"text": "Présidentielle 2022 : les candidats", "kind": "title", "id": "a1"},
        ],
    }
    validate(client.get("/api/openapi.json").get_json(), "/api/suggest", 200, body)


def test_words_come_most_frequent_first_with_their_accents(searcher):
    assert words(searcher, "pre") == ["président", "présidentielle", "présidence", "prévu"]
    assert words(searcher, "presidenti") == ["présidentielle"]
    assert words(searcher, "coe") == ["cœur"]  # œ restored from the folded "coeur"
    assert words(searcher, "ot") == ["OTAN"]  # always written in capitals: kept so


def test_the_words_before_the_last_are_kept_as_typed(searcher):
    # (« présidentielle » first: found with « élection », see the next test)
    assert words(searcher, "election pre")[0] == "election présidentielle"
    assert words(searcher, "Élection  pré")[0] == "Élection présidentielle"  # spaces normalised
    assert words(searcher, "de l'ot") == ["de l'OTAN"]  # the elided article stays
    assert words(searcher, "Pre")[:2] == ["Président", "Présidentielle"]  # a capital typed is kept


@pytest.mark.parametrize("q", ["president ", "pre*", "l'", "pre-", "pre\t"])
def test_no_word_is_completed_once_it_is_finished(searcher, q):
    assert words(searcher, q) == []


def test_stop_words_and_single_letters_are_not_offered(searcher):
    assert words(searcher, "l") == []  # le, la, les, l: stop words
    assert "de" not in words(searcher, "d")


def test_titles_hold_every_word_typed_the_last_as_a_prefix(searcher):
    assert titles(searcher, "election pre") == [("a2", "L'élection présidentielle approche")]
    assert titles(searcher, "election presidentielle ") == [("a2", "L'élection présidentielle approche")]
    assert titles(searcher, "coe") == [("a5", "Cœur de ville")]
    assert len(titles(searcher, "pre")) == completion.MAX_TITLES
    assert titles(searcher, "zzz") == [] and titles(searcher, "les ") == []
    assert titles(searcher, "election zzz") == []  # the word being typed is part of "every word"


def test_limit(searcher, client):
    assert [s.kind for s in complete(searcher, "pre", 1).suggestions] == ["word"]
    assert [s.kind for s in complete(searcher, "pre", 3).suggestions] == ["word", "word", "title"]
    assert len(complete(searcher, "pre", 20).suggestions) == 7
    for limit in ("0", "21", "abc", "-1", "1.5"):
        response = client.get("/api/suggest", query_string={"q": "pre", "limit": limit})
        assert response.status_code == 400 and "limit" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/suggest", "/api/suggest?q=", "/api/suggest?q=%20%20", "/api/suggest?limit=3"])
def test_nothing_typed_is_no_suggestion(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.get_json()["suggestions"] == []


HOSTILE = [
    "*", "a*", "?", "~", "((((((((((", ")))", '"', "\\", "title:", ":", "OR", "AND NOT", "[a TO b]", "x^",
    "%00", "\u202e\u200f", "\u200b", "😀😀", "<script>alert(1)</script>", "' OR 1=1 --", "\x00", "pre\x00",
    "é" * 999, "mot " * 249, "a" * 1000, "-", "+", "~2", "a~9", "l'", "jusqu'", "qu'", "14,", "3.5", "pre\u0301",
    "\u0301", "क़" * 100, "日本語", "٣٤٥", "ß", "ǅ", "Ⅻ", "pre" + " " * 990,
]  # fmt: skip


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_input_is_answered_never_a_server_error(client, q):
    response = client.get("/api/suggest", query_string={"q": q})
    assert response.status_code == 200
    body = response.get_json()
    validate(client.get("/api/openapi.json").get_json(), "/api/suggest", 200, body)
    assert body["query"] == q and len(body["suggestions"]) <= 8


@pytest.mark.parametrize(
    "q, message",
    [
        ("a" * 1001, "q is too long: 1001 characters"),
        ("mot " * 25_000, "q is too long"),
        ("क़" * 1000, "q is too long"),  # 1,000 as sent, 2,000 once NFC decomposes it
    ],
)
def test_too_long_is_400_in_the_error_shape(client, q, message):
    response = client.get("/api/suggest", query_string={"q": q})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["code"] == "bad_request" and body["error"]["message"].startswith(message)
    validate(client.get("/api/openapi.json").get_json(), "/api/suggest", 400, body)


def test_no_index_is_503_in_the_error_shape(tmp_path):
    client = make_client(tmp_path / "none", query_log=None)
    response = client.get("/api/suggest?q=pre")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "index_not_ready"


def test_complete_raises_query_error_for_too_long_text(searcher):
    with pytest.raises(QueryError):
        complete(searcher, "a" * 1001)


def test_results_are_cached_per_generation(tmp_path):
    index_dir = tmp_path / "index"
    corpus = write_articles(tmp_path / "corpus", ARTICLES[:2])
    reindex([corpus], index_dir)
    live = LiveIndex(index_dir, WEIGHTING)
    hits = completion._RESULTS.hits
    first = complete(live.searcher(), "pre")
    assert complete(live.searcher(), "pre") == first and completion._RESULTS.hits == hits + 1
    assert complete(live.searcher(), "pre", 3) != first  # the limit is part of the key
    write_articles(corpus, ARTICLES[:2] + [{"id": "n", "title": "Prévisions", "body": "Des prévisions."}])
    reindex([corpus], index_dir)
    assert "prévisions" in words(live.searcher(), "pre")  # a new generation is never answered from the old


# -- Bounded work ---------------------------------------------------------------

#: More words starting with "a" than a prefix may read.
VOCABULARY = ["a" + "".join(letters) for letters in itertools.product("bcdfghjklmnpr", repeat=3)]


@pytest.fixture(scope="module")
def large_vocabulary(tmp_path_factory):
    assert len(VOCABULARY) > 2000  # more than a bounded scan would read
    root = tmp_path_factory.mktemp("vocabulary")
    articles = [
        {"id": f"v{i}", "title": f"Vocabulaire {i}", "body": " ".join(VOCABULARY[i : i + 300])}
        for i in range(0, len(VOCABULARY), 300)
    ]
    articles.append({"id": "often", "title": "Souvent", "body": "azur " * 3})
    articles.append({"id": "often2", "title": "Souvent encore", "body": "azur"})
    return open_searcher(index_documents(root, articles))


def counting_prefix_reads(searcher, monkeypatch):
    reader = searcher.reader()
    scans = []
    real_iter_prefix = reader.iter_prefix

    def iter_prefix(fieldname, prefix):
        scans.append(prefix)
        yield from real_iter_prefix(fieldname, prefix)

    monkeypatch.setattr(reader, "iter_prefix", iter_prefix)
    monkeypatch.setattr(reader, "expand_prefix", lambda *a: pytest.fail("another scan of the vocabulary"))
    monkeypatch.setattr(completion, "_RESULTS", BoundedCache(10))
    monkeypatch.setattr(completion, "_PREFIXES", BoundedCache(10))
    monkeypatch.setattr(completion, "_TABLES", BoundedCache(10))
    return scans


@pytest.mark.parametrize("q", ["a", "ab", "x a", "a b c d e f g h i j k l m n o p q r s t u v w x y z a"])
def test_a_short_prefix_comes_from_the_generation_table(large_vocabulary, monkeypatch, q):
    """One or two letters, the prefixes with the most words: the reindex wrote
    their most frequent words, no keystroke reads the vocabulary."""
    scans = counting_prefix_reads(large_vocabulary, monkeypatch)
    suggestions = complete(large_vocabulary, q, 20).suggestions
    assert scans == [] and len(suggestions) >= 1
    assert (Path(large_vocabulary._ix.storage.folder) / "prefixes.json").is_file()


@pytest.mark.parametrize("q", ["abc", "x abd", "a b c d e f g h i j k l m n o p q r s t u v w x y z abf"])
def test_a_prefix_is_read_once_per_generation(large_vocabulary, monkeypatch, q):
    """However many words a longer prefix holds, a request reads at most
    those of one prefix, and the next keystrokes on it read none."""
    reader = large_vocabulary.reader()
    read, scans = [], []
    real_iter_prefix = reader.iter_prefix

    def iter_prefix(fieldname, prefix):
        scans.append(prefix)
        for item in real_iter_prefix(fieldname, prefix):
            read.append(item)
            yield item

    monkeypatch.setattr(reader, "iter_prefix", iter_prefix)
    monkeypatch.setattr(reader, "expand_prefix", lambda *a: pytest.fail("another scan of the vocabulary"))
    monkeypatch.setattr(completion, "_RESULTS", BoundedCache(10))
    monkeypatch.setattr(completion, "_PREFIXES", BoundedCache(10))
    last = q.split()[-1]
    suggestions = complete(large_vocabulary, q, 20).suggestions
    assert scans == [last] and len(read) == sum(1 for _ in real_iter_prefix("exact", last))
    assert len(suggestions) >= 1 and all(s.text for s in suggestions)
    complete(large_vocabulary, q + " ", 20)  # another request, the same prefix…
    complete(large_vocabulary, q, 5)
    assert scans == [last]  # …read no word again


def test_the_most_frequent_word_comes_first_even_far_down_the_alphabet(large_vocabulary):
    """``a`` holds more words than a bounded scan would read: ``azur``, the
    most frequent, comes after all of them alphabetically."""
    assert len(VOCABULARY) > 2000
    assert words(large_vocabulary, "a")[0] == "azur"
    assert words(large_vocabulary, "az")[0] == "azur"


def test_words_typed_before_rank_the_completions(tmp_path):
    """``coupe du m``: « monde » (with coupe) before « ministre », more frequent overall."""
    articles = [{"id": f"m{i}", "title": f"Gouvernement {i}", "body": "Le ministre parle."} for i in range(5)]
    articles += [{"id": f"c{i}", "title": f"Football {i}", "body": "La coupe du monde."} for i in range(2)]
    searcher = open_searcher(index_documents(tmp_path, articles))
    assert words(searcher, "m")[:2] == ["ministre", "monde"]
    assert words(searcher, "coupe du m")[:2] == ["coupe du monde", "coupe du ministre"]


def test_an_incremental_reindex_keeps_the_table_a_full_one_rewrites_it(tmp_path):
    from searchsvc.index.generations import current_generation

    corpus = write_articles(tmp_path / "corpus", ARTICLES)
    reindex([corpus], tmp_path / "index")
    first = current_generation(tmp_path / "index").path / "prefixes.json"
    write_articles(corpus, ARTICLES + [{"id": "z", "title": "Zygomatique", "body": "Zygomatique zygomatique."}])
    reindex([corpus], tmp_path / "index", incremental=True)
    kept = current_generation(tmp_path / "index").path / "prefixes.json"
    assert kept.read_bytes() == first.read_bytes() and kept.stat().st_ino == first.stat().st_ino
    searcher = open_searcher(tmp_path / "index")
    assert "zygomatique" in words(searcher, "zyg")  # from its third letter, read from the index
    reindex([corpus], tmp_path / "index")
    searcher = open_searcher(tmp_path / "index")
    assert "zygomatique" in words(searcher, "zy")
