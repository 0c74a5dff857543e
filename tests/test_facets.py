"""Facets with counts (source, year) and the repeatable ``source`` and ``year``
filters, checked against counts made by hand over a corpus of known documents."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from searchsvc.errors import QueryError
from searchsvc.index.reindex import reindex
from searchsvc.search import ranking as ranking_module
from searchsvc.search.limits import MAX_FILTER_VALUES
from searchsvc.search.searching import SearchRequest, search

from .builders import index_documents, make_app, make_client, open_searcher, validate

SOURCES = ["Orange Actu", "AFP", "AA", None]
DATES = ["2019-03-01", "2019-11-30", "2020-06-15", "2021-01-02", None]


def documents() -> list[dict]:
    """Every source × date, some about the budget, some about pensions, some both."""
    docs = []
    for i, (source, day) in enumerate(itertools.product(SOURCES, DATES)):
        for j, topic in enumerate(["le budget de l'État", "la réforme des retraites", "budget et retraites"]):
            if (i + j) % 4 == 3:
                continue  # not every combination, so counts differ
            doc = {"id": f"d{i}-{j}", "title": f"Article {i} {j}", "body": f"Un article sur {topic}."}
            if source:
                doc["source"] = source
            if day:
                doc["date"] = day
            docs.append(doc)
    return docs


DOCS = documents()


@pytest.fixture(scope="module")
def facet_index(tmp_path_factory) -> Path:
    return index_documents(tmp_path_factory.mktemp("facets"), DOCS)


@pytest.fixture(scope="module")
def searcher(facet_index):
    return open_searcher(facet_index)


@pytest.fixture(scope="module")
def client(facet_index):
    return make_client(facet_index, query_log="off")


def matching(word: str) -> list[dict]:
    return [d for d in DOCS if word in d["body"]]


def brute_force(docs: list[dict], sources=(), years=()) -> dict[str, dict[str, int]]:
    """The facets counted one document at a time, the disjunctive way."""

    def year_of(d):
        return d.get("date", "")[:4] or None

    def passes(d, skip):
        return (skip == "source" or not sources or d.get("source") in sources) and (
            skip == "year" or not years or year_of(d) in {str(y) for y in years}
        )

    return {
        "source": dict(Counter(d["source"] for d in docs if d.get("source") and passes(d, "source"))),
        "year": dict(Counter(year_of(d) for d in docs if year_of(d) and passes(d, "year"))),
    }


def counts(page_or_body) -> dict[str, dict[str, int]]:
    facets = page_or_body["facets"] if isinstance(page_or_body, dict) else page_or_body.facets
    return {name: {v["value"]: v["count"] for v in values if v["count"]} for name, values in facets.items()}


FILTERS = [
    ((), ()),
    (("AFP",), ()),
    (("AFP", "AA"), ()),
    ((), (2019,)),
    ((), (2019, 2021)),
    (("Orange Actu",), (2020,)),
    (("AA", "AFP"), (2019, 2020)),
    (("Nulle part",), ()),
]


@pytest.mark.parametrize("word", ["budget", "retraites"])
@pytest.mark.parametrize("sources, years", FILTERS)
def test_facet_counts_match_a_count_made_by_hand(searcher, word, sources, years):
    page = search(searcher, SearchRequest(q=word, sources=sources, years=years, per_page=1))
    assert counts(page) == brute_force(matching(word), sources, years)
    expected_total = sum(
        1 for d in matching(word)
        if (not sources or d.get("source") in sources) and (not years or d.get("date", "")[:4] in {str(y) for y in years})
    )  # fmt: skip
    assert page.total == expected_total


def test_each_facet_ignores_its_own_filter_and_applies_the_others(searcher):
    plain = counts(search(searcher, SearchRequest(q="budget")))
    by_source = counts(search(searcher, SearchRequest(q="budget", sources=("AFP",))))
    by_year = counts(search(searcher, SearchRequest(q="budget", years=(2019,))))
    assert by_source["source"] == plain["source"]  # every other source still offered, with its count
    assert by_year["year"] == plain["year"]
    assert by_source["year"] != plain["year"] and by_year["source"] != plain["source"]
    # A count says what adding that value would give: the total with it selected.
    for value, n in by_source["source"].items():
        assert search(searcher, SearchRequest(q="budget", sources=(value,))).total == n
    for value, n in by_source["year"].items():
        assert search(searcher, SearchRequest(q="budget", sources=("AFP",), years=(int(value),))).total == n


def test_facets_count_every_match_not_only_the_page(searcher):
    page = search(searcher, SearchRequest(q="budget", per_page=1))
    assert len(page.hits) == 1 and page.total > 10
    undated_or_sourceless = sum(1 for d in matching("budget") if "source" not in d)
    assert sum(v["count"] for v in page.facets["source"]) == page.total - undated_or_sourceless


def test_facet_order_and_selected_values(searcher):
    page = search(searcher, SearchRequest(q="budget retraites", sources=("AA", "Nulle part"), years=(1999,)))
    sources = page.facets["source"]
    assert [(v["count"], v["value"]) for v in sources] == sorted(
        ((v["count"], v["value"]) for v in sources), key=lambda cv: (-cv[0], cv[1])
    )
    assert {"value": "Nulle part", "count": 0, "selected": True} in sources  # can be seen, and removed
    assert [v["value"] for v in sources if v["selected"]] == ["AA", "Nulle part"]
    years = [v["value"] for v in page.facets["year"]]
    assert years == sorted(years, reverse=True) and years[-1] == "1999"
    assert page.total == 0


def test_a_search_that_matches_nothing_lists_only_what_is_selected(searcher):
    page = search(searcher, SearchRequest(q="zzzzzz", sources=("AFP",), years=(2020,)))
    assert page.facets == {
        "source": [{"value": "AFP", "count": 0, "selected": True}],
        "year": [{"value": "2020", "count": 0, "selected": True}],
    }
    assert search(searcher, SearchRequest(q="-budget")).facets == {"source": [], "year": []}


def test_at_most_the_top_sources_are_listed_and_the_selected_ones_always(searcher, monkeypatch):
    from searchsvc.search import searching as search_module

    monkeypatch.setattr(search_module, "MAX_FACET_SOURCES", 1)
    plain = search(searcher, SearchRequest(q="budget")).facets["source"]
    assert len(plain) == 1
    rare = [vn for vn in brute_force(matching("budget"))["source"].items() if vn[0] != plain[0]["value"]][-1]
    chosen = search(searcher, SearchRequest(q="budget", sources=(rare[0],))).facets["source"]
    assert chosen == [plain[0], {"value": rare[0], "count": rare[1], "selected": True}]


def test_years_combine_with_from_and_to(searcher):
    page = search(searcher, SearchRequest(q="budget", years=(2019, 2020), date_from=date(2019, 6, 1)))
    since = [d for d in matching("budget") if d.get("date", "") >= "2019-06-01"]
    assert page.total == len([d for d in since if d["date"] < "2021"])
    # the year facet applies from/to (2019 counts only from June), not the years
    assert counts(page)["year"] == dict(Counter(d["date"][:4] for d in since))
    # the year facet still applies from/to: 2021 is after them all, 2019 only from June
    narrowed = counts(search(searcher, SearchRequest(q="budget", date_to=date(2019, 12, 31))))
    assert set(narrowed["year"]) == {"2019"}


def test_deleted_documents_are_not_counted(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, source in enumerate(["AFP", "AFP", "AA"]):
        (corpus / f"a{i}.jsonl").write_text(json.dumps({"id": f"a{i}", "title": "Budget", "body": "Le budget.",
                                                        "source": source, "date": "2020-01-01"}) + "\n", "utf-8")  # fmt: skip
    reindex([corpus], tmp_path / "index")
    (corpus / "a0.jsonl").unlink()
    reindex([corpus], tmp_path / "index", incremental=True)
    searcher = open_searcher(tmp_path / "index")
    assert searcher.reader().has_deletions()  # the incremental run deleted it in place
    page = search(searcher, SearchRequest(q="budget"))
    assert counts(page) == {"source": {"AFP": 1, "AA": 1}, "year": {"2020": 2}}


def test_facet_counting_is_array_work(searcher, monkeypatch):
    """Counting reads the source and year columns once per generation, then
    counts with numpy: no stored fields, no per-document Python."""
    calls = []
    real = np.bincount
    monkeypatch.setattr(ranking_module.np, "bincount", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    page = search(searcher, SearchRequest(q="budget", per_page=1), render=False)
    assert calls == [] and page.facets == {"source": [], "year": []}  # evaluation: no facets
    monkeypatch.setattr(searcher, "stored_fields", lambda *a: pytest.fail("stored fields read"))
    ranking = ranking_module.rank_and_count(searcher, _parse(searcher, "budget"), 1)
    assert len(calls) == 2 and ranking.facets["source"] and ranking.facets["year"]


def _parse(searcher, q):
    from searchsvc.search.parsing import parse

    return parse(q, searcher.schema, searcher.reader())


# -- Requests and the API ---------------------------------------------------


def test_filters_are_normalised_so_the_same_filters_are_one_request():
    a = SearchRequest(q="budget", sources=("B", "A", "A", ""), years=(2020, 2019, 2020))
    b = SearchRequest(q="budget", sources=("A", "B"), years=(2019, 2020))
    assert a == b and hash(a) == hash(b) and (a.sources, a.years) == (("A", "B"), (2019, 2020))
    assert SearchRequest(q="x", sources="AFP").sources == ("AFP",)
    with pytest.raises(QueryError, match="year must be between 1 and 9999"):
        SearchRequest(q="x", years=(0,))
    with pytest.raises(QueryError, match="source may be given at most"):
        SearchRequest(q="x", sources=tuple(f"s{i}" for i in range(MAX_FILTER_VALUES + 1)))


def test_repeatable_filters_in_the_api(client):
    one = client.get("/api/search?q=budget&source=AFP").get_json()
    two = client.get("/api/search?q=budget&source=AFP&source=AA").get_json()
    aa = client.get("/api/search?q=budget&source=AA").get_json()
    assert two["total"] == one["total"] + aa["total"]
    assert {h["source"] for h in two["hits"]} == {"AFP", "AA"}
    years = client.get("/api/search?q=budget&year=2019&year=2021&per_page=100").get_json()
    assert {h["date"][:4] for h in years["hits"]} == {"2019", "2021"}
    both = client.get("/api/search?q=budget&year=2019&source=AFP&source=AA&per_page=100").get_json()
    assert {(h["source"], h["date"][:4]) for h in both["hits"]} <= {("AFP", "2019"), ("AA", "2019")}
    blank = client.get("/api/search?q=budget&source=&year=").get_json()  # a form's blank fields
    assert blank["total"] == client.get("/api/search?q=budget").get_json()["total"]


def test_facets_in_the_api_match_the_description(client):
    openapi = client.get("/api/openapi.json").get_json()
    body = client.get("/api/search?q=budget&source=AFP&year=2019&year=2020").get_json()
    validate(openapi, "/api/search", 200, body)
    assert counts(body) == brute_force(matching("budget"), ("AFP",), (2019, 2020))
    assert body["facets"]["year"][0] == {"value": "2021", "count": brute_force(matching("budget"), ("AFP",))["year"]["2021"], "selected": False}


@pytest.mark.parametrize(
    "query, words",
    [
        ("year=abc", "year must be a whole number"),
        ("year=0", "year must be between 1 and 9999"),
        ("year=10000", "year must be between 1 and 9999"),
        ("year=-2019", "year must be a whole number"),
        ("&".join(["source=x"] * (MAX_FILTER_VALUES + 1)), "source may be given at most"),
        ("&".join(["year=2019"] * (MAX_FILTER_VALUES + 1)), "year may be given at most"),
        ("source=" + "x" * 2001, "source is too long"),
    ],
)
def test_bad_filters_are_400_naming_them(client, query, words):
    response = client.get("/api/search?q=budget&" + query)
    assert response.status_code == 400 and words in response.get_json()["error"]["message"]


def test_the_cache_keys_on_the_filters(facet_index):
    app = make_app(facet_index, query_log="off")
    client, cache = app.test_client(), app.extensions["searchsvc.cache"]
    first = client.get("/api/search?q=budget&source=AFP&source=AA").get_json()
    again = client.get("/api/search?q=budget&source=AA&source=AFP").get_json()  # the same filters
    assert (cache.hits, cache.misses) == (1, 1) and again["total"] == first["total"]
    other = client.get("/api/search?q=budget&source=AFP").get_json()
    year = client.get("/api/search?q=budget&source=AFP&source=AA&year=2019").get_json()
    assert (cache.hits, cache.misses) == (1, 3)
    assert len({first["total"], other["total"], year["total"]}) == 3


def test_the_day_column_read_in_bulk_is_whooshs(tmp_path):
    """The ``day`` column is read from each segment's column file in one
    slice; it holds what Whoosh's reader gives value by value, undated
    articles (last ones included) too."""
    from searchsvc.search.postings import arrays_for, leaves

    docs = [{"id": f"d{i}", "title": f"Titre {i}", "body": "Un texte.", "date": "2020-06-15" if i % 3 else None}
            for i in range(40)] + [{"id": "last", "title": "Sans date", "body": "Un texte."}]  # fmt: skip
    reader = open_searcher(index_documents(tmp_path, docs)).reader()
    expected = np.concatenate(
        [np.fromiter(r.column_reader("day"), dtype=np.int64, count=r.doc_count_all()) for r, _ in leaves(reader)]
    )
    days = arrays_for(reader).day(reader)
    assert days.tolist() == expected.tolist()
    assert sorted(set(days.tolist())) == [0, 20200615]
