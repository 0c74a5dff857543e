"""The JSON endpoint's contract: keys, errors, and responses checked against /api/openapi.json."""

from __future__ import annotations

import itertools

import pytest
from whoosh import query as wq

from searchsvc.search.limits import (
    MAX_DEPTH,
    MAX_EXPANSIONS,
    MAX_QUERY_EXPANSIONS,
    MAX_QUERY_SCANS,
    MAX_SCANNED,
    MAX_TYPO_LOOKUPS,
)

from .builders import build_index, make_app, make_client, use_a_newer_schema, validate

HIT_KEYS = {"id", "title", "date", "source", "url", "score", "snippet", "other_versions", "title_html"}


@pytest.fixture
def openapi(client):
    return client.get("/api/openapi.json").get_json()


def test_search_returns_the_documented_keys(client):
    body = client.get("/api/search?q=coeur").get_json()
    assert set(body) == {"query", "total", "total_relation", "page", "per_page", "took_ms", "hits", "suggestion",
                         "facets", "facets_relation", "expanded", "notes"}  # fmt: skip
    assert body["notes"] == [] and body["facets_relation"] == "eq"
    assert body["query"] == "coeur" and body["total"] == 2 and body["total_relation"] == "eq" and body["page"] == 1 and body["per_page"] == 10
    assert body["took_ms"] >= 0 and body["suggestion"] is None
    assert {hit["id"] for hit in body["hits"]} == {"coeur.txt", "porte"}
    assert all(set(hit) == HIT_KEYS for hit in body["hits"])
    top = body["hits"][0]
    assert top["id"] == "coeur.txt"
    assert (top["title"], top["date"], top["source"], top["url"]) == (
        "Une greffe du cœur réussie", "2021-03-03", "AFP", None,
    )  # fmt: skip
    assert "<mark>cœur</mark>" in top["snippet"]


def test_parameters_page_filters_and_sort(client):
    body = client.get("/api/search?q=coeur&per_page=1&page=2&sort=date&source=AFP").get_json()
    assert (body["total"], body["page"], body["per_page"]) == (2, 2, 1)
    assert [h["id"] for h in body["hits"]] == ["porte"]  # undated: after the dated one
    dated = client.get("/api/search?q=coeur&source=AFP&from=2000-01-01&to=2030-12-31").get_json()
    assert [h["id"] for h in dated["hits"]] == ["coeur.txt"]
    hamlet = client.get("/api/search?q=hamlet").get_json()["hits"][0]
    assert hamlet["url"] == "https://example.org/hamlet" and hamlet["source"] == "Théâtre"


def test_suggestion_in_json(client):
    body = client.get("/api/search?q=presidentiele").get_json()
    assert body["suggestion"] == "présidentielle"


@pytest.mark.parametrize(
    "query, status, code, words",
    [
        ("", 400, "bad_request", "q is required"),
        ("?q=", 400, "bad_request", "q is required"),
        ("?q=%20%20", 400, "bad_request", "q is required"),
        ("?q=x&page=0", 400, "bad_request", "page"),
        ("?q=x&page=abc", 400, "bad_request", "page must be a whole number"),
        ("?q=x&page=-1", 400, "bad_request", "page must be a whole number"),
        ("?q=x&page=99999999", 400, "bad_request", "page must be a whole number"),
        ("?q=x&per_page=0", 400, "bad_request", "per_page"),
        ("?q=x&per_page=101", 400, "bad_request", "per_page"),
        ("?q=x&sort=random", 400, "bad_request", "sort"),
        ("?q=x&from=yesterday", 400, "bad_request", "from"),
        ("?q=x&to=2020-02-30", 400, "bad_request", "to"),
        ("?q=x&from=2021-01-02&to=2021-01-01", 400, "bad_request", "from must not be after to"),
        ("?q=" + "a" * 1001, 400, "bad_request", "q is too long"),
        ("?q=" + "a" * 100_000, 400, "bad_request", "q is too long"),
    ],
)
def test_bad_parameters_are_400_in_one_shape(client, openapi, query, status, code, words):
    response = client.get("/api/search" + query)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code and words in body["error"]["message"]
    validate(openapi, "/api/search", status, body)


def test_no_index_is_503_in_the_documented_shape(tmp_path, openapi):
    client = make_client(tmp_path / "none", query_log=None)
    response = client.get("/api/search?q=coeur")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "index_not_ready"
    validate(openapi, "/api/search", 503, response.get_json())


