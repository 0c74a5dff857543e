"""A database as a reindex SOURCE: the documents a SQL query returns (SQLite here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from searchsvc.errors import SourceError
from searchsvc.index import database
from searchsvc.index.database import source_name
from searchsvc.index.generations import current_generation
from searchsvc.index.reindex import reindex

from .builders import search_ids

QUERY = (
    "SELECT id, title, body, published AS date, section AS source, url, updated_at "
    "FROM articles WHERE status = 'published'"
)

ROWS = [
    (1, "La baguette au patrimoine", "Le pain français inscrit à l'Unesco.", "2022-11-30", "culture", None, "t1", "published"),
    (2, "Élection présidentielle", "Le second tour a lieu dimanche.", "2022-04-24", "politique", "https://example.org/2", "t1", "published"),
    (3, "Brouillon", "Pas encore publié.", None, None, None, "t1", "draft"),
    (4, "Le Tour de France", "Une étape de montagne.", "2022-07-14", "sport", None, "t1", "published"),
]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cms.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE articles (id INTEGER PRIMARY KEY, title TEXT, body TEXT, published TEXT, "
            "section TEXT, url TEXT, updated_at TEXT, status TEXT)"
        )
        conn.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    return path


def url(path) -> str:
    return f"sqlite:///{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_published_rows_are_indexed(db, tmp_path):
    index = tmp_path / "index"
    result = reindex([url(db)], index, sql=QUERY)
    assert (result.documents, result.added, result.problems) == (3, 3, [])
    assert search_ids(index, "baguette") == {"1"} and search_ids(index, "brouillon") == set()
    assert current_generation(index).manifest["sources"] == [url(db)]


def test_an_incremental_run_checks_only_the_rows_whose_change_column_moved(db, tmp_path, monkeypatch):
    index = tmp_path / "index"
    reindex([url(db)], index, sql=QUERY)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE articles SET title = 'La baguette et le croissant', updated_at = 't2' WHERE id = 1")
        conn.execute("DELETE FROM articles WHERE id = 2")
        conn.execute("INSERT INTO articles VALUES (5, 'Nouveau', 'Un article neuf.', NULL, NULL, NULL, 't2', 'published')")
    checked = []
    real = database.document_from_record
    monkeypatch.setattr(database, "document_from_record", lambda record, **kw: checked.append(record["id"]) or real(record, **kw))
    result = reindex([url(db)], index, sql=QUERY, incremental=True)
    assert (result.mode, result.added, result.updated, result.deleted, result.unchanged) == ("incremental", 1, 1, 1, 1)
    assert sorted(checked) == [1, 5]
    assert search_ids(index, "croissant") == {"1"} and search_ids(index, "election") == set()
    assert search_ids(index, "article") == {"5"}


def test_a_bad_row_is_skipped_with_its_number(db, tmp_path):
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE articles SET title = NULL WHERE id = 4")
    result = reindex([url(db)], tmp_path / "index", sql=QUERY)
    assert result.documents == 2
    assert [str(p) for p in result.problems] == [f"{url(db)}: row 3: missing 'title'"]


@pytest.mark.parametrize(
    "source, query, message",
    [
        ("nosuchdriver://host/db", QUERY, "not a database URL this installation can open"),
        ("sqlite:////nonexistent/folder/cms.sqlite", QUERY, "unable to open database file"),
        (None, "SELECT id, body FROM articles", "the query returns no 'title' column (it returns 'id', 'body')"),
        (None, "SELECT id, title FROM no_such_table", "no such table: no_such_table"),
    ],
)
def test_a_source_that_cannot_be_read_leaves_the_index_untouched(db, tmp_path, source, query, message):
    index = tmp_path / "index"
    reindex([url(db)], index, sql=QUERY)
    before = sorted(p.name for p in current_generation(index).path.iterdir())
    with pytest.raises(SourceError, match=re.escape(message)) as raised:
        reindex([source or url(db)], index, sql=query)
    assert raised.value.exit_code == 6
    generation = current_generation(index)
    assert generation.number == 1 and sorted(p.name for p in generation.path.iterdir()) == before
    assert [p.name for p in index.glob("gen-*")] == ["gen-000001"]


def test_the_command_line_reads_a_database(db, runner, tmp_path):
    args = ["reindex", url(db), "--sql", QUERY, "--index", str(tmp_path / "index"), "--json"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["documents"] == 3
    failed = runner.invoke(args=["reindex", url(db), "--sql", "SELECT headline FROM articles", "--index", str(tmp_path / "index")])
    assert failed.exit_code == 6 and "no such column: headline" in failed.output
    assert runner.invoke(args=["reindex", url(db), "--index", str(tmp_path / "i2")]).exit_code == 2  # no --sql
    assert runner.invoke(args=["reindex", str(db), "--sql", QUERY, "--index", str(tmp_path / "i3")]).exit_code == 2


def test_reports_and_manifests_never_show_the_password():
    assert source_name("postgresql://cms:s3cret@db.example.org:5432/news") == "postgresql://cms:***@db.example.org:5432/news"


# A real PostgreSQL server --------------------------------------------------


def _postgres_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own, on loopback, in a temporary folder:
    ``initdb``, ``pg_ctl start``, and stopped afterwards. Skipped where
    PostgreSQL is not installed, unless SEARCHSVC_REQUIRE_POSTGRES is set
    (CI installs it)."""
    initdb, pg_ctl = _postgres_program("initdb"), _postgres_program("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("SEARCHSVC_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL's initdb and pg_ctl are not installed")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="searchsvc-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: the server runs as postgres
        shutil.chown(folder, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    subprocess.run([*as_owner, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                    "--locale", "C"], check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w",
                    "start"], check=True, capture_output=True)  # fmt: skip
    try:
        import sqlalchemy

        admin = sqlalchemy.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sqlalchemy.text("CREATE DATABASE cms"))
        admin.dispose()
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/cms"
    finally:
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_full_and_incremental(postgres, tmp_path):
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            "CREATE TABLE articles (id integer PRIMARY KEY, title text, body text, published date, section text, "
            "url text, updated_at timestamptz NOT NULL DEFAULT now(), status text)"
        ))  # fmt: skip
        for row in ROWS:
            conn.execute(
                sqlalchemy.text("INSERT INTO articles (id, title, body, published, section, url, status) "
                                "VALUES (:i, :t, :b, :p, :s, :u, :st)"),
                dict(i=row[0], t=row[1], b=row[2], p=row[3], s=row[4], u=row[5], st=row[7]),
            )  # fmt: skip
    index = tmp_path / "index"
    result = reindex([postgres], index, sql=QUERY)
    assert (result.documents, result.problems) == (3, [])
    assert search_ids(index, "presidentielle") == {"2"}
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE articles SET body = 'Le pain et le croissant.', updated_at = now() WHERE id = 1"))
        conn.execute(sqlalchemy.text("UPDATE articles SET status = 'retracted' WHERE id = 4"))
    engine.dispose()
    result = reindex([postgres], index, sql=QUERY, incremental=True)
    assert (result.mode, result.updated, result.deleted, result.unchanged) == ("incremental", 1, 1, 1)
    assert search_ids(index, "croissant") == {"1"} and search_ids(index, "etape") == set()
    with current_generation(index).path.joinpath("manifest.json").open() as f:
        assert json.load(f)["sources"] == [postgres]


def test_a_refused_connection_is_a_clear_error(tmp_path):
    index = tmp_path / "index"
    with pytest.raises(SourceError, match="Connection refused|connection failed"):
        reindex([f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/cms"], index, sql=QUERY)
    assert current_generation(index) is None
