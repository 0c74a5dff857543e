"""The search core, without Flask: relevance, syntax, filters, snippets, suggestions."""

from __future__ import annotations

from datetime import date

import pytest
from whoosh import query as wq

from searchsvc.errors import QueryError
from searchsvc.index.reindex import reindex
from searchsvc.search.limits import MAX_EXPANSIONS
from searchsvc.search.parsing import parse
from searchsvc.search.searching import SearchRequest, search

from .builders import build_index, index_documents, open_searcher

# ``searcher``: the service's searcher on the session's shared index of the
# small corpus (conftest.py); tests needing other articles build their own.


def ids(searcher, q, **kwargs):
    return [hit.id for hit in search(searcher, SearchRequest(q=q, **kwargs)).hits]


@pytest.mark.parametrize(
    "q, expected",
    [
        ("universite", "universite.txt"),
        ("etats-unis", "monde/etats-unis.txt"),
        ("l'otan", "monde/etats-unis.txt"),
        ("coeur", "coeur.txt"),
        ("COEUR ARTIFICIEL", "coeur.txt"),
        ("aujourdhui", "universite.txt"),
        ("jeudi", "nuit.txt"),
        ("hamlet", "hamlet"),
    ],
)
def test_accentless_queries_find_the_article_first(searcher, q, expected):
    assert ids(searcher, q)[0] == expected


