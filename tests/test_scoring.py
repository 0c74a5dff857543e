"""The vectorised scorer gives Whoosh's own scores and the ranking Whoosh's searches gave.

On 300 bundled news articles, then an incremental reindex that changes some
and deletes others, so the index has several segments and deleted documents,
as a live one does (the session's ``two_segment_index``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import query as wq

from searchsvc.search import closeness, contrast, dates
from searchsvc.search import parsing as querying
from searchsvc.search.clauses import clauses
from searchsvc.search.ranking import ALL_WORDS_FIRST, BONUS_DEPTH, rank
from searchsvc.search.scoring import VectorScorer
from searchsvc.search.weighting import WEIGHTING

from .builders import open_searcher

QUERIES = [
    "macron", "réforme des retraites", "etats-unis", "États-Unis élection", "coronavirus confinement",
    '"la nuit de mercredi"', '"premier ministre"', "pres*", "gouvernemnt", "macron -retraites",
    "+macron retraites", "jusqu'à", "title:macron", "Quel est le prix du pétrole ?",
    "police NOT manifestation", "président OR ministre", "santé hôpital soignants", "l'otan",
    "football ligue", "marseille", "aujourd'hui", "mort", "covid-19", "élection présidentielle 2022",
    "les", "cette fois", "zzzz", "paris~", "vaccin*", "(police OR gendarmerie) manifestation",
    "\"réforme retraites\"~3", "\"macron\" \"premier ministre\"", "title:\"premier ministre\"",
]  # fmt: skip


@pytest.fixture(scope="module")
def searcher(two_segment_index):
    index_dir, result = two_segment_index
    assert result.updated == 20 and result.deleted == 10
    searcher = open_searcher(index_dir)
    assert len(searcher.reader().leaf_readers()) >= 2 and searcher.reader().has_deletions()
    return searcher


def whoosh_scores(searcher, q: wq.Query) -> dict[int, float]:
    return {hit.docnum: hit.score for hit in searcher.search(q, limit=None)}


def vector_scores(searcher, q: wq.Query) -> dict[int, float]:
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    m = scorer.evaluate(q)
    live = scorer.arrays.live[m.ids]
    return dict(zip(m.ids[live].tolist(), m.scores[live].tolist(), strict=True))


@pytest.mark.parametrize("text", QUERIES)
def test_scores_are_whooshs(searcher, text):
    parsed = querying.parse(text, searcher.schema, searcher.reader())
    queries = [parsed.query] + ([parsed.bonus] if parsed.bonus is not None else [])
    for q in queries:
        if q is wq.NullQuery:
            continue
        expected, actual = whoosh_scores(searcher, q), vector_scores(searcher, q)
        assert actual.keys() == expected.keys(), q
        for docnum, score in expected.items():
            assert actual[docnum] == pytest.approx(score, rel=1e-9, abs=1e-12), (q, docnum)


def all_words_query(q: wq.Query) -> wq.Query | None:
    """The same query with every clause required (how Whoosh searched for
    the documents holding all the words), or ``None`` when that is ``q``."""
    required, optional, excluded = clauses(q)
    if len(optional) + len(required) < 2 or not optional:
        return None
    strict: wq.Query = wq.And(required + optional)
    if excluded is not None:
        strict = wq.AndNot(strict, excluded)
    return strict


def whoosh_rank(searcher, parsed, depth):
    """The ranking as it was computed with Whoosh's searches (before the scorer),
    without Whoosh's top-k pruning, which lost documents: with ``limit=20``
    it misses a document scoring 6.06 for the last query and ranks one
    scoring 5.71 tenth."""
    q = parsed.query
    strict = all_words_query(q) if ALL_WORDS_FIRST else None
    candidates = max(depth, BONUS_DEPTH) if parsed.bonus is not None else depth
    results = searcher.search(q, limit=None)
    total = len(results)
    scored = [(hit.docnum, hit.score) for hit in results][:candidates]
    first = []
    if strict is not None:
        first = [(hit.docnum, hit.score) for hit in searcher.search(strict, limit=None)][:candidates]
    if parsed.bonus is not None:
        docs = {d for d, _ in scored} | {d for d, _ in first}
        bonus = {hit.docnum: hit.score for hit in searcher.search(parsed.bonus, limit=len(docs), filter=docs)}
        scored = sorted(((d, s + bonus.get(d, 0.0)) for d, s in scored), key=lambda p: -p[1])
        first = sorted(((d, s + bonus.get(d, 0.0)) for d, s in first), key=lambda p: -p[1])
    seen = {d for d, _ in first}
    ordered = first + [(d, s) for d, s in scored if d not in seen]
    return ordered[:depth], total


@pytest.mark.parametrize("text", QUERIES)
def test_ranking_is_the_one_whoosh_searches_gave(searcher, text, monkeypatch):
    # The lexical ranking; the closeness of meaning, the words rare among the
    # best candidates and the weekdays and months named, added to it, are
    # tested in test_meaning, test_contrast and test_dates.
    monkeypatch.setattr(closeness, "WEIGHT", 0.0)
    monkeypatch.setattr(closeness, "TITLE_WEIGHT", 0.0)
    monkeypatch.setattr(contrast, "WEIGHT", 0.0)
    monkeypatch.setattr(dates, "WEEKDAY_WEIGHT", 0.0)
    monkeypatch.setattr(dates, "MONTH_WEIGHT", 0.0)
    parsed = querying.parse(text, searcher.schema, searcher.reader())
    if parsed.query is wq.NullQuery:
        assert rank(searcher, parsed, 20) == ([], 0)
        return
    expected, expected_total = whoosh_rank(searcher, parsed, 20)
    actual, total = rank(searcher, parsed, 20)
    assert total == expected_total
    # Same documents in the same order, up to ties (equal scores may swap).
    assert [round(s, 6) for _, s in actual] == [round(s, 6) for _, s in expected]
    by_score: dict[float, set[int]] = {}
    for d, s in expected:
        by_score.setdefault(round(s, 6), set()).add(d)
    for d, s in actual:
        assert d in by_score[round(s, 6)]


def test_opening_an_index_does_not_copy_its_files_into_memory(searcher):
    """whoosh-reloaded copied every segment file it opened (BytesIO); read in
    place, the pages are the OS file cache, shared by the service's workers."""
    import tracemalloc

    from whoosh import index as whoosh_index

    from searchsvc.text import whoosh_patches

    path = searcher._ix.storage.folder
    on_disk = sum(p.stat().st_size for p in Path(path).glob("*.seg"))

    def allocated_by_opening() -> int:
        tracemalloc.start()
        opened = whoosh_index.open_dir(path).searcher()
        allocated = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        opened.close()
        return allocated

    whoosh_patches.uninstall_reader()
    try:
        copied = allocated_by_opening()
    finally:
        whoosh_patches.install_reader()
    in_place = allocated_by_opening()
    assert copied > on_disk / 3  # the postings and term files, copied
    assert in_place < on_disk / 20
    assert [h.docnum for h in searcher.search(wq.Term("text", "macron"), limit=5)]  # still reads