@pytest.mark.parametrize(
    "q",
    [
        "*", "a*", "*a", "?", "~", "((((((((((", ")))", '"', '"""', "\\", "title:", ":", "a:b:c", "OR", "AND NOT",
        "[a TO b]", "{a TO}", "x^", "x^abc", "%00", "\u202e\u200f", "😀😀", "<script>alert(1)</script>",
        "' OR 1=1 --", "\x00", "é" * 999, "mot " * 249, "%", "%%", "title:*", "exact:(", "date:[2020 TO]",
        "id:orangesum/1.txt", "source:AFP", "url:x", "-", "+", "- - -", "+-+", "NOT NOT", "~2", "a~9",
        'title:"premier ministre"', '"la nuit"~3', 'title:"x"',
    ],  # fmt: skip
)
def test_no_query_string_gives_a_server_error(client, openapi, q):
    response = client.get("/api/search", query_string={"q": q})
    assert response.status_code in (200, 400)
    validate(openapi, "/api/search", response.status_code, response.get_json())


def test_invalid_percent_encoding_is_not_a_server_error(client):
    response = client.get("/api/search?q=%E9t%C3%A9%ZZ%")
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("q", ["coeur", "etats-unis", "presidentiele", "\"la nuit\"", "zzzzzz"])
def test_responses_match_the_openapi_description(client, openapi, q):
    response = client.get("/api/search", query_string={"q": q, "per_page": 3})
    assert response.status_code == 200
    validate(openapi, "/api/search", 200, response.get_json())


def test_health_matches_the_openapi_description(client, openapi):
    validate(openapi, "/api/health", 200, client.get("/api/health").get_json())


def test_unavailable_health_matches_the_openapi_description(client, openapi, monkeypatch):
    from searchsvc.search import live

    use_a_newer_schema(monkeypatch, live)
    response = client.get("/api/health")
    assert response.status_code == 503
    validate(openapi, "/api/health", 503, response.get_json())


def test_openapi_document_is_a_valid_openapi_3_1_shape(openapi):
    assert openapi["openapi"].startswith("3.1")
    assert set(openapi["paths"]) == {"/api/search", "/api/suggest", "/api/health", "/api/openapi.json",
                                     "/api/documents", "/api/documents/{id}"}  # fmt: skip
    params = {p["name"]: p for p in openapi["paths"]["/api/search"]["get"]["parameters"]}
    assert set(params) == {"q", "page", "per_page", "sort", "source", "year", "from", "to", "collapse"}
    for name in ("source", "year"):  # repeatable: source=A&source=B
        assert (params[name]["style"], params[name]["explode"], params[name]["schema"]["type"]) == ("form", True, "array")
    assert {p["name"] for p in openapi["paths"]["/api/suggest"]["get"]["parameters"]} == {"q", "limit"}


# --------------------------------------------------------------------------
# Hostile queries: results or a 400, and every query's work bounded. The
# bounds are checked as work (terms read, expansions, look-ups, ranking
# depth), never as time.

HUNDRED_THOUSAND_CHARS = "mot " * 25_000
FIVE_THOUSAND_TERMS = " ".join(f"mot{i}" for i in range(5000))


@pytest.mark.parametrize("path", ["/api/search", "/"])
@pytest.mark.parametrize("q", [HUNDRED_THOUSAND_CHARS, FIVE_THOUSAND_TERMS], ids=["100,000 chars", "5,000 terms"])
def test_huge_queries_are_400_naming_q(client, path, q):
    response = client.get(path, query_string={"q": q})
    assert response.status_code == 400
    if path == "/":
        assert response.mimetype == "text/html" and "q is too long" in response.get_data(as_text=True)
    else:
        assert response.get_json()["error"]["message"].startswith("q is too long")


