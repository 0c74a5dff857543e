"""The web search page: works without JavaScript, in French, accessible, escaped."""

from __future__ import annotations

import json
import re

import pytest

from searchsvc import create_app


def text(response) -> str:
    return response.get_data(as_text=True)


def test_home_shows_a_labelled_search_box(client):
    response = client.get("/")
    assert response.status_code == 200
    html = text(response)
    assert '<html lang="fr">' in html
    assert '<label for="q">' in html and '<input id="q" name="q" type="search"' in html
    assert 'role="search"' in html
    assert "Syntaxe de recherche" in html
    assert 'class="hits"' not in html


def test_results_page_keeps_the_query_and_shows_hits(client):
    html = text(client.get("/?q=etats-unis"))
    assert 'value="etats-unis"' in html
    assert re.search(r"1 résultat \(\d+ ms\)", html)
    assert "Les <mark>États</mark>-<mark>Unis</mark> et l'OTAN" in html
    assert '<time datetime="2024-11-22">2024-11-22</time>' in html
    assert '<span class="source">AA</span>' in html
    assert "<title>etats-unis – Recherche</title>" in html


def test_hit_with_url_is_a_link(client):
    assert '<a href="https://example.org/hamlet">Théâtre : <mark>Hamlet</mark></a>' in text(client.get("/?q=hamlet"))


def test_filters_are_shown_and_kept(client):
    html = text(client.get("/?q=coeur&source=AFP&sort=date&from=2020-01-01"))
    assert '<option value="AFP" selected>AFP</option>' in html
    assert '<option value="date" selected>' in html
    assert 'id="from" name="from" type="date" value="2020-01-01"' in html
    assert "1 résultat" in html  # porte has no date: outside the range


def test_pagination_links_keep_the_other_parameters(client):
    html = text(client.get("/?q=les&per_page=2&source="))
    assert "Page 1 sur 2" in html
    assert 'rel="next" href="/?q=les&amp;per_page=2&amp;source=&amp;page=2"' in html
    html = text(client.get("/?q=les&per_page=2&page=2"))
    assert 'rel="prev"' in html and 'rel="next"' not in html


def test_suggestion_is_a_link(client):
    html = text(client.get("/?q=presidentiele"))
    assert '<a href="/?q=pr%C3%A9sidentielle&amp;page=1">présidentielle</a>' in html


def test_no_results_gives_tips(client):
    html = text(client.get("/?q=zzzzzzzzz"))
    assert "Aucun article ne correspond" in html and "Vérifiez l’orthographe" in html


def test_bad_parameter_is_shown_on_the_page(client):
    response = client.get("/?q=x&page=abc")
    assert response.status_code == 400
    assert "page must be a whole number" in text(response)
    assert '<input id="q"' in text(response)


@pytest.mark.parametrize("q", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "</title><script>x</script>"])
def test_everything_echoed_is_escaped(client, q):
    html = text(client.get("/", query_string={"q": q}))
    assert "<script>alert" not in html and "<img src=x" not in html and "</title><script>" not in html
    assert "&lt;" in html


HOSTILE_DOCUMENT = {
    "id": "piege",
    "title": "Piège <script>alert('titre')</script> fromage",
    "body": (
        "Un fromage <img src=x onerror=alert('corps')> affiné, "
        "</p><script>alert('corps')</script> et <b onmouseover=alert(1)>comté</b>."
    ),
    "source": "<script>alert('source')</script>",
    "url": "javascript:alert('lien')",
}


@pytest.fixture
def hostile_client(tmp_path):
    from searchsvc.indexer import reindex

    corpus = tmp_path / "hostile"
    corpus.mkdir()
    (corpus / "docs.jsonl").write_text(json.dumps(HOSTILE_DOCUMENT) + "\n", "utf-8")
    result = reindex([corpus], tmp_path / "index")
    assert [str(p) for p in result.problems] == [
        "docs.jsonl:1: 'url' must be an http(s) address or a path, got \"javascript:alert('lien')\"; loaded without it"
    ]
    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "index")})
    return app.test_client()


@pytest.mark.parametrize("q", ["fromage", "fromag", "script alert", "img onerror", "comte", "fromaje"])
def test_documents_holding_html_never_reach_the_page_unescaped(hostile_client, q):
    """Titles, snippets, the source filter and the suggestion all come from
    the index: what a document holds is text, whatever it looks like."""
    html = text(hostile_client.get("/", query_string={"q": q}))
    assert "<script" not in html.replace('<script src="/static/', "")
    assert "<img" not in html and "<b " not in html and "javascript:" not in html
    api = hostile_client.get("/api/search", query_string={"q": q}).get_json()
    assert api["total"] == 1  # the hostile document is on the page
    for hit in api["hits"]:
        assert "<script" not in hit["title_html"] + hit["snippet"]
        assert hit["url"] is None


def test_security_headers(client):
    for path in ("/", "/?q=coeur", "/api/search?q=coeur", "/api/nope"):
        response = client.get(path)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_page_without_index_says_so(tmp_path):
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none")}).test_client()
    assert client.get("/").status_code == 200  # the box still shows
    response = client.get("/?q=coeur")
    assert response.status_code == 503
    assert "searchsvc reindex" in text(response)


def test_stylesheet_is_served(client):
    with client.get("/static/style.css") as response:
        assert response.status_code == 200 and "mark" in text(response)
