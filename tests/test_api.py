"""The JSON endpoint's contract: keys, errors, and responses checked against /api/openapi.json."""

from __future__ import annotations

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from searchsvc import create_app
from searchsvc.indexer import reindex

HIT_KEYS = {"id", "title", "date", "source", "url", "score", "snippet", "title_html"}


@pytest.fixture
def openapi(client):
    return client.get("/api/openapi.json").get_json()


def validate(openapi: dict, path: str, status: int, body: dict) -> None:
    """Check ``body`` against the schema the description gives for ``path`` and ``status``."""
    assert str(status) in openapi["paths"][path]["get"]["responses"], (path, status)
    pointer = f"/paths/{path.replace('/', '~1')}/get/responses/{status}/content/application~1json/schema"
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(openapi, default_specification=DRAFT202012))
    jsonschema.Draft202012Validator({"$ref": f"urn:openapi#{pointer}"}, registry=registry).validate(body)


def test_search_returns_the_documented_keys(client):
    body = client.get("/api/search?q=coeur").get_json()
    assert set(body) == {"query", "total", "page", "per_page", "took_ms", "hits", "suggestion"}
    assert body["query"] == "coeur" and body["total"] == 2 and body["page"] == 1 and body["per_page"] == 10
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
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
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
    from searchsvc import generations

    from .conftest import use_a_newer_schema

    use_a_newer_schema(monkeypatch, generations)
    response = client.get("/api/health")
    assert response.status_code == 503
    validate(openapi, "/api/health", 503, response.get_json())


def test_openapi_document_is_a_valid_openapi_3_1_shape(openapi):
    assert openapi["openapi"].startswith("3.1")
    assert set(openapi["paths"]) == {"/api/search", "/api/health", "/api/openapi.json"}
    params = {p["name"] for p in openapi["paths"]["/api/search"]["get"]["parameters"]}
    assert params == {"q", "page", "per_page", "sort", "source", "from", "to"}


def test_new_generation_is_served_without_restart(client, corpus, index_dir):
    assert client.get("/api/search?q=baguette").get_json()["total"] == 0
    (corpus / "pain.txt").write_text("Le pain\nUne baguette bien cuite.\n", "utf-8")
    reindex([corpus], index_dir)
    body = client.get("/api/search?q=baguette").get_json()
    assert [h["id"] for h in body["hits"]] == ["pain.txt"]
    assert client.get("/api/health").get_json()["generation"] == 2
