"""Recency: among articles of similar relevance, the newer first, when the site asks for it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from searchsvc.app import create_app
from searchsvc.search.recency import Recency, newest_day
from searchsvc.search.searching import SearchRequest, search

from .builders import index_documents, make_client, open_searcher

BODY = "Le conseil municipal a voté le budget du tramway."
#: Other articles, so that the words searched are rare enough to score.
FILLER = [
    {"id": f"autre-{i}", "title": f"Météo {i}", "date": "2024-06-30", "body": f"Pluie et vent sur la côte, épisode {i}."}
    for i in range(20)
]


@pytest.fixture(scope="module")
def same_articles(tmp_path_factory):
    """Four articles alike but for their dates (one undated), and an older one far more relevant."""
    root = tmp_path_factory.mktemp("recency")
    documents = [
        {"id": "ancien", "title": "Tramway", "date": "2023-01-10", "body": BODY},
        {"id": "recent", "title": "Tramway", "date": "2024-06-28", "body": BODY},
        {"id": "sans-date", "title": "Tramway", "body": BODY},
        {"id": "moyen", "title": "Tramway", "date": "2024-05-01", "body": BODY},
        {"id": "dossier", "title": "Tramway : le budget du tramway voté", "date": "2020-03-01",
         "body": "Le budget du tramway est voté. Tramway, budget, conseil municipal : " + BODY},
    ]  # fmt: skip
    return open_searcher(index_documents(root, documents + FILLER))


def ids(searcher, q, recency=None, **kwargs):
    return [h.id for h in search(searcher, SearchRequest(q=q, **kwargs), recency=recency).hits]


def test_off_the_dates_do_not_count(same_articles):
    hits = search(same_articles, SearchRequest(q="tramway conseil")).hits
    assert len({h.score for h in hits[:4]}) == 1 and hits[4].id == "dossier"
    assert ids(same_articles, "tramway conseil", Recency(0.0)) == ids(same_articles, "tramway conseil")


def test_on_equal_articles_come_newest_first_and_undated_last(same_articles):
    found = ids(same_articles, "tramway conseil", Recency(0.2))
    assert found[:4] == ["recent", "moyen", "ancien", "sans-date"]


def test_a_far_more_relevant_older_article_stays_first_at_a_moderate_strength(same_articles):
    assert ids(same_articles, "budget tramway", Recency(0.1))[0] == "dossier"  # 20 % ahead
    assert ids(same_articles, "budget tramway", Recency(1.0, half_life_days=1))[0] == "recent"


def test_recency_never_lifts_a_partial_match_over_one_with_every_word(tmp_path):
    s = open_searcher(index_documents(tmp_path, [
        {"id": "tous", "title": "Gare", "date": "2001-01-01", "body": "La gare et le tramway."},
        {"id": "un", "title": "Gare", "date": "2024-01-01", "body": "La gare rénovée."},
        *FILLER,
    ]))  # fmt: skip
    assert ids(s, "gare tramway", Recency(1.0, half_life_days=1)) == ["tous", "un"]


def test_sort_by_date_is_unaffected(same_articles):
    plain = ids(same_articles, "tramway", sort="date")
    assert ids(same_articles, "tramway", Recency(0.5), sort="date") == plain


def test_the_decay_and_its_origin():
    r = Recency(0.4, half_life_days=10)
    f = r.factors(np.array([20240110, 20231231, 20240120, 0]), newest=20240120)
    assert f == pytest.approx([0.6 + 0.4 * 0.5, 0.6 + 0.4 * 0.25, 1.0, 0.6])
    days, live = np.array([20240101, 20990101, 20240301, 0]), np.array([True, True, False, True])
    assert newest_day(days, live, today=date(2026, 12, 7)) == 20240101  # the misdated and the deleted aside
    with pytest.raises(ValueError, match="between 0 and 1"):
        Recency(1.5)


def test_the_service_applies_the_configured_recency(tmp_path, same_articles):
    index = tmp_path / "index"
    index_dir = index_documents(tmp_path, [
        {"id": "vieux", "title": "Tramway", "date": "2019-01-01", "body": BODY},
        {"id": "neuf", "title": "Tramway", "date": "2024-01-01", "body": BODY},
        *FILLER,
    ])  # fmt: skip
    assert index_dir == index
    for strength, first in ((0, "vieux"), (0.3, "neuf")):
        client = make_client(index_dir, query_log=None, RECENCY=strength)
        assert client.get("/api/search?q=tramway").get_json()["hits"][0]["id"] == first
    with pytest.raises(ValueError, match="SEARCHSVC_RECENCY"):
        create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "RECENCY": "fort"})