def test_combine_merges_sparse_and_dense_alike():
    """combine() sorts few postings and uses a dense slot per document for
    many: both ways give the same union, sums and counts."""
    import numpy as np

    from searchsvc.search.scoring import Matches, combine

    rng = np.random.default_rng(5)
    parts = []
    for size in (3, 40, 400, 0, 1):
        ids = np.unique(rng.integers(0, 1000, size))
        parts.append(Matches(ids.astype(np.int64), rng.random(len(ids))))
    few = combine(parts, n=10**6)  # 444 postings * 16 < 10**6: sorted
    many = combine(parts, n=1000)  # dense
    expected: dict[int, list[float]] = {}
    for p in parts:
        for d, s in zip(p.ids.tolist(), p.scores.tolist(), strict=True):
            expected.setdefault(d, []).append(s)
    for ids, scores, hits in (few, many):
        assert ids.tolist() == sorted(expected)
        assert scores.tolist() == pytest.approx([sum(expected[d]) for d in sorted(expected)])
        assert hits.tolist() == [len(expected[d]) for d in sorted(expected)]


def test_clauses_past_the_bits_of_the_dense_accumulators_rank_alike(searcher):
    """32 clauses are scored into the dense array with a bit each; a wider
    query is folded into counts every 32 clauses, with the same sums."""
    import numpy as np

    from searchsvc.search import ranking

    words = ["macron", "retraites", "police", "manifestation", "ministre", "president", "france", "paris",
             "gouvernement", "election", "covid", "vaccin", "football", "europe", "guerre", "economie", "prix",
             "petrole", "sante", "hopital", "ecole", "climat", "justice", "proces", "greve", "syndicat", "loi",
             "senat", "maire", "region", "etat", "otan", "russie"]  # fmt: skip
    clauses_ = [wq.Or([wq.Term("text", w), wq.Term("exact", w, boost=0.5)]) for w in words]
    scorer = VectorScorer(searcher, WEIGHTING.k1, WEIGHTING.b)
    wide = ranking._score_clauses(scorer, clauses_, required=3)  # 33 clauses: counts
    narrow = [ranking._score_clauses(scorer, clauses_[:32], 3), ranking._score_clauses(scorer, clauses_[32:], 0)]
    ids = np.union1d(narrow[0][0], narrow[1][0])
    assert wide[0].tolist() == ids.tolist() and len(ids) > 50
    expected: dict[int, list] = {}
    for part_ids, part_scores, held, held_required in narrow:
        for d, sc, h, r in zip(part_ids.tolist(), part_scores.tolist(), held.tolist(), held_required.tolist(), strict=True):
            old = expected.setdefault(d, [0.0, 0, 0])
            old[0], old[1], old[2] = old[0] + sc, old[1] + h, old[2] + r
    assert wide[1].tolist() == pytest.approx([expected[d][0] for d in ids.tolist()], rel=1e-12)
    assert wide[2].tolist() == [expected[d][1] for d in ids.tolist()]
    assert wide[3].tolist() == [expected[d][2] for d in ids.tolist()]
    assert max(wide[2]) > 2 and max(wide[3]) >= 1
    dense, bits = scorer.arrays.scratch()
    assert not dense.any() and not bits.any()  # cleared after each query
