"""``/admin/stats``: absent without a token, refused without the right one, and
what readers typed always escaped."""

from __future__ import annotations

import base64

import pytest

from .builders import make_app

TOKEN = "jeton-d-essai-9f2c41d7"
SCRIPT = '<script>alert("lu")</script>'
ATTRIBUTE = '"><img src=x onerror=alert(1)>'


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def admin_app(shared_index, query_log):
    app = make_app(shared_index, query_log=query_log, ADMIN_TOKEN=TOKEN)
    client = app.test_client()
    for q in ("otan", "otan", "introuvablissime", SCRIPT, ATTRIBUTE):
        assert client.get("/api/search", query_string={"q": q}).status_code == 200
    app.extensions["searchsvc.querylog"].flush()
    return app


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_no_page(shared_index, query_log, token):
    app = make_app(shared_index, query_log=query_log, ADMIN_TOKEN=token)
    client = app.test_client()
    client.get("/api/search?q=otan")
    app.extensions["searchsvc.querylog"].flush()
    for headers in ({}, basic("admin", ""), {"Authorization": "Bearer "}, basic("admin", "None")):
        response = client.get("/admin/stats", headers=headers)
        assert response.status_code == 404
        assert response.get_data() == client.get("/admin/nothing-here").get_data()  # like any unknown page
        assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("admin", "wrong"),
        basic("admin", TOKEN + "x"),
        basic(TOKEN, ""),  # the token as the user name is not the password
        basic("admin", TOKEN[:-1]),
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer"},
        {"Authorization": TOKEN},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(TOKEN.encode()).decode()},  # no colon
        {"Authorization": "Digest " + TOKEN},
    ],
)
def test_wrong_or_missing_token_is_401_and_shows_nothing(admin_app, headers):
    response = admin_app.test_client().get("/admin/stats?days=30", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    for secret in ("otan", "introuvablissime", "alert", "img", "Recherches", "<table", TOKEN):
        assert secret not in body


@pytest.mark.parametrize("headers", [basic("admin", TOKEN), basic("", TOKEN), {"Authorization": f"Bearer {TOKEN}"}])
def test_the_token_opens_the_page(admin_app, headers):
    response = admin_app.test_client().get("/admin/stats", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    body = response.get_data(as_text=True)
    assert "Les plus cherchées" in body and "Sans résultat" in body and "Les plus lentes" in body
    assert '<td class="query">otan</td>' in body
    assert '<td class="query">introuvablissime</td>' in body


def test_reader_input_is_escaped(admin_app):
    body = admin_app.test_client().get("/admin/stats", headers=basic("admin", TOKEN)).get_data(as_text=True)
    assert SCRIPT not in body and ATTRIBUTE not in body
    assert "&lt;script&gt;alert(&#34;lu&#34;)&lt;/script&gt;" in body
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in body
    # The page's own markup: one external script (base.html's), no inline script or style.
    assert body.count("<script") == 1 and 'src="/static/search.js"' in body
    assert "style=" not in body and "<style" not in body


def test_days_selects_the_period(admin_app):
    client = admin_app.test_client()
    auth = basic("admin", TOKEN)
    assert 'value="7"' in client.get("/admin/stats?days=7", headers=auth).get_data(as_text=True)
    for bad in ("0", "-1", "abc", "99999", "٣"):
        response = client.get(f"/admin/stats?days={bad}", headers=auth)
        assert response.status_code == 400
        assert "days must be" in response.get_data(as_text=True)
    assert client.get("/admin/stats?days=abc").status_code == 401  # the token first, then the rest


def test_a_token_of_digits_from_the_environment(shared_index, query_log, monkeypatch):
    monkeypatch.setenv("SEARCHSVC_ADMIN_TOKEN", "123456789012")  # Flask would read it as a number
    app = make_app(shared_index, query_log=query_log)
    client = app.test_client()
    assert client.get("/admin/stats", headers=basic("a", "123456789012")).status_code == 200
    assert client.get("/admin/stats", headers=basic("a", "123456789012.0")).status_code == 401


def test_with_the_log_off_the_page_says_so(shared_index):
    app = make_app(shared_index, query_log="off", ADMIN_TOKEN=TOKEN)
    response = app.test_client().get("/admin/stats", headers=basic("admin", TOKEN))
    assert response.status_code == 503
    assert "the query log is off" in response.get_data(as_text=True)
