"""The synonyms file: its format and problems, and synonyms at query time
(equivalent and one way, multi-word, through the index's analysis, never for
excluded words, picked up without a reindex or a restart)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.search import parsing as querying
from searchsvc.search.limits import MAX_WORDS
from searchsvc.text.synonyms import SYNONYM_WEIGHT, Synonyms, load_synonyms, parse_line
from searchsvc.text.wordfiles import WatchedFile, default_path

from .builders import ReadOnlyFolder, index_documents, make_app, open_searcher, validate

ARTICLES = [
    ("otan", "Sommet de l'OTAN à Bruxelles", "Les dirigeants de l'OTAN se réunissent pour parler de défense."),
    ("nato", "Le sommet vu de Washington", "The NATO summit: NATO allies and NATO partners meet in Brussels."),
    ("otan-seule", "L'OTAN recrute", "L'OTAN ouvre un concours pour de jeunes ingénieurs en informatique."),
    ("ue", "L'UE adopte des sanctions", "L'UE a adopté un nouveau paquet de sanctions commerciales."),
    ("union", "Le budget européen", "L'Union européenne prépare son budget pour l'année prochaine."),
    ("bce", "La BCE relève ses taux", "La BCE a décidé de relever ses taux directeurs d'un quart de point."),
    ("banque", "Taux directeurs", "La Banque centrale européenne maintient ses taux inchangés."),
    ("dispersee", "Énergie", "Une banque européenne finance une centrale solaire en Espagne."),
    ("corona", "Épidémie", "Le coronavirus progresse dans plusieurs régions."),
    ("kiev", "Kiev sous les bombes", "Des explosions ont été entendues à Kiev cette nuit."),
    ("meteo", "La météo du jour", "Du soleil au nord, des orages au sud, un vent fort sur les côtes."),
    ("noel", "Le marché de Noël", "Le marché de Noël ouvre ses portes samedi sur la place centrale."),
    ("rugby", "Rugby : victoire à domicile", "L'équipe a remporté le match grâce à un essai en fin de partie."),
]

SYNONYMS = """\
# The test list
otan, nato          # equivalent
ue => union européenne
bce, banque centrale européenne
covid, coronavirus
kiev, kyiv
"""


@pytest.fixture(scope="module")
def news_index(tmp_path_factory) -> Iterator[Path]:
    """ARTICLES' index, built once: the tests only read it (each edits a synonyms file of its own)."""
    root = tmp_path_factory.mktemp("synonyms")
    documents = [{"id": doc_id, "title": title, "body": body} for doc_id, title, body in ARTICLES]
    index_dir = index_documents(root, documents, protected=())
    folder = ReadOnlyFolder(root)
    yield index_dir
    folder.check("during tests/test_synonyms.py")


@pytest.fixture
def synonyms_path(tmp_path: Path) -> Path:
    path = tmp_path / "synonyms.txt"
    path.write_text(SYNONYMS, "utf-8")
    return path


@pytest.fixture
def news_app(news_index: Path, synonyms_path: Path, query_log: Path):
    return make_app(news_index, query_log=query_log, SYNONYMS=str(synonyms_path), PROTECTED_WORDS="")


@pytest.fixture
def news(news_app):
    return news_app.test_client()


def ids(client, q: str, **params) -> list[str]:
    body = client.get("/api/search", query_string={"q": q, "per_page": 100, **params}).get_json()
    return [hit["id"] for hit in body["hits"]]


def expanded(client, q: str) -> list[dict]:
    return client.get("/api/search", query_string={"q": q}).get_json()["expanded"]


# --------------------------------------------------------------------------
# The file