def test_the_length_limit_is_on_q_as_sent(client):
    # 1,000 characters pass; 1,001 do not, even when they are mostly spaces.
    assert client.get("/api/search", query_string={"q": "coeur" + " " * 995}).status_code == 200
    response = client.get("/api/search", query_string={"q": "coeur" + " " * 995 + "x"})
    assert response.status_code == 400 and "1001 characters" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "q",
    [
        "(" * 497 + "cœur" + ")" * 497,  # 497 levels, 998 characters
        "(" * 995 + "coeur",  # never closed
        "coeur" + ")" * 995,  # never opened
        "(greffe OR " * 80 + "coeur" + ")" * 80,
        '"(' * 330 + "coeur",
    ],
    ids=["balanced", "unclosed", "unopened", "nested ORs", "quotes and parentheses"],
)
def test_deeply_nested_parentheses_are_searched(client, openapi, q):
    assert len(q) <= 1000
    response = client.get("/api/search", query_string={"q": q})
    assert response.status_code == 200
    validate(openapi, "/api/search", 200, response.get_json())
    assert "coeur.txt" in {hit["id"] for hit in response.get_json()["hits"]}
    assert client.get("/", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/?q=%00", "/?q=%00coeur%00", "/?q=%E9t%C3%A9%ZZ%", "/?q=%", "/?q=%%%%", "/?q=%C3", "/?q=%ff%fe%fd",
        "/?q=%F0%9F%98%80", "/?q=%E2%80%AE%E2%80%8Fcoeur", "/?q=*", "/?q=a*", "/?q=%3Cscript%3E",
        "/api/search?q=%ff%fe%fd", "/api/search?q=%", "/api/search?q=%C3", "/api/search?q=coeur&page=%ZZ",
    ],
)  # fmt: skip
def test_hostile_bytes_on_the_page_and_the_api_are_not_server_errors(client, path):
    response = client.get(path)
    assert response.status_code in (200, 400)
    assert response.mimetype == ("text/html" if path.startswith("/?") else "application/json")


@pytest.mark.parametrize("q", ["-coeur", "les -coeur", "la NOT coeur", "-coeur -greffe", "-les", "le -cœur*"])
def test_excluded_words_never_bring_their_articles(client, q):
    # These once fell back to a search for the excluded words themselves.
    hits = {hit["id"] for hit in client.get("/api/search", query_string={"q": q}).get_json()["hits"]}
    assert not hits & {"coeur.txt", "porte"}


@pytest.mark.parametrize("q, found", [("mon*", {"coeur.txt", "porte"}), ("par*", {"election.txt"})])
def test_a_prefix_that_is_a_stop_word_still_expands(client, q, found):
    # "mon" and "par" are stop words, "mondiale", "monnaie" and "partis" are not.
    hits = {hit["id"] for hit in client.get("/api/search", query_string={"q": q}).get_json()["hits"]}
    assert found <= hits


def test_page_depth_bounds_the_ranking(client, monkeypatch):
    from searchsvc.search import searching as search_module

    depths = []
    real_rank = search_module.rank_and_count

    def rank_and_count(searcher, parsed, depth, *args, **kwargs):
        depths.append(depth)
        return real_rank(searcher, parsed, depth, *args, **kwargs)

    monkeypatch.setattr(search_module, "rank_and_count", rank_and_count)
    for page, per_page in [(100, 10), (10, 100), (1000, 1)]:
        response = client.get("/api/search", query_string={"q": "les", "page": page, "per_page": per_page})
        assert response.status_code == 200
    assert depths == [MAX_DEPTH] * 3
    for page, per_page in [(101, 10), (11, 100), (1001, 1)]:
        response = client.get("/api/search", query_string={"q": "les", "page": page, "per_page": per_page})
        assert response.status_code == 400 and "page is too deep" in response.get_json()["error"]["message"]
    assert len(depths) == 3  # refused before any ranking


#: Words starting with "a": more than a fuzzy word may read (MAX_SCANNED × 10).
LARGE_VOCABULARY = ["a" + "".join(letters) for letters in itertools.product("bcdfghjklmnp", repeat=4)]


@pytest.fixture(scope="module")
def large_vocabulary(tmp_path_factory):
    assert len(LARGE_VOCABULARY) > 10 * MAX_SCANNED
    root = tmp_path_factory.mktemp("vocabulary")
    corpus = root / "corpus"
    corpus.mkdir()
    for i in range(0, len(LARGE_VOCABULARY), 2000):
        words = " ".join(LARGE_VOCABULARY[i : i + 2000])
        (corpus / f"v{i:05d}.txt").write_text(f"Vocabulaire {i}\n{words}\n", "utf-8")
    # No result cache, no query log: every request is a search, and nothing reads the log.
    return make_app(build_index(corpus, root / "index"), query_log="off", QUERY_CACHE=0)


