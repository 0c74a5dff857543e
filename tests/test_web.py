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


# -- the open web: crawlers, favicon, bodies, wrong tokens, the query log's permissions


def test_the_home_page_may_be_indexed_result_pages_may_not(client):
    home = client.get("/")
    html = home.get_data(as_text=True)
    assert '<meta name="description" content="' in html
    assert "noindex" not in html and "X-Robots-Tag" not in home.headers
    results = client.get("/?q=coeur")
    assert '<meta name="robots" content="noindex, follow">' in results.get_data(as_text=True)
    assert results.headers["X-Robots-Tag"] == "noindex, follow"


def test_the_favicon_is_served_at_the_root(client):
    with client.get("/favicon.ico") as response:  # a file: closed after
        assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)


def test_a_body_over_10_mb_is_a_413_on_any_address(client):
    for path in ("/api/search?q=x", "/", "/api/health"):
        response = client.get(path, environ_overrides={"CONTENT_LENGTH": str(11 * 1024 * 1024)})
        assert response.status_code == 413, path


def test_wrong_tokens_are_limited_per_reader(shared_index, query_log):
    from .builders import make_app

    client = make_app(shared_index, query_log=query_log, ADMIN_TOKEN="right").test_client()
    wrong = {"Authorization": "Bearer wrong"}
    statuses = [client.get("/admin/stats", headers=wrong).status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    limited = client.get("/admin/stats", headers={"Authorization": "Bearer right"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # Another reader behind the local proxy is not held back.
    other = client.get("/admin/stats", headers={"Authorization": "Bearer right", "X-Real-IP": "198.51.100.9"})
    assert other.status_code == 200
    # A missing token (a browser's first visit) is not counted as a wrong one.
    fresh = make_app(shared_index, query_log=query_log, ADMIN_TOKEN="right").test_client()
    assert all(fresh.get("/admin/stats").status_code == 401 for _ in range(15))


def test_the_query_log_is_readable_by_its_owner_only(tmp_path, shared_index):
    from searchsvc.ops.querylog import QueryLog

    path = tmp_path / "log" / "querylog.sqlite"
    log = QueryLog(path, 1000)
    log.record("coeur", 3, 1.0, 1)
    log.flush()
    assert path.stat().st_mode & 0o777 == 0o600
    for extra in (path.with_name("querylog.sqlite-wal"), path.with_name("querylog.sqlite-shm")):
        if extra.exists():
            assert extra.stat().st_mode & 0o077 == 0
    older = tmp_path / "older.sqlite"
    older.touch(mode=0o644)
    QueryLog(older, 1000).record("x", 0, 1.0, 1)
    QueryLog(older, 1000).flush()
    log2 = QueryLog(older, 1000)
    log2.record("y", 0, 1.0, 1)
    log2.flush()
    assert older.stat().st_mode & 0o777 == 0o600


def test_searchers_stay_per_os_thread_under_gevent():
    """gunicorn's gevent worker patches threading: the searchers and scratch
    arrays must not become per connection (tested in a process of its own)."""
    import subprocess
    import sys

    code = (
        "from gevent import monkey; monkey.patch_all()\n"
        "import threading\n"
        "from searchsvc.search.threadlocal import os_thread_local\n"
        "local = os_thread_local()\n"
        "assert type(local) is not threading.local, 'patched local returned'\n"
        "import gevent\n"
        "local.x = 1\n"
        "seen = []\n"
        "gevent.joinall([gevent.spawn(lambda: seen.append(getattr(local, 'x', None))) for _ in range(3)])\n"
        "assert seen == [1, 1, 1], seen\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