def test_the_file_format_and_its_problems_with_line_numbers(tmp_path):
    path = tmp_path / "synonyms.txt"
    path.write_text(
        "# a comment\n"  # 1
        "\n"  # 2
        "otan, nato  # equivalent, with a comment after\n"  # 3
        "=> x\n"  # 4
        "a =>\n"  # 5
        "a => b => c\n"  # 6
        "sncf\n"  # 7
        "a,, b\n"  # 8
        "a, b,\n"  # 9
        "le, la\n"  # 10: stop words only
        "ue => union   européenne, UE\n"  # 11
        "   \t\n"  # 12
        "nations unies, onu\n",  # 13
        "utf-8",
    )
    synonyms = load_synonyms(path)
    assert [(r.line, r.sources, r.targets) for r in synonyms.rules] == [
        (3, ("otan", "nato"), ("otan", "nato")),
        (11, ("ue",), ("union européenne", "UE")),
        (13, ("nations unies", "onu"), ("nations unies", "onu")),
    ]
    assert [r.equivalent for r in synonyms.rules] == [True, False, True]
    problems = {p.line: p.message for p in synonyms.problems}
    assert sorted(problems) == [4, 5, 6, 7, 8, 9, 10]
    assert "nothing before =>" in problems[4]
    assert "nothing after =>" in problems[5]
    assert "more than one =>" in problems[6]
    assert "one entry alone" in problems[7]
    assert "empty entry" in problems[8] and "empty entry" in problems[9]
    assert "only stop words" in problems[10]
    assert all(p.message.endswith("line ignored") for p in synonyms.problems)
    assert str(synonyms.problems[0]) == f"{path}:4: nothing before =>; line ignored"


def test_the_problems_are_logged_once_per_load(tmp_path, caplog):
    path = tmp_path / "synonyms.txt"
    path.write_text("otan, nato\nsncf\n", "utf-8")
    with caplog.at_level("WARNING"):
        load_synonyms(path)
    assert [r.getMessage() for r in caplog.records] == [f"synonyms: {path}:2: " + parse_error("sncf") + "; line ignored"]


def parse_error(line: str) -> str:
    with pytest.raises(ValueError) as e:
        parse_line(line)
    return str(e.value)


def test_a_missing_file_is_no_synonyms_and_no_problem(tmp_path):
    synonyms = load_synonyms(tmp_path / "none.txt")
    assert not synonyms and synonyms.problems == () and synonyms.version == ""
    assert not load_synonyms(None) and not load_synonyms("")


def test_an_undecodable_or_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("otan, nato\nétats-unis, usa\n".encode("latin-1"))
    synonyms = load_synonyms(path)
    assert not synonyms
    assert [(p.line, "not UTF-8" in p.message) for p in synonyms.problems] == [(2, True)]
    folder = tmp_path / "a-folder"
    folder.mkdir()
    synonyms = load_synonyms(folder)
    assert not synonyms and synonyms.problems[0].line is None and "cannot be read" in synonyms.problems[0].message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab é,=>#-'\t", max_size=12), max_size=8))
def test_no_line_makes_the_parser_raise(lines):
    from searchsvc.text.synonyms import parse_synonyms

    rules, problems = parse_synonyms(enumerate(lines, start=1))
    assert len(rules) + len(problems) == len(lines)


def test_the_shipped_list_is_clean_and_useful():
    synonyms = load_synonyms(default_path("synonyms.txt"))
    assert synonyms.problems == ()
    assert 30 <= len(synonyms.rules) <= 60
    assert any(r.sources == ("ue",) and r.targets == ("union européenne",) for r in synonyms.rules)


# --------------------------------------------------------------------------
# At query time


def test_equivalent_words_find_each_other(news):
    assert {"otan", "nato", "otan-seule"} <= set(ids(news, "otan"))
    assert {"otan", "nato", "otan-seule"} <= set(ids(news, "nato"))
    assert expanded(news, "otan") == [{"from": "otan", "to": ["nato"]}]
    assert expanded(news, "NATO") == [{"from": "NATO", "to": ["otan"]}]


def test_one_way_synonyms_go_one_way(news):
    assert {"ue", "union"} <= set(ids(news, "ue"))
    assert expanded(news, "ue") == [{"from": "ue", "to": ["union européenne"]}]
    assert "ue" not in ids(news, "union européenne")
    assert expanded(news, "union européenne") == []