def test_documents_with_all_words_rank_above_those_with_some(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    # One word repeated scores high on its own; the article with both words must still win.
    (corpus / "repete.txt").write_text("Tramway\n" + "tramway tramway tramway tramway à Lyon\n", "utf-8")
    (corpus / "deux.txt").write_text("Travaux\nLe tramway et la gare seront fermés pendant un an de travaux.\n", "utf-8")
    (corpus / "gare.txt").write_text("Gare\nLa gare gare gare rénovée.\n", "utf-8")
    s = open_searcher(build_index(corpus, tmp_path / "ix"))
    assert ids(s, "tramway gare")[0] == "deux.txt"
    assert set(ids(s, "tramway gare")) == {"deux.txt", "repete.txt", "gare.txt"}


def test_a_question_with_an_absent_word_returns_partial_matches(searcher):
    found = ids(searcher, "Qui a réussi la greffe du cœur au Canada ?")
    assert found and found[0] == "coeur.txt"


@pytest.mark.parametrize(
    "q, expected",
    [
        ('"la nuit de mercredi à jeudi"', ["nuit.txt"]),
        ('"la nuit de jeudi à mercredi"', []),
        ("cœur -greffe", ["porte"]),
        ("greffe OR genève", ["coeur.txt", "monde/etats-unis.txt"]),
        ("gref*", ["coeur.txt"]),
        ("title:hamlet", ["hamlet"]),
        ("title:question", []),
        ("hamlett~", ["hamlet"]),
        ("+hamlet question", ["hamlet"]),
        ("jusqu'à", ["porte"]),
        ("être ou ne pas être", ["hamlet"]),
    ],
)
def test_query_syntax(searcher, q, expected):
    assert sorted(ids(searcher, q)) == sorted(expected)


@pytest.mark.parametrize(
    "q", ['"unbalanced AND (', "((((", "a:b:c", "title:", "*", "~", "-", '"', "NOT", "OR OR", "[a TO"]
)
def test_queries_that_do_not_parse_are_plain_words_not_errors(searcher, q):
    page = search(searcher, SearchRequest(q=q))
    assert page.total >= 0


def test_a_misspelt_word_is_forgiven_and_suggested_with_accents(searcher):
    page = search(searcher, SearchRequest(q="greffé artificiell"))
    assert [h.id for h in page.hits] == ["coeur.txt"]
    assert page.suggestion == "greffé artificiel"
    page = search(searcher, SearchRequest(q="presidentiele"))
    assert [h.id for h in page.hits] == ["election.txt"]
    assert page.suggestion == "présidentielle"


@pytest.fixture(scope="module")
def stop_words_searcher(tmp_path_factory):
    """« sans elle » side by side in one article, apart in others, which
    hold the words more often (a higher score without the order)."""
    articles = [
        {"id": "ensemble", "title": "Un récit", "body": "Il est parti sans elle, ce matin-là."},
        *({"id": f"apart{i}", "title": "Autre récit", "body": "Sans bruit, sans lumière, sans retour : elle, "
           "puis elle encore, elle toujours."} for i in range(5)),
        {"id": "elle", "title": "Départ", "body": "Il dit qu'elle veut partir demain matin."},
        {"id": "sans", "title": "Départ", "body": "Elle veut partir, dit-il, demain."},
    ]  # fmt: skip
    return open_searcher(index_documents(tmp_path_factory.mktemp("stop"), articles))


def test_a_query_of_stop_words_puts_them_in_order_first(stop_words_searcher):
    parsed = parse("sans elle", stop_words_searcher.schema, stop_words_searcher.reader())
    assert isinstance(parsed.query, wq.And) and isinstance(parsed.bonus, wq.Phrase)  # the order: a bonus
    page = search(stop_words_searcher, SearchRequest(q="sans elle"))
    assert page.total == 6 and page.hits[0].id == "ensemble"


def test_a_word_of_stop_words_alone_is_not_a_clause(stop_words_searcher):
    """« qu'elle » is searched as a stop word is: not at all beside other words
    (its positions would be read in most articles, for no signal)."""
    parsed = parse("qu'elle veut partir", stop_words_searcher.schema, stop_words_searcher.reader())
    assert not [q for q in parsed.query.leaves() if isinstance(q, wq.Phrase)]
    page = search(stop_words_searcher, SearchRequest(q="qu'elle veut partir"))
    assert {h.id for h in page.hits[:2]} == {"elle", "sans"}  # both words, with or without « qu'elle »
    alone = search(stop_words_searcher, SearchRequest(q="qu'elle"))  # nothing else: its exact words
    assert [h.id for h in alone.hits] == ["elle"]


@pytest.fixture(scope="module")
def near_prefix_searcher(tmp_path_factory):
    """« président » and « près »: the prefix ``presi`` is one letter from ``pres``."""
    articles = [
        {"id": "a", "title": "Le président parle", "body": "Le président de la République, près de Paris."},
        {"id": "b", "title": "Tout près", "body": "Une élection présidentielle."},
    ]
    return open_searcher(index_documents(tmp_path_factory.mktemp("near"), articles))


@pytest.mark.parametrize("q", ["prési*", "presi*", "prési* élection", "élect* presi*"])
def test_a_prefix_is_not_a_word_to_correct(near_prefix_searcher, q):
    """``prési*`` is a valid prefix: it was "corrected" to ``près*``."""
    page = search(near_prefix_searcher, SearchRequest(q=q))
    assert page.total > 0 and page.suggestion is None


def test_known_words_do_not_spend_the_typo_look_ups(near_prefix_searcher):
    """Only unknown words count against MAX_TYPO_LOOKUPS: a long question's
    typo, after many known words, is still suggested."""
    known = "président parle tout près de Paris " * 3
    page = search(near_prefix_searcher, SearchRequest(q=known + "présidents"))
    # « présidents »: its stem is searched (no typo when searching), its exact form is unknown
    assert page.total > 0 and page.suggestion == known + "président"


def test_a_typo_beside_a_prefix_is_still_corrected(near_prefix_searcher):
    page = search(near_prefix_searcher, SearchRequest(q="prési* electoin"))
    assert page.suggestion == "prési* élection"


@pytest.fixture(scope="module")
def titles_searcher(tmp_path_factory):
    """Articles holding « titre » and « titres »: words one typo from ``title``."""
    articles = [
        {"id": "a", "title": "Le titre du film", "body": "Un titre et des titres."},
        {"id": "b", "title": "Élection présidentielle", "body": "La présidentielle approche."},
    ]
    return open_searcher(index_documents(tmp_path_factory.mktemp("titles"), articles))


@pytest.mark.parametrize(
    "q, suggestion",
    [
        ("title:presidentiele", "title:présidentielle"),  # the field name stays as typed
        ("title:election", None),
        ("presidentiele~", None),  # already searched with its typos
        ("tittre title:election", "titre title:election"),
    ],
)
def test_the_suggestion_corrects_words_not_field_names_or_fuzzy_words(titles_searcher, q, suggestion):
    assert search(titles_searcher, SearchRequest(q=q)).suggestion == suggestion


def test_no_suggestion_when_every_word_is_known(searcher):
    assert search(searcher, SearchRequest(q="greffe du coeur")).suggestion is None


def test_filters_by_source_and_date(searcher):
    assert sorted(ids(searcher, "coeur", sources=("AFP",))) == ["coeur.txt", "porte"]
    assert ids(searcher, "coeur", sources=("AA",)) == []
    assert ids(searcher, "coeur", date_from=date(2021, 3, 3), date_to=date(2021, 3, 3)) == ["coeur.txt"]
    assert ids(searcher, "coeur", date_from=date(2021, 3, 4)) == []


def test_sort_by_date_newest_first(searcher):
    found = ids(searcher, "les", sort="date")  # a stop word: searched in the exact field
    assert found == ["monde/etats-unis.txt", "universite.txt", "election.txt", "coeur.txt"]


def test_snippets_highlight_accented_words_and_escape_html(searcher, corpus, fresh_index):
    page = search(searcher, SearchRequest(q="etats-unis"))
    hit = page.hits[0]
    assert "<mark>États</mark>-<mark>Unis</mark>" in hit.snippet
    assert hit.title_html == "Les <mark>États</mark>-<mark>Unis</mark> et l'OTAN"
    (corpus / "xss.txt").write_text('<script>alert("titre")</script>\nUn <b>corps</b> & <img src=x onerror=alert(1)>\n', "utf-8")
    reindex([corpus], fresh_index)
    page = search(open_searcher(fresh_index), SearchRequest(q="corps alert"))
    hit = page.hits[0]
    assert "<script" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert hit.snippet.startswith("Un &lt;b&gt;<mark>corps</mark>&lt;/b&gt; &amp; &lt;img src=x onerror=")
    assert "<img" not in hit.snippet and "<b>" not in hit.snippet


def test_pagination(searcher):
    first = search(searcher, SearchRequest(q="les", per_page=2))
    second = search(searcher, SearchRequest(q="les", per_page=2, page=2))
    assert first.total == second.total == 4
    assert len(first.hits) == 2 and len(second.hits) == 2
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}
    assert search(searcher, SearchRequest(q="les", per_page=2, page=50)).hits == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"page": 0}, "page must be 1 or more"),
        ({"per_page": 101}, "per_page must be between 1 and 100"),
        ({"per_page": 0}, "per_page must be between 1 and 100"),
        ({"page": 10_000}, "page is too deep"),
        ({"sort": "popularity"}, "sort must be one of"),
        ({"date_from": date(2022, 1, 2), "date_to": date(2022, 1, 1)}, "from must not be after to"),
    ],
)
def test_bad_requests_name_the_parameter(kwargs, message):
    with pytest.raises(QueryError, match=message):
        SearchRequest(q="x", **kwargs)


