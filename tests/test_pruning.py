"""Pruned ranking gives the hits exhaustive scoring gives, from fewer postings.

:mod:`searchsvc.search.pruning` serves queries with a word in at least
``TRACK_TOTAL_HITS`` (10,000) live articles. The index here is 300 bundled
news articles in two segments with deleted documents, so the threshold is
lowered to a few articles for these tests, and the candidate counts that
decide between looking documents up and reading lists whole are varied, so
that every path of the module runs. Each query is ranked both ways and the
hits (documents, order and scores) must be the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from searchsvc.search import parsing as querying
from searchsvc.search import pruning, ranking
from searchsvc.search.facets import DocFilter
from searchsvc.search.ranking import rank_and_count
from searchsvc.search.scoring import VectorScorer, positions_in, top
from searchsvc.search.weighting import WEIGHTING
from searchsvc.text.synonyms import load_synonyms

from .builders import index_documents, open_searcher

ROOT = Path(__file__).resolve().parents[1]
SYNONYMS = load_synonyms(ROOT / "index_data" / "synonyms.txt")

QUERIES = [
    "macron", "réforme des retraites", "etats-unis", "États-Unis élection", "coronavirus confinement",
    "coronavirus", "covid", "lrem", "france", "président de la république", "les", "est", "comme",
    "gouvernement français", "macron -retraites", "santé hôpital soignants", "l'otan", "aujourd'hui",
    "élection présidentielle 2022", "Quel est le prix du pétrole ?", "pres*", "police manifestation paris",
    "Qui a été élu président des États-Unis en 2020 ?", "ministre", "ville", "deux ans après",
    "premier ministre", "la france et l'europe", "marseille", "zzzz", "france zzzz",
    "manifestation 29 août", "macron mars 2020", "1er mai paris", "12 mars 2020", "france -mars 2020",
]  # fmt: skip


@pytest.fixture(scope="module")
def searcher(two_segment_index):
    searcher = open_searcher(two_segment_index[0])
    assert searcher.reader().has_deletions()
    return searcher


@pytest.fixture
def low_threshold(monkeypatch):
    """Pruning for any word in at least 5 live articles."""
    monkeypatch.setattr(pruning, "TRACK_TOTAL_HITS", 5)


def both_ways(searcher, text: str, depth: int = 10, doc_filter: DocFilter | None = None):
    parsed = querying.parse(text, searcher.schema, searcher.reader(), SYNONYMS)
    pruned = rank_and_count(searcher, parsed, depth, doc_filter)
    exhaustive = rank_and_count(searcher, parsed, depth, doc_filter, prune=False)
    return pruned, exhaustive


def check_same(pruned, exhaustive) -> None:
    assert pruned.hits == exhaustive.hits
    if pruned.total_relation == "gte":
        assert pruning.TRACK_TOTAL_HITS <= pruned.total <= exhaustive.total
        assert pruned.facets_relation == "gte"
        full = {name: dict(values) for name, values in exhaustive.facets.items()}
        for name, values in pruned.facets.items():
            for value, count in values:
                assert count <= full[name].get(value, 0), (name, value)
    else:
        assert (pruned.total, pruned.facets) == (exhaustive.total, exhaustive.facets)


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("depth", [10, 30, 250])
def test_pruned_hits_are_the_exhaustive_ones(searcher, low_threshold, text, depth):
    check_same(*both_ways(searcher, text, depth))


@pytest.mark.parametrize("text", QUERIES)
def test_with_a_small_bonus_depth_every_pruning_step_runs_and_agrees(searcher, low_threshold, monkeypatch, text):
    """With 10 documents wanted of 300, candidates are dropped on the way
    (the default 100 of 300 would leave few to drop)."""
    monkeypatch.setattr(ranking, "BONUS_DEPTH", 10)
    monkeypatch.setattr(pruning, "FEW", 1)
    check_same(*both_ways(searcher, text))


@pytest.mark.parametrize("text", ["coronavirus", "france", "président de la république", "les", "comme"])
def test_reading_lists_whole_when_lookups_would_cost_more_agrees(searcher, low_threshold, monkeypatch, text):
    monkeypatch.setattr(ranking, "BONUS_DEPTH", 10)
    monkeypatch.setattr(pruning, "FEW", 1)
    monkeypatch.setattr(pruning, "LOOKUP_COST", 10_000)
    check_same(*both_ways(searcher, text))


@pytest.mark.parametrize(
    "doc_filter",
    [DocFilter(years=(2020,)), DocFilter(sources=("orangesum",)), DocFilter(day_from=20200101, day_to=20200630)],
)
@pytest.mark.parametrize("text", ["france", "président de la république", "coronavirus confinement", "les -macron"])
def test_filters_and_exclusions_agree(searcher, low_threshold, text, doc_filter):
    check_same(*both_ways(searcher, text, 10, doc_filter))


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """1,000 articles all holding « commun », 10 of them « rareté » too."""
    articles = [
        {"id": f"a{i}", "title": f"Article {i}",
         "body": "Le marché commun " + ("et sa rareté " if i % 100 == 0 else "") + "commun" * (i % 3)}
        for i in range(1000)
    ]  # fmt: skip
    return open_searcher(index_documents(tmp_path_factory.mktemp("skewed"), articles))


def test_a_common_word_beside_a_rare_one_is_looked_up_not_read_whole(skewed, low_threshold, monkeypatch):
    scored: list[int] = []
    bm25 = VectorScorer.bm25

    def counting(self, fieldname, text, ids, weights):
        scored.append(len(ids))
        return bm25(self, fieldname, text, ids, weights)

    monkeypatch.setattr(VectorScorer, "bm25", counting)
    parsed = querying.parse("rareté commun", skewed.schema, skewed.reader())
    pruned = rank_and_count(skewed, parsed, 10)
    pruned_postings, scored[:] = sum(scored), []
    exhaustive = rank_and_count(skewed, parsed, 10, prune=False)
    assert pruned.hits == exhaustive.hits and len(pruned.hits) == 10
    assert pruned.total_relation == "gte" and pruned.total == exhaustive.total == 1000
    assert sum(scored) >= 2000 and pruned_postings < 200, (pruned_postings, sum(scored))


def test_rare_words_are_counted_exactly(searcher):
    """At the real threshold, no word of this index reaches it: exact totals."""
    pruned, exhaustive = both_ways(searcher, "macron retraites")
    assert pruned.total_relation == pruned.facets_relation == "eq"
    assert pruned.total == exhaustive.total


def test_upper_bounds_are_never_exceeded(searcher):
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    for text in ["coronavirus", "président de la république", "lrem", "les", "france 12 mars"]:
        parsed = querying.parse(text, searcher.schema, searcher.reader(), SYNONYMS)
        for leaf in pruning.leaves_of(parsed.query):
            m = scorer.evaluate(leaf)
            if len(m):
                assert m.scores.max() <= scorer.upper_bound(leaf), leaf


def test_top_finds_the_k_best_with_ties_as_a_full_sort_does():
    rng = np.random.default_rng(3)
    for n, k in [(10, 3), (70_000, 10), (200_000, 100), (200_000, 1)]:
        scores = np.round(rng.gamma(2.0, size=n), 2)  # many ties
        scores[:5] = scores.max()
        docs = np.arange(n) * 3
        expected = np.lexsort((docs, -scores))[:k]
        assert top(docs, scores, k).tolist() == expected.tolist()
    same = np.ones(100_000)
    assert top(np.arange(100_000), same, 5).tolist() == [0, 1, 2, 3, 4]


def test_documents_are_found_alike_in_short_and_long_lists(searcher):
    rng = np.random.default_rng(5)
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    for a, b in [(50, 5000), (5000, 50), (30_000, 40_000)]:
        ids = np.unique(rng.integers(0, 100_000, a)).astype(np.int32)
        docs = np.unique(rng.integers(0, 100_000, b)).astype(np.int64)
        expected = (np.isin(docs, ids), np.searchsorted(ids, docs[np.isin(docs, ids)]))
        for found, at in [positions_in(ids, docs)]:
            assert found.tolist() == expected[0].tolist() and at.tolist() == expected[1].tolist()
        if max(ids.max(), docs.max()) < scorer.n:
            found, at = scorer.docs_in(ids, docs)
            assert found.tolist() == expected[0].tolist() and at.tolist() == expected[1].tolist()


def test_the_json_and_the_page_say_when_counts_are_lower_bounds(client, monkeypatch):
    from searchsvc.web import views

    monkeypatch.setattr(pruning, "TRACK_TOTAL_HITS", 2)
    monkeypatch.setattr(views, "TRACK_TOTAL_HITS", 2)
    body = client.get("/api/search?q=le+coeur&per_page=1").get_json()
    assert (body["total_relation"], body["facets_relation"]) == ("gte", "gte")
    assert body["total"] >= 2 and body["hits"]
    page = client.get("/?q=le+coeur&per_page=1").get_data(as_text=True)
    assert "plus de 2 résultats" in page and "Nombres minimaux" in page
    monkeypatch.setattr(pruning, "TRACK_TOTAL_HITS", 10_000)  # other requests: the result cache keeps those
    body = client.get("/api/search?q=le+coeur&per_page=2").get_json()
    assert (body["total_relation"], body["facets_relation"]) == ("eq", "eq")
    page = client.get("/?q=le+coeur&per_page=2").get_data(as_text=True)
    assert "plus de" not in page and "Nombres minimaux" not in page