class CountingReader:
    """An index reader that counts the terms read from its vocabulary."""

    def __init__(self, reader) -> None:
        self.reader, self.scans, self.scanned = reader, 0, 0

    def __getattr__(self, name):
        return getattr(self.reader, name)

    def expand_prefix(self, fieldname, prefix):
        self.scans += 1
        for term in self.reader.expand_prefix(fieldname, prefix):
            self.scanned += 1
            yield term

    def iter_prefix(self, fieldname, prefix):
        self.scans += 1
        for term_info in self.reader.iter_prefix(fieldname, prefix):
            self.scanned += 1
            yield term_info

    def iter_field(self, fieldname, start=""):
        self.scans += 1
        for term_info in self.reader.iter_field(fieldname, start):
            self.scanned += 1
            yield term_info


def parse_counting(app, q, monkeypatch):
    from searchsvc.search import bounds, typos
    from searchsvc.search.cache import BoundedCache
    from searchsvc.search.parsing import parse

    monkeypatch.setattr(bounds, "_EXPANSIONS", BoundedCache(10))  # what a first reader of the generation pays

    with app.app_context():
        searcher = app.extensions["searchsvc.index"].searcher()
    reader = CountingReader(searcher.reader())

    def counted_terms_with_prefix(r, fieldname, prefix, limit):  # the packed term lists, read for typos
        terms = real_terms_with_prefix(searcher.reader(), fieldname, prefix, limit)
        reader.scans += 1
        reader.scanned += len(terms)
        return terms

    def counted_scan_terms(r, fieldname, start, limit):  # the packed term lists, read for expansions
        terms = real_scan_terms(searcher.reader(), fieldname, start, limit)
        reader.scans += 1
        reader.scanned += len(terms or ())
        return terms

    real_terms_with_prefix = typos.terms_with_prefix
    monkeypatch.setattr(typos, "terms_with_prefix", counted_terms_with_prefix)
    real_scan_terms = bounds.scan_terms
    monkeypatch.setattr(bounds, "scan_terms", counted_scan_terms)
    return parse(q, searcher.schema, reader), reader