@pytest.mark.parametrize("q", ["", "   ", "\x00\x01"])
def test_empty_query_is_refused(searcher, q):
    with pytest.raises(QueryError, match="q is empty"):
        search(searcher, SearchRequest(q=q))


def test_huge_queries_are_refused_or_bounded(searcher):
    with pytest.raises(QueryError, match="q is too long"):
        search(searcher, SearchRequest(q="a" * 100_000))
    many = " ".join(f"mot{i}" for i in range(150))
    parsed = parse(many, searcher.schema, searcher.reader())
    assert len(list(parsed.query.iter_all_terms())) <= 32 * 2


def test_prefix_expansion_is_bounded(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    words = " ".join(f"ab{i:04d}" for i in range(400))
    (corpus / "many.txt").write_text(f"Beaucoup de mots\n{words}\n", "utf-8")
    s = open_searcher(build_index(corpus, tmp_path / "ix"))
    parsed = parse("ab*", s.schema, s.reader())
    assert len(set(parsed.query.iter_all_terms())) == MAX_EXPANSIONS
    assert ids(s, "ab*") == ["many.txt"]


def test_hits_sorted_by_date_still_carry_their_relevance(searcher):
    by_date = {h.id: h.score for h in search(searcher, SearchRequest(q="coeur", sort="date")).hits}
    by_relevance = {h.id: h.score for h in search(searcher, SearchRequest(q="coeur")).hits}
    assert by_date == by_relevance and all(0 < s < 100 for s in by_date.values())


def test_a_question_mark_does_not_swallow_the_last_word(searcher):
    # "?" is not a wildcard: "cœur?" must still search "cœur".
    assert ids(searcher, "Qui a greffé le cœur?")[0] == "coeur.txt"
    parsed = parse("Qui a greffé le cœur?", searcher.schema, searcher.reader())
    assert ("text", "coeur") in set(parsed.query.iter_all_terms())


def test_consecutive_words_found_together_rank_higher(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    # The shorter article would win on word counts alone.
    (corpus / "ensemble.txt").write_text(
        "Article A\nLa fête de Noël approche, et la ville se pare de lumières pour les enfants.\n", "utf-8"
    )
    (corpus / "separes.txt").write_text("Article B\nNoël approche ; la fête aussi.\n", "utf-8")
    s = open_searcher(build_index(corpus, tmp_path / "ix"))
    assert ids(s, "fête Noël") == ["ensemble.txt", "separes.txt"]


@pytest.mark.parametrize(
    "body, q, marked",
    [
        ("Les chevaux courent dans le pré.", "cheval", "chevaux"),
        ("Selon l'État, tout va bien.", "etat", "État"),
        ("Des Œuvres d'art volées.", "oeuvre", "Œuvres"),
        ("Il pleut aujourd'hui encore.", "aujourdhui", "aujourd'hui"),
        ("Les États-Unis et l'OTAN.", "unis", "Unis"),
        ("Le COVID-19 recule.", "19", "19"),
    ],
)
def test_snippets_mark_words_whatever_their_stem_or_parts(searcher, body, q, marked):
    """Snippets analyse only the words sharing a mark's first two letters (per
    part, folded): endings that stemming changes, elisions, ligatures and
    compounds are still marked."""
    from searchsvc.search.snippets import make_snippet, stems_to_mark

    parsed = parse(q, searcher.schema, searcher.reader())
    marks = stems_to_mark(parsed.highlight_terms(), searcher.schema)
    snippet = make_snippet(body, marks, searcher.schema["text"].analyzer)
    assert f"<mark>{marked}</mark>" in snippet.replace("&#x27;", "'")


def test_a_quoted_phrase_among_other_words_also_counts_its_words(tmp_path):
    # A pasted sentence with a quotation the article words differently.
    s = open_searcher(index_documents(tmp_path, [
        {"id": "cite.txt", "title": "Castaner", "body": "Christophe Castaner dénonce l'indécence, la bêtise et la haine."},
        {"id": "mot.txt", "title": "Patron", "body": "Le patron de la région parle de Castaner."},
        {"id": "exact.txt", "title": "Citation",
         "body": "Castaner a dénoncé « l'indécence, la haine et la bêtise » du patron."},
    ]))  # fmt: skip
    q = 'Castaner, le patron, a dénoncé "l\'indécence, la haine et la bêtise"'
    # The article with the phrase and every word first; the rewording next,
    # ahead of the article that only shares the ordinary words.
    assert ids(s, q) == ["exact.txt", "cite.txt", "mot.txt"]
    # A phrase alone stays strict, an excluded phrase excludes only itself,
    # and operators keep their operands as typed.
    assert ids(s, '"la haine et la bêtise"') == ["exact.txt"]
    assert set(ids(s, 'castaner -"la bêtise et la haine"')) == {"exact.txt", "mot.txt"}
    assert ids(s, 'patron "la bêtise et la haine" OR "haine et bêtise"') != []
    parsed = parse('région "la bêtise et la haine" OR "haine et bêtise"', s.schema, s.reader())
    assert not any(t == ("text", "betis") for t in parsed.query.iter_all_terms())


@pytest.mark.parametrize("q", ["baisse de -1,4 %", "-1,4 point de croissance"])
def test_a_minus_before_a_digit_is_a_negative_number_not_an_exclusion(tmp_path, q):
    s = open_searcher(
        index_documents(tmp_path, [{"id": "pib", "title": "Croissance", "body": "Une baisse de -1,4 point du PIB."}])
    )
    assert ids(s, q) == ["pib"]
    assert ids(s, "croissance -pib") == []


def test_a_long_query_keeps_its_rarest_words_not_its_first(tmp_path, monkeypatch):
    from searchsvc.search import bounds

    # Forty common words (each in every article), then the two that tell the article apart.
    common = [f"mot{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]
    filler = " ".join(common)
    s = open_searcher(index_documents(tmp_path, [
        {"id": "cible", "title": "Biraben", "body": f"{filler} Maïtena Biraben."},
        *({"id": f"autre-{i}", "title": "Autre", "body": f"{filler} autre {i}."} for i in range(5)),
    ]))  # fmt: skip
    q = f"{filler} Maïtena Biraben"
    parsed = parse(q, s.schema, s.reader())
    terms = {t for f, t in parsed.query.iter_all_terms() if f == "text"}
    assert {"maiten", "biraben"} <= terms and len(terms) <= 32
    assert parsed.notes == ["only 32 words of a query are searched: of a longer one, its rarest"]
    assert ids(s, q)[0] == "cible"
    monkeypatch.setattr(bounds, "RAREST_WORDS", False)  # the first 32 typed: the two are cut
    assert "biraben" not in {t for _, t in parse(q, s.schema, s.reader()).query.iter_all_terms()}
