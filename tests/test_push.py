"""Documents pushed and retracted over HTTP (``/api/documents``): the token,
the body's checks, durability before the answer, visibility, retraction from
every answer, and what reindexes from files do with them."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from searchsvc.index import applier as applier_module
from searchsvc.index import merging
from searchsvc.index.applier import apply_pending, journal_seq
from searchsvc.index.documents import Document
from searchsvc.index.generations import current_generation
from searchsvc.index.journal import PUSHED, Journal
from searchsvc.index.push import MAX_BODY_BYTES
from searchsvc.index.reindex import reindex
from searchsvc.search.lookup import indexed_document

from .builders import make_app, open_searcher, write_jsonl

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

ZORGLUB = {
    "id": "breaking-1",
    "title": "Zorglub élu maire de Marseille",
    "body": "Le candidat Zorglub a remporté l'élection municipale dimanche soir.",
    "date": "2026-12-07",
    "source": "Fil info",
    "url": "https://example.org/breaking-1",
}


@pytest.fixture
def push_app(fresh_index: Path, corpus: Path):
    return make_app(fresh_index, query_log="off", SOURCE_DIR=str(corpus), ADMIN_TOKEN=TOKEN)


@pytest.fixture
def client(push_app):
    return push_app.test_client()


def applied(app) -> None:
    """Apply what is pending now (the worker's thread may be doing it too: the lock decides)."""
    app.extensions["searchsvc.applier"].drain()


def hits(client, q: str, **params) -> list[str]:
    data = client.get("/api/search", query_string={"q": q, **params}).get_json()
    return [hit["id"] for hit in data["hits"]]


def put(client, documents, headers=AUTH, **kwargs):
    return client.put("/api/documents", json=documents, headers=headers, **kwargs)


# -- who may push ------------------------------------------------------------


def test_without_a_token_configured_the_endpoints_do_not_exist(fresh_index):
    client = make_app(fresh_index, query_log="off").test_client()
    for response in (
        put(client, [ZORGLUB]),
        client.get("/api/documents/breaking-1", headers=AUTH),
        client.delete("/api/documents/breaking-1", headers=AUTH),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert not Journal(fresh_index).exists()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"},
                                     {"Authorization": TOKEN}])  # fmt: skip
def test_a_missing_or_wrong_token_is_a_401_and_records_nothing(client, fresh_index, headers):
    for response in (put(client, [ZORGLUB], headers=headers),
                     client.delete("/api/documents/x", headers=headers),
                     client.get("/api/documents/x", headers=headers)):  # fmt: skip
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert Journal(fresh_index).last_seq() == 0


# -- the body ----------------------------------------------------------------


def test_each_document_is_accepted_or_refused_with_the_reindex_reasons(client, fresh_index):
    response = put(client, [ZORGLUB, {"id": "no-title"}, {"title": "Sans id"}, "texte", {**ZORGLUB, "title": "Bis"},
                            {"id": "d", "title": "Daté", "date": "hier"}])  # fmt: skip
    assert response.status_code == 202
    data = response.get_json()
    assert data["accepted"] == ["breaking-1", "d"]
    assert data["refused"] == [
        {"position": 2, "id": "no-title", "reason": "missing 'title'"},
        {"position": 3, "id": None, "reason": "missing 'id'"},
        {"position": 4, "id": None, "reason": "expected a JSON object, got str"},
        {"position": 5, "id": "breaking-1", "reason": "duplicate id 'breaking-1' (first at position 1); skipped"},
    ]
    assert "ISO date" in data["warnings"][0]["reason"] and data["warnings"][0]["id"] == "d"
    # Durable before the answer: another process's journal already holds it.
    assert [c.id for c in Journal(fresh_index).changes_after(0)] == ["breaking-1", "d"]
    assert data["sequence"] == Journal(fresh_index).last_seq()


def test_json_lines_are_read_too(client):
    body = "\n".join(json.dumps(d, ensure_ascii=False) for d in [ZORGLUB, {"id": "x"}]) + "\n\n{not json\n"
    response = client.put("/api/documents", data=body.encode(), content_type="application/x-ndjson", headers=AUTH)
    assert response.status_code == 202
    data = response.get_json()
    assert data["accepted"] == ["breaking-1"]
    assert [(r["position"], r["reason"][:14]) for r in data["refused"]] == [(2, "missing 'title"), (4, "invalid JSON: ")]