@pytest.mark.parametrize(
    "typed", ["Banque Centrale Européenne", "banque centrale europeenne", "banques centrales européennes"]
)
def test_a_multi_word_entry_matches_consecutive_words_through_the_analysis(news, typed):
    found = ids(news, typed)
    assert {"banque", "bce"} <= set(found)
    assert expanded(news, typed) == [{"from": typed, "to": ["bce"]}]
    assert expanded(news, f"taux {typed} hausse") == [{"from": typed, "to": ["bce"]}]
    assert expanded(news, "banque européenne centrale") == []  # not consecutive in that order


def test_a_multi_word_synonym_is_searched_as_a_phrase(news):
    found = ids(news, "BCE")
    assert {"bce", "banque"} <= set(found)
    assert "dispersee" not in found  # banque, centrale, européenne far apart
    assert expanded(news, "BCE") == [{"from": "BCE", "to": ["banque centrale européenne"]}]


@pytest.mark.parametrize(
    "q", ["sommet -otan", "sommet NOT otan", '"otan"', "otan*", "title:otan", "otan~", "sommet -(otan ue)"]
)
def test_excluded_words_and_syntax_are_left_as_typed(news, q):
    assert expanded(news, q) == []


def test_an_excluded_word_excludes_only_itself(news):
    found = ids(news, "sommet -otan")
    assert "nato" in found and "otan" not in found


def test_the_words_typed_rank_above_their_synonyms(news):
    assert ids(news, "otan")[:2] in (["otan", "otan-seule"], ["otan-seule", "otan"])
    assert ids(news, "otan").index("nato") == 2  # three NATOs in a short article: still below
    assert ids(news, "nato")[0] == "nato"
    assert ids(news, "coronavirus")[0] == "corona"


def test_a_word_and_its_synonym_count_as_one_word_of_the_query(news):
    # "All the words first": the article with « sommet » and « NATO » holds
    # every word of « sommet otan », the one with « OTAN » alone does not.
    found = ids(news, "sommet otan")
    assert found.index("nato") < found.index("otan-seule")


def test_synonyms_are_highlighted(news):
    body = news.get("/api/search?q=otan&per_page=100").get_json()
    nato = next(hit for hit in body["hits"] if hit["id"] == "nato")
    assert "<mark>NATO</mark>" in nato["snippet"]


def test_a_word_with_synonyms_is_not_taken_for_a_typo(news):
    body = news.get("/api/search?q=kyiv").get_json()  # in no article
    assert [hit["id"] for hit in body["hits"]] == ["kiev"]
    assert body["expanded"] == [{"from": "kyiv", "to": ["kiev"]}]
    assert body["suggestion"] is None


