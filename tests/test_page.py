"""The web search page: works without JavaScript, in French, accessible, escaped."""

from __future__ import annotations

import re
from html import unescape
from types import SimpleNamespace

import pytest

from .builders import make_client, write_jsonl


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
    assert '<input type="hidden" name="source" value="AFP">' in html  # a new query keeps it
    assert '<input type="hidden" name="sort" value="date">' in html
    assert '<span aria-current="true">date</span>' in html
    assert 'id="from" name="from" type="date" value="2020-01-01"' in html
    assert "1 résultat" in html  # porte has no date: outside the range
    assert chips(html) == {
        "Source : AFP": "/?q=coeur&from=2020-01-01&sort=date",
        "Depuis le 2020-01-01": "/?q=coeur&source=AFP&sort=date",
    }


def test_pagination_links_keep_the_other_parameters(client):
    html = text(client.get("/?q=les&per_page=2&source="))
    assert "Page 1 sur 2" in html
    assert 'rel="next" href="/?q=les&amp;per_page=2&amp;page=2"' in html  # blanks left out
    html = text(client.get("/?q=les&per_page=2&page=2"))
    assert 'rel="prev" href="/?q=les&amp;per_page=2"' in html and 'rel="next"' not in html
    assert '<span aria-current="page">2</span>' in html


def test_links_keep_every_value_of_a_repeated_filter(client):
    html = text(client.get("/?q=les&per_page=1&source=AFP&source=AA&year=2023&year=2024"))
    assert 'rel="next" href="/?q=les&amp;source=AFP&amp;source=AA&amp;year=2023&amp;year=2024&amp;per_page=1&amp;page=2"' in html
    assert 'href="/?q=les&amp;source=AFP&amp;source=AA&amp;year=2023&amp;year=2024&amp;per_page=1&amp;sort=date">date</a>' in html
    for value in ("AFP", "AA"):
        assert f'<input type="hidden" name="source" value="{value}">' in html
    assert chips(html)["Année : 2023"] == "/?q=les&source=AFP&source=AA&year=2024&per_page=1"


def test_facets_are_links_with_counts(client):
    html = text(client.get("/?q=les"))
    sources = facets(html, "source")
    assert sources["AFP"] == (2, "/?q=les&source=AFP", False)
    assert sources["AA"] == (1, "/?q=les&source=AA", False)
    years = facets(html, "year")
    assert list(years) == sorted(years, reverse=True)  # newest first
    assert years["2024"] == (1, "/?q=les&year=2024", False)
    assert 'name="source"' not in html  # no select: the facets replace it


def test_facets_combine_and_remove_themselves(client):
    html = text(client.get("/?q=les&source=AFP"))
    sources = facets(html, "source")
    assert sources["AFP"] == (2, "/?q=les", True)  # selected: the link removes it
    assert sources["AA"][1:] == ("/?q=les&source=AFP&source=AA", False)  # another: either source
    assert sources["AA"][0] == 1  # counted as if AFP were not chosen
    assert facets(html, "year")["2023"][1] == "/?q=les&source=AFP&year=2023"  # and a year
    assert 'class="facet on" href="/?q=les" aria-current="true"' in html


def test_no_results_with_filters_offers_to_remove_them(client):
    html = text(client.get("/?q=coeur&source=AA&year=2021"))
    assert "Aucun article ne correspond" in html
    assert '<a href="/?q=coeur">cherchez sans filtre</a>' in html
    assert chips(html)["Source : AA"] == "/?q=coeur&year=2021"


def test_page_without_facets_keeps_the_source_list(app):
    """Should the page be given no facets (a search that could not count them),
    the form's source list is shown instead."""
    from flask import render_template
    from werkzeug.datastructures import MultiDict

    page = SimpleNamespace(query="coeur", total=1, page=1, per_page=10, pages=1, took_ms=1.0,
                           suggestion=None, hits=[])
    with app.test_request_context("/?q=coeur&source=AFP"):
        html = render_template("search.html", args=MultiDict({"q": "coeur", "source": "AFP"}),
                               page=page, sources=["AA", "AFP"])
    assert '<option value="AFP" selected>AFP</option>' in html
    assert 'class="facets"' not in html and "Source : AFP" in html


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


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    from searchsvc.index.reindex import reindex

    root = tmp_path_factory.mktemp("hostile")
    corpus = write_jsonl(root / "hostile" / "docs.jsonl", [HOSTILE_DOCUMENT]).parent
    result = reindex([corpus], root / "index")
    assert [str(p) for p in result.problems] == [
        "docs.jsonl:1: 'url' must be an http(s) address or a path, got \"javascript:alert('lien')\"; loaded without it"
    ]
    return make_client(root / "index", query_log="off")


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
    client = make_client(tmp_path / "none", query_log=None)
    assert client.get("/").status_code == 200  # the box still shows
    response = client.get("/?q=coeur")
    assert response.status_code == 503
    assert "searchsvc reindex" in text(response)


def test_stylesheet_is_served(client):
    with client.get("/static/style.css") as response:
        assert response.status_code == 200 and "mark" in text(response)


def test_script_is_small_served_and_deferred(client):
    html = text(client.get("/?q=coeur"))
    assert '<script src="/static/search.js" defer></script>' in html
    with client.get("/static/search.js") as response:
        assert response.status_code == 200
        assert "javascript" in response.headers["Content-Type"]
        assert len(response.data) < 8 * 1024
        assert "innerHTML" not in text(response) and "eval(" not in text(response)
    # The box is a plain search field until the script makes it a combobox.
    assert 'data-suggest="/api/suggest"' in html and 'role="combobox"' not in html


@pytest.mark.parametrize("url", ["/", "/?q=les&source=AFP&year=2024&from=2020-01-01&per_page=1", "/?q=zzzzzz", "/?q=x&page=abc"])
def test_no_inline_script_style_or_handler(client, url):
    """What the Content-Security-Policy forbids never appears (it would be blocked)."""
    html = text(client.get(url))
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html and "<style" not in html
    assert re.findall(r"<[^>]+\son[a-z]+=", html) == []


def chips(html: str) -> dict[str, str]:
    """The active filters' remove links: {label: href}."""
    found = re.findall(r'<a class="chip" href="([^"]*)"><span class="vh">Retirer le filtre </span>(.*?) <span', html)
    return {label: unescape(href) for href, label in found}


def facets(html: str, key: str) -> dict[str, tuple[int, str, bool]]:
    """One facet group: {value: (count, href, selected)}."""
    group = html.split(f'aria-labelledby="facette-{key}"', 1)[1].split("</section>", 1)[0]
    found = re.findall(
        r'<a class="facet( on)?" href="([^"]*)"[^>]*><span class="label">([^<]*)</span>\s*<span class="n">([\d\u202f ]+)<', group
    )
    return {unescape(v): (int(n.replace(" ", "")), unescape(href), bool(on)) for on, href, v, n in found}