def test_a_body_nothing_in_which_is_accepted_is_a_422(client, fresh_index):
    response = put(client, [{"id": "x"}])
    assert response.status_code == 422
    assert response.get_json()["refused"][0]["reason"] == "missing 'title'"
    assert Journal(fresh_index).last_seq() == 0


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"[]", "application/json", 400, "bad_request"),
        (b"{oops", "application/json", 400, "bad_request"),
        (b'"a string"', "application/json", 400, "bad_request"),
        (b"\xff\xfe", "application/json", 400, "bad_request"),
        (b"id,title\n1,x", "text/csv", 415, "unsupported_media_type"),
        (b"[]", None, 415, "unsupported_media_type"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_whole(client, data, content_type, status, code):
    response = client.put("/api/documents", data=data, content_type=content_type, headers=AUTH)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_a_body_over_10_mb_is_a_413(client, fresh_index):
    big = [{"id": "big", "title": "Gros", "body": "x" * (MAX_BODY_BYTES + 10)}]
    response = put(client, big)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert Journal(fresh_index).last_seq() == 0


# -- visible, replaced, retracted --------------------------------------------


def test_a_pushed_document_is_searchable_and_replaces_the_one_with_its_id(push_app, client):
    assert put(client, [ZORGLUB]).status_code == 202
    applied(push_app)
    assert hits(client, "zorglub marseille") == ["breaking-1"]
    got = client.get("/api/documents/breaking-1", headers=AUTH).get_json()
    assert got["document"] == ZORGLUB and got["pending"] is None

    put(client, [{**ZORGLUB, "title": "Zorglub battu à Lyon", "body": "Défaite au second tour."}])
    applied(push_app)
    assert hits(client, "zorglub lyon")[0] == "breaking-1"
    assert hits(client, "marseille") == []
    # It also replaces a document that came from the files.
    put(client, [{"id": "hamlet", "title": "Hamlet, nouvelle mise en scène", "body": "Au théâtre de l'Odéon."}])
    applied(push_app)
    assert hits(client, "odeon") == ["hamlet"]
    assert hits(client, "question") == []


def test_get_says_when_a_change_is_pending(push_app, client, fresh_index):
    Journal(fresh_index).record([Document(**ZORGLUB)])  # recorded, not applied yet
    live = push_app.extensions["searchsvc.index"]
    live.refresh()
    response = client.get("/api/documents/breaking-1", headers=AUTH)
    # Either the worker's thread applied it already, or it says it is pending.
    if response.status_code == 404:
        assert "a push is pending" in response.get_json()["error"]["message"]
    applied(push_app)
    assert client.get("/api/documents/breaking-1", headers=AUTH).get_json()["pending"] is None


def test_a_retracted_article_is_gone_from_every_answer_and_cache(fresh_index):
    app = make_app(fresh_index, query_log="off", ADMIN_TOKEN=TOKEN, QUERY_CACHE=100)
    client = app.test_client()
    put(client, [ZORGLUB])
    applied(app)
    # Every answer shows it, and the result page is cached.
    assert hits(client, "zorglub") == ["breaking-1"]
    facets = client.get("/api/search?q=zorglub").get_json()["facets"]
    assert {"value": "Fil info", "count": 1, "selected": False} in facets["source"]
    suggestions = client.get("/api/suggest?q=zorgl").get_json()["suggestions"]
    assert {"kind": "title", "text": ZORGLUB["title"], "id": "breaking-1"} in suggestions
    assert any(s["kind"] == "word" and s["text"].lower() == "zorglub" for s in suggestions), suggestions
    assert client.get("/api/search?q=zorglubb").get_json()["suggestion"] == "Zorglub"

    response = client.delete("/api/documents/breaking-1", headers=AUTH)
    assert response.status_code == 202 and response.get_json()["retracted"] == "breaking-1"
    applied(app)
    page = client.get("/api/search?q=zorglub").get_json()
    assert page["hits"] == [] and page["total"] == 0
    assert all(f["value"] != "Fil info" for f in page["facets"]["source"])
    assert client.get("/api/suggest?q=zorgl").get_json()["suggestions"] == []
    assert client.get("/api/search?q=zorglubb").get_json()["suggestion"] is None
    assert "Zorglub" not in client.get("/?q=marseille+maire").get_data(as_text=True)
    assert client.get("/api/documents/breaking-1", headers=AUTH).status_code == 404


def test_changes_recorded_before_a_restart_are_applied_when_the_service_starts(fresh_index):
    # What a kill -9 right after the 202 leaves: the journal holds it, no generation does.
    Journal(fresh_index).record([Document(**ZORGLUB)], retracted=["hamlet"])
    client = make_app(fresh_index, query_log="off").test_client()  # no token needed to apply
    deadline = time.monotonic() + 20
    while hits(client, "zorglub") != ["breaking-1"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hits(client, "zorglub") == ["breaking-1"]
    assert hits(client, "hamlet") == []


def test_a_step_that_fails_leaves_its_changes_pending(fresh_index, monkeypatch):
    journal = Journal(fresh_index)
    journal.record([Document(**ZORGLUB)])

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(applier_module.generations, "publish", disk_full)
    with pytest.raises(Exception, match="disk is full"):
        apply_pending(fresh_index, journal)
    assert current_generation(fresh_index).number == 1
    assert sorted(p.name for p in fresh_index.glob("gen-*")) == ["gen-000001"]
    monkeypatch.undo()
    result = apply_pending(fresh_index, journal)
    assert result is not None and result.written == 1
    assert journal_seq(current_generation(fresh_index)) == journal.last_seq()
    assert apply_pending(fresh_index, journal) is None  # nothing pending any more


def segment_sizes(index_dir: Path) -> list[int]:
    from whoosh import index as whoosh_index

    return [s.doc_count_all() for s in whoosh_index.open_dir(str(current_generation(index_dir).path))._segments()]


def pushed_one_at_a_time(index_dir: Path, n: int) -> Journal:
    """``n`` articles pushed, each applied in a step of its own (a segment each)."""
    journal = Journal(index_dir)
    for i in range(n):
        journal.record([Document(id=f"p{i}", title=f"Dépêche {i}", body="Le gouvernement annonce.")])
        apply_pending(index_dir, journal, keep=2)
    return journal


def test_steps_are_merged_in_the_background_and_the_journal_stays_short(fresh_index, monkeypatch):
    monkeypatch.setattr(applier_module.generations, "GRACE_SECONDS", 0.0)
    journal = pushed_one_at_a_time(fresh_index, 20)
    assert len(segment_sizes(fresh_index)) == 21  # a step never folds: it stays short
    # Changes every kept generation holds are forgotten.
    assert [c.id for c in journal.changes_after(0)] == ["p19"]
    assert sorted(p.name for p in fresh_index.glob("gen-*")) == ["gen-000020", "gen-000021"]
    assert merging.pending_merge(fresh_index)
    merged = merging.merge_small_segments(fresh_index)
    assert merged is not None and merged.documents == 16 and merged.segments == 16  # the 16 smallest
    assert sorted(segment_sizes(fresh_index)) == [1, 1, 1, 1, 7, 16]
    assert not merging.pending_merge(fresh_index)
    assert current_generation(fresh_index).manifest["mode"] == "merge"
    searcher = open_searcher(fresh_index)
    assert all(indexed_document(searcher, f"p{n}") is not None for n in range(20))
    assert not list(fresh_index.glob("merge-*.tmp"))


def test_a_merge_deletes_what_was_replaced_or_retracted_while_it_was_built(fresh_index, monkeypatch):
    journal = pushed_one_at_a_time(fresh_index, 9)
    commit = merging._commit

    def meanwhile(*args, **kwargs):
        journal.record([Document(id="p1", title="Dépêche corrigée", body="Rectificatif.")], retracted=["p2"])
        apply_pending(fresh_index, journal)
        return commit(*args, **kwargs)

    monkeypatch.setattr(merging, "_commit", meanwhile)
    assert merging.merge_small_segments(fresh_index) is not None
    searcher = open_searcher(fresh_index)
    assert indexed_document(searcher, "p1").title == "Dépêche corrigée"
    assert indexed_document(searcher, "p2") is None
    assert [d["id"] for d in searcher.documents() if d["id"] == "p1"] == ["p1"]
    assert current_generation(fresh_index).documents == 7 + 9 - 1


def test_a_merge_overtaken_by_a_reindex_is_dropped(fresh_index, corpus, monkeypatch):
    pushed_one_at_a_time(fresh_index, 9)
    commit = merging._commit

    def meanwhile(*args, **kwargs):
        reindex([corpus], fresh_index)  # every segment rewritten
        return commit(*args, **kwargs)

    monkeypatch.setattr(merging, "_commit", meanwhile)
    assert merging.merge_small_segments(fresh_index) is None
    assert current_generation(fresh_index).manifest["mode"] == "full"
    assert indexed_document(open_searcher(fresh_index), "p8") is not None  # kept by the reindex


# -- reindexes from files ----------------------------------------------------


def test_a_reindex_from_files_keeps_pushed_documents_and_leaves_retracted_ones_out(fresh_index, corpus):
    journal = Journal(fresh_index)
    journal.record([Document(**ZORGLUB)], retracted=["hamlet"])
    apply_pending(fresh_index, journal)
    for incremental in (False, True, False):
        result = reindex([corpus], fresh_index, incremental=incremental)
        assert result.pushed == 1
        withheld = [p for p in result.problems if "retracted over the API" in p.reason]
        assert [p.path for p in withheld] == ["extra.jsonl"]
        searcher = open_searcher(fresh_index)
        assert indexed_document(searcher, "breaking-1") == Document(**ZORGLUB)
        assert indexed_document(searcher, "hamlet") is None
    # The sources win over a pushed document with the same id…
    write_jsonl(corpus / "more.jsonl", [{**ZORGLUB, "title": "Zorglub, version du CMS"}])
    result = reindex([corpus], fresh_index, incremental=True)
    assert result.pushed == 0
    assert indexed_document(open_searcher(fresh_index), "breaking-1").title == "Zorglub, version du CMS"
    # …and pushing a retracted id again lifts the retraction.
    journal.record([Document(id="hamlet", title="Hamlet revient", body="Reprise.")])
    apply_pending(fresh_index, journal)
    reindex([corpus], fresh_index)
    assert indexed_document(open_searcher(fresh_index), "hamlet").title.startswith("Théâtre")


def test_pushes_received_during_a_reindex_are_applied_after_it(fresh_index, corpus):
    journal = Journal(fresh_index)
    journal.record([Document(**ZORGLUB)])
    reindex([corpus], fresh_index)  # it ran while the push was pending
    generation = current_generation(fresh_index)
    assert journal_seq(generation) == 0
    assert indexed_document(open_searcher(fresh_index), "breaking-1") is None
    apply_pending(fresh_index, journal)
    assert indexed_document(open_searcher(fresh_index), "breaking-1") is not None


def test_the_catalog_records_pushed_documents_as_pushed(fresh_index):
    from searchsvc.index.catalog import Catalog

    journal = Journal(fresh_index)
    journal.record([Document(**ZORGLUB), Document(id="hamlet", title="Hamlet", body="x")], retracted=["porte"])
    apply_pending(fresh_index, journal)
    catalog = Catalog.open(current_generation(fresh_index).path)
    assert catalog.get("breaking-1")[1] == PUSHED
    assert catalog.get("hamlet")[1] == PUSHED
    assert catalog.get("porte") is None
    assert len(catalog) == current_generation(fresh_index).documents == 7


def test_the_answers_match_the_openapi_description(push_app, client):
    from .builders import validate

    openapi = client.get("/api/openapi.json").get_json()
    response = put(client, [ZORGLUB, {"id": "x"}, {"id": "d", "title": "Daté", "date": "hier"}])
    validate(openapi, "/api/documents", 202, response.get_json(), "put")
    validate(openapi, "/api/documents", 422, put(client, [{"id": "x"}]).get_json(), "put")
    for data, content_type, status in [(b"{", "application/json", 400), (b"[]", "text/csv", 415)]:
        response = client.put("/api/documents", data=data, content_type=content_type, headers=AUTH)
        validate(openapi, "/api/documents", status, response.get_json(), "put")
    validate(openapi, "/api/documents", 401, put(client, [ZORGLUB], headers={}).get_json(), "put")
    applied(push_app)
    validate(openapi, "/api/documents/{id}", 200, client.get("/api/documents/breaking-1", headers=AUTH).get_json())
    response = client.delete("/api/documents/breaking-1", headers=AUTH)
    validate(openapi, "/api/documents/{id}", 202, response.get_json(), "delete")
    applied(push_app)
    response = client.get("/api/documents/breaking-1", headers=AUTH)
    validate(openapi, "/api/documents/{id}", 404, response.get_json())


def test_an_id_with_slashes_is_one_path(push_app, client):
    put(client, [{"id": "2026/12/breve.txt", "title": "Brève", "body": "Une brève."}])
    applied(push_app)
    assert client.get("/api/documents/2026/12/breve.txt", headers=AUTH).get_json()["document"]["title"] == "Brève"
    assert client.delete("/api/documents/2026%2F12%2Fbreve.txt", headers=AUTH).get_json()["retracted"] == "2026/12/breve.txt"


def test_health_says_what_is_pending_and_when_it_is_late(push_app, client, fresh_index, monkeypatch):
    from searchsvc.web import views

    assert "pushes" not in client.get("/api/health").get_json()  # nothing ever pushed
    put(client, [ZORGLUB])
    applied(push_app)
    assert client.get("/api/health").get_json()["pushes"] == {"pending": 0, "oldest_seconds": 0.0}
    # Changes that cannot be applied (the lock held by a reindex that never ends):
    from searchsvc.index.lock import reindex_lock

    with reindex_lock(fresh_index):
        Journal(fresh_index).record(retracted=["hamlet"])
        monkeypatch.setattr(views, "PUSHES_LATE_SECONDS", -1.0)
        body = client.get("/api/health").get_json()
    assert body["pushes"]["pending"] == 1
    assert body["status"] == "degraded" and "1 pushed changes are not applied" in body["problem"]


def test_the_service_applies_pushes_in_a_process_of_its_own(fresh_index):
    """What gunicorn's workers do (the tests' apps use threads): a spawned
    process applies the push, and ends with the worker."""
    app = make_app(fresh_index, query_log="off", ADMIN_TOKEN=TOKEN)
    applier = app.extensions["searchsvc.applier"]
    applier.in_process = False
    client = app.test_client()
    assert put(client, [ZORGLUB]).status_code == 202
    assert applier._process is not None and applier._process.is_alive()
    deadline = time.monotonic() + 30  # a fresh interpreter starts first
    while hits(client, "zorglub") != ["breaking-1"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hits(client, "zorglub") == ["breaking-1"]
    applier._process.terminate()
    applier._process.join(10)


def test_generations_replaced_a_moment_ago_are_kept_a_few_at_most(fresh_index):
    from searchsvc.index import generations

    journal = Journal(fresh_index)
    for n in range(generations.GRACE_MAX + 6):
        journal.record([Document(id=f"p{n}", title=f"Dépêche {n}", body="Texte.")])
        apply_pending(fresh_index, journal, keep=2)
    # The current one, the one before (keep=2), and GRACE_MAX replaced within the minute.
    assert len(list(fresh_index.glob("gen-*"))) == 2 + generations.GRACE_MAX


def test_a_merge_survives_the_cleanup_of_the_generation_it_reads(fresh_index, monkeypatch):
    """Under heavy pushing the generation a merge reads is replaced, then
    removed, while the merge still reads it: the merge reads through links."""
    journal = pushed_one_at_a_time(fresh_index, 9)
    build = merging._build

    def meanwhile(ix, chosen, scratch):
        read = current_generation(fresh_index).path
        journal.record([Document(id="p-next", title="Dépêche suivante", body="Le gouvernement annonce.")])
        apply_pending(fresh_index, journal)
        shutil.rmtree(read)  # as the cleanup does, once enough pushes replaced it
        return build(ix, chosen, scratch)

    monkeypatch.setattr(merging, "_build", meanwhile)
    assert merging.merge_small_segments(fresh_index) is not None
    searcher = open_searcher(fresh_index)
    assert all(indexed_document(searcher, f"p{n}") is not None for n in range(9))
    assert indexed_document(searcher, "p-next") is not None
    assert not list(fresh_index.glob("merge-*.tmp"))
