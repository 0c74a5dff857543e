"""Wire copies: one story republished by several outlets appears once in the
results, with its other versions, and the groups follow every change."""

from __future__ import annotations

import numpy as np
import pytest

from searchsvc.index import copies, merging
from searchsvc.index.applier import apply_pending
from searchsvc.index.documents import Document
from searchsvc.index.generations import current_generation
from searchsvc.index.journal import Journal
from searchsvc.index.reindex import reindex
from searchsvc.search.searching import SearchRequest, search

from .builders import make_client, open_searcher, write_jsonl

STORY = (
    "Le conseil municipal de Grenoble a adopté jeudi soir le projet de téléphérique urbain qui doit relier "
    "la gare à la presqu'île scientifique d'ici trois ans. Le maire a défendu un équipement sobre, rapide et "
    "moins coûteux qu'une ligne de tramway. L'opposition a dénoncé un budget sous-estimé et demandé une "
    "consultation des habitants. Les travaux doivent commencer au printemps, après l'enquête publique."
)
#: The same dispatch, lightly edited by another outlet: a sentence added, a word changed.
EDITED = STORY.replace("jeudi soir", "jeudi") + " Le chantier emploiera une centaine de personnes."
OTHER = (
    "Le conseil municipal de Grenoble a débattu jeudi du budget des écoles et de la rénovation des gymnases. "
    "Les élus de la majorité ont présenté un plan d'investissement sur cinq ans, l'opposition réclamant "
    "davantage de moyens pour les cantines et la sécurité aux abords des établissements scolaires. Le vote "
    "définitif aura lieu le mois prochain, après une concertation avec les parents d'élèves."
)
ARTICLES = [
    {"id": "agence", "title": "Grenoble adopte son téléphérique", "date": "2024-03-01", "source": "Agence",
     "body": STORY},
    {"id": "quotidien", "title": "Un téléphérique pour Grenoble", "date": "2024-03-02", "source": "Le Quotidien",
     "body": EDITED},
    {"id": "hebdo", "title": "Téléphérique : le feu vert", "date": "2024-03-05", "source": "L'Hebdo",
     "body": STORY},
    {"id": "ecoles", "title": "Grenoble : le budget des écoles", "date": "2024-03-01", "source": "Agence",
     "body": OTHER},
    {"id": "court", "title": "Brève", "body": "Grenoble : une brève municipale."},
    {"id": "court-bis", "title": "Brève bis", "body": "Grenoble : une brève municipale."},
]  # fmt: skip


@pytest.fixture
def wire(tmp_path):
    write_jsonl(tmp_path / "corpus" / "articles.jsonl", ARTICLES)
    reindex([tmp_path / "corpus"], tmp_path / "index", procs=1)
    return tmp_path


def hits(searcher, q, **kwargs):
    return search(searcher, SearchRequest(q=q, **kwargs)).hits


def test_copies_are_grouped_and_distinct_or_short_articles_are_not():
    sigs = copies.signatures((a["body"], a["title"]) for a in ARTICLES)
    groups = copies.find_groups(sigs, np.ones(len(ARTICLES), dtype=bool))
    assert groups[0] == groups[1] == groups[2] >= 0
    assert groups[3] == -1  # the same council, the same day, another story
    assert groups[4] == groups[5] == -1  # too short to tell a copy from a template
    assert (copies.find_groups(sigs, np.array([True, False, True, True, True, True])) >= 0).sum() == 2


def test_boilerplate_about_another_subject_is_not_a_copy():
    """Wikipedia's census paragraph, word for word for two communes: their
    titles share no word, so they are two articles, not one story."""
    census = (
        "L'évolution du nombre d'habitants est connue à travers les recensements de la population effectués "
        "dans la commune depuis 1793. À partir de 2006, les populations légales des communes sont publiées "
        "annuellement par l'Insee. Le recensement repose désormais sur une collecte d'information annuelle, "
        "concernant successivement tous les territoires communaux au cours d'une période de cinq ans."
    )
    sigs = copies.signatures([(census, "Montrésor"), (census.replace("1793", "1881"), "Le Touquet-Paris-Plage"),
                              (census, "Commune de Montrésor")])  # fmt: skip
    groups = copies.find_groups(sigs, np.ones(3, dtype=bool))
    assert groups[0] == groups[2] >= 0 and groups[1] == -1


