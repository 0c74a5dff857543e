"""The HTTP side: health, and one JSON error shape on every error path."""

from __future__ import annotations

import pytest

from searchsvc.index.reindex import reindex
from searchsvc.text.analysis import ANALYSIS_VERSION

from .builders import make_app, make_client, use_a_newer_schema


def test_health_reports_documents_and_generation(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body.pop("synonyms")["problems"] == []  # tests/test_synonyms.py checks the rest
    assert body == {"status": "ok", "documents": 7, "generation": 1, "analysis": ANALYSIS_VERSION}


def test_no_index_is_503_in_the_error_shape(tmp_path):
    client = make_client(tmp_path / "none", query_log=None)
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.get_json() == {
        "error": {"code": "index_not_ready", "message": response.get_json()["error"]["message"]}
    }
    assert "searchsvc reindex" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "path, status",
    [("/api/nope", 404), ("/api/health?x", 200), ("/api/suggest?limit=0", 400), ("/api/search?q=x&year=x", 400)],
)
def test_api_errors_share_one_shape(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    if status >= 400:
        assert set(response.get_json()) == {"error"}
        assert set(response.get_json()["error"]) == {"code", "message"}


def test_wrong_method_is_405_in_the_error_shape(client):
    response = client.post("/api/health")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_an_index_from_an_older_schema_is_503_not_500(client, monkeypatch):
    from searchsvc.search import live

    use_a_newer_schema(monkeypatch, live)
    response = client.get("/api/search?q=coeur")
    assert response.status_code == 503
    assert "another schema" in response.get_json()["error"]["message"]
    assert client.get("/?q=coeur").status_code == 503
    health = client.get("/api/health")  # a load balancer must stop sending searches here
    assert health.status_code == 503
    assert health.get_json()["status"] == "unavailable" and "another schema" in health.get_json()["problem"]


def test_repeated_searches_come_from_the_cache_until_the_next_generation(fresh_app, corpus, fresh_index):
    client, cache = fresh_app.test_client(), fresh_app.extensions["searchsvc.cache"]
    first = client.get("/api/search?q=baguette").get_json()
    assert first["total"] == 0 and (cache.hits, cache.misses) == (0, 1)
    again = client.get("/api/search?q=baguette").get_json()
    assert (cache.hits, cache.misses) == (1, 1)
    assert {k: v for k, v in again.items() if k != "took_ms"} == {k: v for k, v in first.items() if k != "took_ms"}
    assert "<mark>" not in client.get("/?q=baguette").get_data(as_text=True)  # the page shares the cache
    assert cache.hits == 2
    (corpus / "nouveau.txt").write_text("Un nouvel article\nSur la baguette.\n", "utf-8")
    reindex([corpus], fresh_index, incremental=True)
    after = client.get("/api/search?q=baguette").get_json()
    assert after["total"] == 1 and cache.misses == 2  # a new generation is never answered from the old one's pages


def test_the_cache_can_be_turned_off(shared_index, query_log):
    app = make_app(shared_index, query_log=query_log, QUERY_CACHE=0)
    client = app.test_client()
    for _ in range(2):
        assert client.get("/api/search?q=coeur").status_code == 200
    assert (app.extensions["searchsvc.cache"].hits, app.extensions["searchsvc.cache"].misses) == (0, 0)