@pytest.mark.parametrize(
    "q, most_read",
    [
        ("a*", MAX_SCANNED),
        ("a*p", MAX_SCANNED),  # a pattern that few words match: still no more read
        ("ab*c*", MAX_SCANNED),
        ("abcd~2", 10 * MAX_SCANNED),
        ("abcdq~", 10 * MAX_SCANNED),
    ],
)
def test_wildcard_and_fuzzy_words_read_a_bounded_part_of_a_large_vocabulary(
    large_vocabulary, q, most_read, monkeypatch
):
    parsed, reader = parse_counting(large_vocabulary, q, monkeypatch)
    assert reader.scans == 1 and 0 < reader.scanned <= most_read
    terms = list(parsed.query.leaves())
    if "~" in q:  # a fuzzy word keeps itself beside its expansions
        assert 0 < len(terms) <= MAX_EXPANSIONS + 1
    else:  # the most frequent expansions, as many as allowed ("a" being a stop word changes nothing)
        assert len(terms) == MAX_EXPANSIONS and all(t.text.startswith("a") for t in terms)
    assert large_vocabulary.test_client().get("/api/search", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize("q", ["[a TO z]", "{a TO b}", "[TO b]", "[abc TO]", "title:[a TO z]"])
def test_a_range_of_words_reads_a_bounded_part_of_a_large_vocabulary(large_vocabulary, q, monkeypatch):
    """Whoosh's own range query read every term of the range (13 s for
    ``[a TO z]`` on the 3,000 bundled articles): now as a prefix, the most
    frequent terms of the first MAX_SCANNED."""
    parsed, reader = parse_counting(large_vocabulary, q, monkeypatch)
    assert 1 <= reader.scans <= 2 and 0 < reader.scanned <= reader.scans * (MAX_SCANNED + 1)  # text, exact; {a: a skipped
    terms = list(parsed.query.leaves())
    assert 0 < len(terms) <= 2 * MAX_EXPANSIONS and all(type(t) is wq.Term for t in terms)
    low, high = q.strip("[]{}").split(":")[-1].replace("[", "").split("TO")
    assert all((not low.strip() or t.text >= low.strip()) and (not high.strip() or t.text <= high.strip())
               for t in terms)  # fmt: skip
    response = large_vocabulary.test_client().get("/api/search", query_string={"q": q})
    assert response.status_code == 200 and response.get_json()["total"] > 0


def test_an_exclusive_range_leaves_its_ends_out(large_vocabulary, monkeypatch):
    def exact_terms(q):
        parsed, _ = parse_counting(large_vocabulary, q, monkeypatch)
        return {t.text for t in parsed.query.leaves() if t.fieldname == "exact"}

    assert exact_terms("[abbbb TO abbbd]") == {"abbbb", "abbbc", "abbbd"}
    assert exact_terms("{abbbb TO abbbd}") == {"abbbc"}
    assert exact_terms("{abbbb TO abbbd]") == {"abbbc", "abbbd"}


def test_a_query_of_many_wildcards_expands_a_bounded_number_of_them(large_vocabulary, monkeypatch):
    q = " ".join(f"a{x}{y}*" for x, y in itertools.product("bcdfghjklmnp", repeat=2))  # 144 prefixes
    assert len(q) <= 1000
    parsed, reader = parse_counting(large_vocabulary, q, monkeypatch)
    # One budget for the whole query: MAX_QUERY_SCANS scans of the vocabulary, not one per prefix
    assert reader.scans == MAX_QUERY_SCANS and reader.scanned <= MAX_QUERY_SCANS * MAX_SCANNED
    # and MAX_QUERY_EXPANSIONS terms: the first prefixes are expanded, the later ones not at all.
    leaves = list(parsed.query.leaves())
    assert len(leaves) == MAX_QUERY_EXPANSIONS
    assert {t.text[:3] for t in leaves} == {f"a{x}{y}" for x, y in list(itertools.product("bcdfghjklmnp", repeat=2))[:4]}
    assert len(parsed.notes) == 3  # the words past MAX_WORDS, the scans and the expansions past the budget
    body = large_vocabulary.test_client().get("/api/search", query_string={"q": q}).get_json()
    assert body["notes"] == parsed.notes and body["total"] > 0
    page = large_vocabulary.test_client().get("/", query_string={"q": q}).get_data(as_text=True)
    assert "Requête trop vaste" in page


def test_expansions_read_a_bounded_number_of_postings(monkeypatch, tmp_path):
    """Prefixes of words found in every article: at most MAX_EXPANDED_POSTINGS
    times the articles' postings in all (here, with the floor lowered to 0)."""
    from searchsvc.search import bounds

    words = [f"mot{i:03d}" for i in range(100)]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(20):
        (corpus / f"a{i}.txt").write_text(f"Article {i}\n{' '.join(words)}\n", "utf-8")
    app = make_app(build_index(corpus, tmp_path / "index"), query_log="off", QUERY_CACHE=0)
    monkeypatch.setattr(bounds, "MIN_EXPANDED_POSTINGS", 0)
    parsed, _ = parse_counting(app, "mot0* mot1*", monkeypatch)
    leaves = list(parsed.query.leaves())
    assert len(leaves) == bounds.MAX_EXPANDED_POSTINGS  # each word is in all 20 articles: 2 x 20 postings
    assert parsed.notes


def test_a_few_prefixes_are_within_the_budget(large_vocabulary, monkeypatch):
    parsed, _ = parse_counting(large_vocabulary, "abb* abc*", monkeypatch)
    assert len(list(parsed.query.leaves())) == 2 * MAX_EXPANSIONS and parsed.notes == []
    assert "Requête trop vaste" not in large_vocabulary.test_client().get("/?q=abb*").get_data(as_text=True)


def test_typo_look_ups_are_bounded_per_query(large_vocabulary, monkeypatch):
    """Every unknown word costs a scan of the vocabulary for its nearest
    words (when searching, and again for the suggestion): at most
    MAX_TYPO_LOOKUPS per query, searching and suggestion together."""
    from searchsvc.search import typos

    calls = []
    real = typos.within_distance
    monkeypatch.setattr(typos, "within_distance", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    unknown = [w[:-1] + "q" for w in LARGE_VOCABULARY[::100]]  # 208 words the index lacks
    q = " ".join(unknown)[:1000]
    response = large_vocabulary.test_client().get("/api/search", query_string={"q": q})
    assert response.status_code == 200
    assert 0 < len(calls) <= MAX_TYPO_LOOKUPS


def test_a_prefix_already_expanded_in_this_generation_reads_no_vocabulary(large_vocabulary, monkeypatch):
    from searchsvc.search.parsing import parse

    _, first = parse_counting(large_vocabulary, "ab* zz", monkeypatch)
    with large_vocabulary.app_context():
        searcher = large_vocabulary.extensions["searchsvc.index"].searcher()
    again = CountingReader(searcher.reader())
    parsed = parse("ab* zz", searcher.schema, again)
    assert first.scanned > 0 and again.scans == 0
    assert len(list(parsed.query.leaves())) > 1