def test_a_story_appears_once_with_its_other_versions(wire):
    found = hits(open_searcher(wire / "index"), "téléphérique grenoble")
    ids = [h.id for h in found]
    assert len([i for i in ids if i in ("agence", "quotidien", "hebdo")]) == 1
    first = next(h for h in found if h.id in ("agence", "quotidien", "hebdo"))
    versions = {v["id"]: v for v in first.other_versions}
    assert set(versions) | {first.id} == {"agence", "quotidien", "hebdo"}
    assert all(set(v) == {"id", "title", "date", "source", "url"} for v in versions.values())
    page = search(open_searcher(wire / "index"), SearchRequest(q="téléphérique grenoble"))
    assert page.total == 6  # every article counts
    every = [h.id for h in hits(open_searcher(wire / "index"), "téléphérique grenoble", collapse=False)]
    assert {"agence", "quotidien", "hebdo"} <= set(every) and all(not h.other_versions for h in hits(
        open_searcher(wire / "index"), "téléphérique grenoble", collapse=False))


def test_a_page_is_filled_despite_the_copies_set_aside(wire):
    found = [h.id for h in hits(open_searcher(wire / "index"), "grenoble", per_page=3)]
    assert len(found) == 3 and len(set(found) & {"agence", "quotidien", "hebdo"}) == 1


def test_the_page_and_the_json_show_the_other_versions(wire):
    client = make_client(wire / "index", query_log="off")
    html = client.get("/?q=téléphérique").get_data(as_text=True)
    assert "2 autres versions" in html
    data = client.get("/api/search?q=téléphérique").get_json()
    assert len(data["hits"]) == 1 and len(data["hits"][0]["other_versions"]) == 2
    assert len(client.get("/api/search?q=téléphérique&collapse=false").get_json()["hits"]) == 3
    bad = client.get("/api/search?q=téléphérique&collapse=peut-être")
    assert bad.status_code == 400 and "collapse" in bad.get_json()["error"]["message"]


def test_incremental_reindexes_keep_the_groups_up_to_date(wire):
    corpus = wire / "corpus" / "articles.jsonl"
    changed = [a for a in ARTICLES if a["id"] != "hebdo"]
    changed += [
        {"id": "hebdo", "title": "Téléphérique", "body": OTHER.replace("Grenoble", "Annecy")},  # rewritten
        {"id": "radio", "title": "Le téléphérique voté", "source": "Radio", "body": EDITED},  # a new copy
    ]
    write_jsonl(corpus, changed)
    result = reindex([wire / "corpus"], wire / "index", incremental=True)
    assert result.mode == "incremental"
    first = hits(open_searcher(wire / "index"), "téléphérique grenoble")[0]
    assert {first.id, *(v["id"] for v in first.other_versions)} == {"agence", "quotidien", "radio"}


def test_pushed_copies_join_their_group_and_leave_it_when_retracted(wire):
    journal = Journal(wire / "index")
    journal.record([Document(id="web", title="Grenoble vote son téléphérique", body=STORY, source="Web")])
    apply_pending(wire / "index", journal)
    assert len(hits(open_searcher(wire / "index"), "téléphérique")) == 1
    journal.record([], retracted=["agence", "quotidien", "hebdo"])
    apply_pending(wire / "index", journal)
    only = hits(open_searcher(wire / "index"), "téléphérique")
    assert [h.id for h in only] == ["web"] and only[0].other_versions == []


