"""Dates typed in a query also find the articles published on them."""

from __future__ import annotations

import pytest

from searchsvc.search import dates
from searchsvc.search.dates import DateSpec, dates_in
from searchsvc.search.parsing import parse
from searchsvc.search.searching import SearchRequest, search

from .builders import index_documents, open_searcher

#: Other articles, so that the words searched are rare enough to score.
FILLER = [
    {"id": f"autre-{i}", "title": f"Météo {i}", "date": f"2024-06-{i + 1:02d}", "body": f"Pluie et vent, épisode {i}."}
    for i in range(20)
]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    root = tmp_path_factory.mktemp("dates")
    documents = [
        # Briefs that never say when: only their dates tell.
        {"id": "breve-2019", "title": "Nouveau coupé", "date": "2019-08-29", "body": "Le constructeur présente un coupé."},
        {"id": "breve-2023", "title": "Nouvelle berline", "date": "2023-08-29", "body": "Le constructeur présente une berline."},
        {"id": "breve-2021", "title": "Nouveau cabriolet", "date": "2021-08-29", "body": "Le constructeur présente un cabriolet."},
        {"id": "autre-jour", "title": "Nouveau break", "date": "2023-08-28", "body": "Le constructeur présente un break."},
        {"id": "sans-date", "title": "Nouveau SUV", "body": "Le constructeur présente un SUV."},
        {"id": "incendie", "title": "Incendie", "date": "2022-03-12", "body": "Un incendie a touché l'usine du constructeur."},
        {"id": "incendie-ce-jour", "title": "Incendie", "date": "2023-08-29", "body": "Un incendie dans un entrepôt."},
    ]  # fmt: skip
    return open_searcher(index_documents(root, documents + FILLER))


def ids(searcher, q: str) -> list[str]:
    return [h.id for h in search(searcher, SearchRequest(q=q, per_page=50)).hits]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("29 août", [DateSpec(8, 29, 0, ("29", "aout"))]),
        ("le 1er mai 2020 à Paris", [DateSpec(5, 1, 2020, ("1er", "mai", "2020"))]),
        ("aout 2019", [DateSpec(8, 0, 2019, ("aout", "2019"))]),
        ("Le 3 DÉCEMBRE 1999 et le 12 juin", [DateSpec(12, 3, 1999, ("3", "decembre", "1999")),
                                              DateSpec(6, 12, 0, ("12", "juin"))]),
        ("août", []),  # a month alone: a twelfth of the archive
        ("Mars", []),  # the planet as much as the month
        ("32 mars", []),
        ("0 mai", []),
        ("09 mai", [DateSpec(5, 9, 0, ("09", "mai"))]),
        ("29 aoûtien", []),
    ],
)  # fmt: skip
def test_the_dates_a_query_spells(text, expected):
    assert dates_in(text) == expected


def test_a_day_and_month_find_the_articles_published_then_most_recent_year_first(searcher):
    found = ids(searcher, "29 août")
    assert set(found[:2]) == {"incendie-ce-jour", "breve-2023"}  # 2023: the newest 29 August
    assert found[2:] == ["breve-2021", "breve-2019"]


def test_a_year_narrows_to_that_day(searcher):
    assert ids(searcher, "29 août 2019") == ["breve-2019"]
    assert set(ids(searcher, "août 2023")) == {"incendie-ce-jour", "breve-2023", "autre-jour"}


def test_the_date_counts_as_the_words_it_spells(searcher):
    """Published on the day typed, the article holds every word: it comes
    before one that holds only the other word."""
    found = ids(searcher, "incendie 29 août")
    assert found[0] == "incendie-ce-jour"
    assert found.index("incendie") > found.index("breve-2023")  # one word of three, against two


def test_the_text_still_matches_as_typed(tmp_path):
    s = open_searcher(index_documents(tmp_path, [
        {"id": "annonce", "title": "Salon", "date": "2020-01-05", "body": "Le salon ouvrira le 29 août."},
        *FILLER,
    ]))  # fmt: skip
    assert ids(s, "29 août") == ["annonce"]


def test_off_a_date_is_only_words(searcher, monkeypatch):
    monkeypatch.setattr(dates, "PUBLICATION_DATES", False)
    assert ids(searcher, "29 août") == []
    assert set(ids(searcher, "incendie 29 août")) == {"incendie", "incendie-ce-jour"}


def test_excluded_dates_and_undated_indexes_change_nothing(searcher, tmp_path):
    for text in ("constructeur -août 2019", "constructeur 29 -août"):
        parsed = parse(text, searcher.schema, searcher.reader())
        assert "published" not in str(parsed.query), text
    assert "published" in str(parse("constructeur août 2019", searcher.schema, searcher.reader()).query)
    undated = open_searcher(index_documents(tmp_path, [{"id": "a", "title": "Coupé", "body": "Un coupé."}]))
    assert ids(undated, "coupé 29 août") == ["a"]


def test_the_weekdays_and_months_a_query_names():
    assert dates.days_named("grève jeudi") == dates.NamedDays(frozenset({3}), frozenset())
    assert dates.days_named("Incendie en AOUT, mardi et Dimanche") == dates.NamedDays(frozenset({1, 6}), frozenset({8}))
    assert not dates.days_named("grève -jeudi", excluded=["jeudi"])
    assert not dates.days_named("jeudis jeudiste aoûtien")  # whole words only


def test_the_weekday_of_any_day_is_the_calendars():
    from datetime import date, timedelta

    import numpy as np

    days = [date(1900, 1, 1) + timedelta(days=n) for n in range(0, 60000, 7919)] + [date(2024, 2, 29), date(2000, 3, 1)]
    numbers = np.array([d.year * 10000 + d.month * 100 + d.day for d in days])
    assert dates.weekday(numbers).tolist() == [d.weekday() for d in days]


#: The same dispatch three times: only the day it was published differs.
SAME = {"title": "Grève des transports", "body": "Les cheminots et les agents de la RATP en grève."}


@pytest.fixture(scope="module")
def same_story(tmp_path_factory):
    documents = [
        {"id": "mercredi", "date": "2024-03-06", **SAME},
        {"id": "sans-date", **SAME},
        {"id": "jeudi", "date": "2024-03-07", **SAME},
        {"id": "aout", "date": "2024-08-06", **SAME},
    ]
    return open_searcher(index_documents(tmp_path_factory.mktemp("named"), documents + FILLER))


def test_a_weekday_named_puts_the_articles_of_such_a_day_first(same_story):
    hits = search(same_story, SearchRequest(q="grève transports jeudi")).hits
    assert hits[0].id == "jeudi" and hits[0].score > hits[1].score
    assert {h.score for h in hits[1:4]} == {hits[1].score}  # the others: no gain, undated included


def test_a_month_named_alone_puts_that_months_articles_first(same_story):
    hits = search(same_story, SearchRequest(q="grève transports en août")).hits
    assert hits[0].id == "aout" and hits[0].score > hits[1].score


def test_without_the_lever_or_with_the_day_excluded_nothing_moves(same_story, monkeypatch):
    order = ids(same_story, "grève transports")
    assert ids(same_story, "grève transports -jeudi") == order
    monkeypatch.setattr(dates, "WEEKDAY_WEIGHT", 0.0)
    monkeypatch.setattr(dates, "MONTH_WEIGHT", 0.0)
    hits = search(same_story, SearchRequest(q="grève transports jeudi")).hits
    assert len({h.score for h in hits[:4]}) == 1
