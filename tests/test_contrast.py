"""Words that tell the best candidates apart count for more among them (searchsvc.search.contrast)."""

from __future__ import annotations

import numpy as np
import pytest

from searchsvc.search import closeness, contrast
from searchsvc.search.searching import SearchRequest, search

from .builders import index_documents, open_searcher


def test_a_clause_one_candidate_holds_is_the_rarest_and_one_all_hold_barely_counts():
    held = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1], [1, 0, 0]], dtype=bool)
    rarity = contrast.rarity(held)
    assert rarity[1] == pytest.approx(1.0) and rarity[2] == pytest.approx(1.0)  # held by one of four
    assert 0 < rarity[0] < 0.2  # held by all four
    assert contrast.rarity(held[:, [0, 0, 1]])[2] == pytest.approx(1.0)  # depends on the holding only


#: « chat » in six articles, one of them saying it five times; « chien » in
#: one article, once. Among the hundred, « chien » is rarer, yet the article
#: that repeats « chat » scores higher; among the seven that the query finds,
#: « chien » is the word that tells one of them apart.
ARTICLES = (
    [{"id": "chats", "title": "Animaux", "body": "chat chat chat chat chat " + "salon " * 15}]
    + [{"id": f"chat-{i}", "title": "Animaux", "body": "chat " + "jardin " * 19} for i in range(5)]
    + [{"id": "chien", "title": "Animaux", "body": "chien " + "terrasse " * 19}]
    + [{"id": f"autre-{i}", "title": "Météo", "body": "pluie vent nuages " * 6} for i in range(93)]
)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    return open_searcher(index_documents(tmp_path_factory.mktemp("contrast"), ARTICLES))


def first(searcher, q: str) -> str:
    return search(searcher, SearchRequest(q=q)).hits[0].id


def test_among_the_candidates_the_word_few_of_them_hold_counts_for_more(searcher, monkeypatch):
    monkeypatch.setattr(closeness, "WEIGHT", 0.0)  # the lexical score alone, and the contrast
    monkeypatch.setattr(closeness, "TITLE_WEIGHT", 0.0)
    monkeypatch.setattr(contrast, "WEIGHT", 0.0)
    assert first(searcher, "chat chien") == "chats"
    monkeypatch.setattr(contrast, "WEIGHT", 0.5)
    assert first(searcher, "chat chien") == "chien"


def test_a_query_of_one_word_is_left_as_it_was(searcher, monkeypatch):
    hits = search(searcher, SearchRequest(q="chat")).hits
    monkeypatch.setattr(contrast, "WEIGHT", 0.0)
    assert [(h.id, h.score) for h in search(searcher, SearchRequest(q="chat")).hits] == [(h.id, h.score) for h in hits]