def test_merged_segments_keep_their_signatures(wire, monkeypatch):
    journal = Journal(wire / "index")
    for i in range(9):
        journal.record([Document(id=f"copie-{i}", title=f"Téléphérique, reprise {i}", body=STORY)])
        apply_pending(wire / "index", journal)
    assert merging.merge_small_segments(wire / "index") is not None
    generation = current_generation(wire / "index")
    first = hits(open_searcher(wire / "index"), "téléphérique")[0]
    assert len(first.other_versions) == 11
    assert len(list(generation.path.glob("packed-*-minhash.npy"))) == len(list(generation.path.glob("packed-*.json")))


def test_a_merge_carries_the_groups_over_as_a_full_grouping_would_find_them(wire, monkeypatch):
    journal = Journal(wire / "index")
    for i in range(8):
        journal.record([
            Document(id=f"copie-{i}", title=f"Téléphérique, reprise {i}", body=STORY),
            Document(id=f"ecole-{i}", title=f"Les écoles, {i}", body=OTHER + f" Classe {i}."),
        ], retracted=["copie-1"] if i == 3 else [])  # fmt: skip
        apply_pending(wire / "index", journal)
    full_groupings = []
    real = copies.find_groups
    monkeypatch.setattr(copies, "find_groups", lambda *a: full_groupings.append(1) or real(*a))
    monkeypatch.setattr(merging, "MERGE_COUNT", 3)  # 6 of the 9 segments merged, 3 kept around them
    merged = merging.merge_small_segments(wire / "index")
    assert merged is not None and merged.segments == 6
    assert full_groupings == []  # carried over, not found again under the reindex lock
    path = current_generation(wire / "index").path
    carried = np.load(path / copies.GROUPS_FILE)
    with open_searcher(wire / "index").reader() as reader:
        layout, live = copies._layout(reader)
    assert same_partition(carried, real(copies._signatures_of(path, layout, 0, len(live)), live))
    assert len(hits(open_searcher(wire / "index"), "téléphérique")[0].other_versions) == 2 + 7


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two group arrays put the same documents together (labels aside)."""
    pairs_a = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    return (np.array_equal(a < 0, b < 0)
            and len({x for x, _ in pairs_a if x >= 0}) == len(pairs_a - {(-1, -1)})
            and len({y for _, y in pairs_a if y >= 0}) == len(pairs_a - {(-1, -1)}))  # fmt: skip


def test_a_push_extends_the_groups_as_a_full_grouping_would(wire):
    journal = Journal(wire / "index")
    steps = [
        ([Document(id="web", title="Grenoble : le téléphérique voté", body=STORY)], []),
        ([Document(id="radio", title="Téléphérique voté", body=EDITED),
          Document(id="autre", title="Les écoles de Grenoble", body=OTHER)], []),
        ([], ["agence"]),
        ([Document(id="quotidien", title="Budget des écoles", body=OTHER.replace("Grenoble", "Lyon"))], []),
    ]
    for documents, retracted in steps:
        journal.record(documents, retracted=retracted)
        apply_pending(wire / "index", journal)
        path = current_generation(wire / "index").path
        extended = np.load(path / copies.GROUPS_FILE)
        with open_searcher(wire / "index").reader() as reader:
            layout, live = copies._layout(reader)
        full = copies.find_groups(copies._signatures_of(path, layout, 0, len(live)), live)
        assert same_partition(extended, full)
    # hebdo, web and radio (the story); ecoles, autre and the corrected quotidien (the schools)
    assert (extended >= 0).sum() == 6 and len(set(extended[extended >= 0].tolist())) == 2


def test_other_versions_are_each_groups_other_members():
    from searchsvc.search.collapse import members_by_group, other_versions

    rng = np.random.default_rng(7)
    groups = np.where(rng.random(5_000) < 0.3, rng.integers(0, 400, 5_000), -1)
    members = members_by_group(groups)  # as the generation's arrays keep them
    for docnum in range(0, 5_000, 7):
        expected = [] if groups[docnum] < 0 else [
            int(d) for d in np.flatnonzero(groups == groups[docnum]) if d != docnum
        ]  # fmt: skip
        assert other_versions(docnum, groups, members) == expected
        assert other_versions(docnum, groups) == expected