def test_synonyms_never_push_a_typed_word_out_of_the_query(news_index, synonyms_path):
    searcher = open_searcher(news_index)
    synonyms = load_synonyms(synonyms_path)
    fillers = [f"mot{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(MAX_WORDS - 1)]
    parsed = querying.parse(" ".join([*fillers, "otan"]), searcher.schema, searcher.reader(), synonyms)
    assert parsed.expanded == []
    assert ("text", "otan") in {(f, t) for f, t in parsed.query.iter_all_terms()}
    parsed = querying.parse(" ".join([*fillers[:10], "otan"]), searcher.schema, searcher.reader(), synonyms)
    assert [e.to_dict() for e in parsed.expanded] == [{"from": "otan", "to": ["nato"]}]


def test_a_synonym_weighs_less_than_the_word_typed(news_index, synonyms_path):
    searcher = open_searcher(news_index)
    parsed = querying.parse("nato", searcher.schema, searcher.reader(), load_synonyms(synonyms_path))
    boosts = {(leaf.fieldname, leaf.text): leaf.boost for leaf in parsed.query.leaves()}
    assert boosts[("text", "nato")] == 1.0
    assert 0 < boosts[("text", "otan")] <= SYNONYM_WEIGHT


def test_no_synonyms_is_the_plain_search(news_index):
    searcher = open_searcher(news_index)
    plain = querying.parse("otan", searcher.schema, searcher.reader())
    empty = querying.parse("otan", searcher.schema, searcher.reader(), Synonyms())
    assert plain.query == empty.query and plain.expanded == empty.expanded == []


# --------------------------------------------------------------------------
# The contract: JSON, page, health, CLI


def test_expanded_matches_the_openapi_description(news):
    openapi = news.get("/api/openapi.json").get_json()
    for q in ("otan", "BCE", "etats unis", "sommet -otan"):
        validate(openapi, "/api/search", 200, news.get("/api/search", query_string={"q": q}).get_json())
    assert "expanded" in openapi["components"]["schemas"]["SearchResult"]["required"]


def test_the_page_says_what_was_also_searched(news):
    html = news.get("/?q=otan").get_data(as_text=True)
    assert "Également recherché : nato" in html
    assert "Également recherché" not in news.get("/?q=rugby").get_data(as_text=True)


def test_an_edited_file_is_used_without_reindex_restart_or_stale_cache(news, synonyms_path, monkeypatch):
    monkeypatch.setattr(WatchedFile, "CHECK_EVERY", 0.0)
    synonyms_path.write_text("ue => union européenne\n", "utf-8")
    assert ids(news, "nato") == ["nato"]  # computed, and now in the result cache
    synonyms_path.write_text("ue => union européenne\notan, nato\n", "utf-8")
    assert set(ids(news, "nato")) == {"nato", "otan", "otan-seule"}  # not the cached page
    assert expanded(news, "nato") == [{"from": "nato", "to": ["otan"]}]
    synonyms_path.write_text("ue => union européenne\notan, nato =>\n", "utf-8")
    assert ids(news, "nato") == ["nato"]
    health = news.get("/api/health").get_json()
    assert health["status"] == "ok"  # a bad line is not a broken service
    assert health["synonyms"]["entries"] == 1
    assert health["synonyms"]["problems"] == [{"line": 2, "message": "nothing after =>; line ignored"}]
    validate(news.get("/api/openapi.json").get_json(), "/api/health", 200, health)
    synonyms_path.unlink()
    assert expanded(news, "ue") == []
    assert news.get("/api/health").get_json()["synonyms"] == {"entries": 0, "problems": []}


def test_the_file_is_checked_at_most_once_a_second(tmp_path, monkeypatch):
    path = tmp_path / "words.txt"
    path.write_text("a, b\n", "utf-8")
    loads = []
    watched = WatchedFile(path, lambda p: loads.append(p) or len(loads))
    stats = []
    stamp = watched._file_stamp
    monkeypatch.setattr(watched, "_file_stamp", lambda: stats.append(1) or stamp())
    assert [watched.current() for _ in range(100)] == [1] * 100
    assert len(loads) == 1 and len(stats) == 1
    path.write_text("a, b, c\n", "utf-8")
    assert watched.current() == 1  # within the second: not even a stat
    monkeypatch.setattr(WatchedFile, "CHECK_EVERY", 0.0)
    watched._next_check = 0.0  # the second is up
    assert watched.current() == 2 and len(stats) == 2
    assert watched.current() == 2 and len(loads) == 2 and len(stats) == 3  # unchanged: a stat, no load
    path.write_text("a, b\n", "utf-8")
    assert watched.current() == 3


def test_cli_lists_the_groups_and_checks_the_file(news_app, synonyms_path):
    runner = news_app.test_cli_runner()
    result = runner.invoke(args=["synonyms"])
    assert result.exit_code == 0, result.output
    assert f"{synonyms_path}: 5 groups" in result.output
    assert "otan, nato" in result.output and "ue => union européenne" in result.output
    assert runner.invoke(args=["synonyms", "--check"]).exit_code == 0
    synonyms_path.write_text(SYNONYMS + "=> x\nsncf\n", "utf-8")
    result = runner.invoke(args=["synonyms", "--check"])
    assert result.exit_code == 1
    assert f"{synonyms_path}:7: nothing before =>; line ignored" in result.output
    assert f"{synonyms_path}:8: one entry alone" in result.output
    data = json.loads(runner.invoke(args=["synonyms", "--json"]).output)
    assert [p["line"] for p in data["problems"]] == [7, 8] and len(data["groups"]) == 5
