"""The query log: what is recorded (and what is not), its bound, its file shared
by processes and kept across restarts, failures that never reach a search, and
``searchsvc stats``."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from searchsvc.ops.querylog import QueryLog, resolve_path, stats
from searchsvc.text.normalize import fold_text as fold

from .builders import make_app

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0


def rows(path: Path, columns: str = "query, total, took_ms, page") -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT {columns} FROM searches ORDER BY id").fetchall()


def flushed(app) -> Path:
    query_log: QueryLog = app.extensions["searchsvc.querylog"]
    query_log.flush()
    return query_log.path


def test_each_search_is_recorded_with_nothing_about_the_reader(fresh_app, fresh_client, fresh_index):
    """Over an index of its own: the log is where the service puts it by default."""
    before = time.time()
    response = fresh_client.get(
        "/api/search?q=%20%20Universite%CC%81%20%20de%20%20Lyon%20",  # decomposed é, extra spaces
        headers={"User-Agent": "agent-secret/1.0", "Cookie": "session=cookie-secret", "Referer": "https://referer-secret/"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    body = response.get_json()
    assert fresh_client.get("/?q=coeur&page=1").status_code == 200
    path = flushed(fresh_app)
    assert path == fresh_index / "querylog.sqlite"
    with sqlite3.connect(path) as conn:
        columns = [c[1] for c in conn.execute("PRAGMA table_info(searches)")]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert columns == ["id", "ts", "query", "folded", "total", "took_ms", "page"]
    (first, second) = rows(path, "query, folded, total, took_ms, page, ts")
    assert first[:5] == ("Université de Lyon", "universite de lyon", body["total"], body["took_ms"], 1)
    assert before <= first[5] <= time.time()
    assert second[0] == "coeur" and second[2] == 2
    stored = b"".join(p.read_bytes() for p in fresh_index.glob("querylog.sqlite*"))
    for secret in (b"203.0.113.77", b"agent-secret", b"cookie-secret", b"referer-secret"):
        assert secret not in stored


def test_cached_pages_count_suggestions_and_refusals_do_not(app, client):
    for _ in range(3):
        assert client.get("/api/search?q=otan").status_code == 200
    assert client.get("/api/suggest?q=ot").status_code == 200
    assert client.get("/api/search?q=otan&per_page=500").status_code == 400
    assert client.get("/?q=").status_code == 200
    assert client.get("/?q=otan&page=2").status_code == 200
    logged = rows(flushed(app))
    assert [(q, page) for q, _, _, page in logged] == [("otan", 1)] * 3 + [("otan", 2)]
    assert logged[2][2] < logged[0][2]  # the cached page's took_ms is the lookup's


def test_the_log_keeps_the_newest_rows_only(tmp_path):
    query_log = QueryLog(tmp_path / "log.sqlite", max_rows=50)
    for i in range(130):
        query_log.record(f"q{i}", 1, 1.0, when=1000 + i)
        if i % 40 == 39:  # several writes, one of them larger than the bound
            query_log.flush()
    query_log.close()
    kept = rows(tmp_path / "log.sqlite", "ts")
    assert [ts for (ts,) in kept] == [1000.0 + i for i in range(80, 130)]


def test_the_log_survives_a_restart(fresh_index):
    first = make_app(fresh_index, query_log=None)  # the log in the index folder, as by default
    first.test_client().get("/api/search?q=otan")
    first.extensions["searchsvc.querylog"].close()
    second = make_app(fresh_index, query_log=None)
    second.test_client().get("/api/search?q=OTAN")
    flushed(second)
    result = second.test_cli_runner().invoke(args=["stats", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["top_queries"][0]["count"] == 2


def test_a_process_that_exits_writes_what_it_gathered(tmp_path):
    path = tmp_path / "log.sqlite"
    code = (
        "import sys; from searchsvc.ops.querylog import QueryLog\n"
        "log = QueryLog(sys.argv[1])\n"
        "for i in range(5): log.record('sortie', i, 1.0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=ROOT, timeout=60)
    assert len(rows(path)) == 5


WRITER = """
import sys, time
from pathlib import Path
from searchsvc.ops.querylog import QueryLog

path, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
query_log = QueryLog(Path(path))
while not go.exists():
    time.sleep(0.005)
for i in range(count):
    query_log.record(f"processus {name} {i}", i, 1.0)
    if i % 10 == 9:
        query_log.flush()  # many small transactions: as much contention as can be
query_log.close()
sys.exit(1 if query_log.dropped else 0)
"""


def test_two_processes_write_to_one_log_at_once(tmp_path):
    """As two gunicorn workers do: every row is there, none was refused as locked."""
    path, go = tmp_path / "log.sqlite", tmp_path / "go"
    workers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "4000", str(go)], cwd=ROOT)
        for name in "AB"
    ]
    time.sleep(0.3)  # both started and waiting
    go.touch()
    assert [w.wait(60) for w in workers] == [0, 0]  # nothing dropped: no "database is locked"
    logged = [q for (q,) in rows(path, "query")]
    assert len(logged) == len(set(logged)) == 8000
    assert {q.split()[1] for q in logged} == {"A", "B"}


class SetUpRacedConnection:
    """A connection whose first ``PRAGMA journal_mode=WAL`` calls fail as they
    do when another process switches the same new file to WAL at that moment:
    "database is locked" at once, without waiting on the busy timeout."""

    def __init__(self, path: Path, failures: int, code: int = sqlite3.SQLITE_BUSY) -> None:
        self.real = sqlite3.connect(path, isolation_level=None)
        self.failures, self.code, self.attempts = failures, code, 0

    def execute(self, sql: str, *args):
        if sql.startswith("PRAGMA journal_mode"):
            self.attempts += 1
            if self.failures:
                self.failures -= 1
                error = sqlite3.OperationalError("database is locked")
                error.sqlite_errorcode = self.code
                raise error
        return self.real.execute(sql, *args)

    def executescript(self, script: str):
        return self.real.executescript(script)


def test_setting_up_a_new_log_waits_for_another_process_doing_the_same(tmp_path):
    from searchsvc.ops.querylog import _set_up

    conn = SetUpRacedConnection(tmp_path / "log.sqlite", failures=3)
    _set_up(conn)
    assert conn.attempts == 4
    assert conn.real.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.real.execute("SELECT count(*) FROM searches").fetchone() == (0,)


def test_setting_up_a_log_gives_up_on_other_errors_and_after_the_busy_timeout(tmp_path, monkeypatch):
    from searchsvc.ops import querylog

    broken = SetUpRacedConnection(tmp_path / "a.sqlite", failures=1, code=sqlite3.SQLITE_IOERR)
    with pytest.raises(sqlite3.OperationalError):
        querylog._set_up(broken)
    assert broken.attempts == 1  # not a lock: no retry
    monkeypatch.setattr(querylog, "BUSY_TIMEOUT_S", 0.05)
    stuck = SetUpRacedConnection(tmp_path / "b.sqlite", failures=10**6)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        querylog._set_up(stuck)
    assert 1 < stuck.attempts < 10**6


def test_a_forked_worker_starts_with_an_empty_buffer(tmp_path):
    """gunicorn --preload forks workers from a process that may hold entries."""
    query_log = QueryLog(tmp_path / "log.sqlite")
    query_log.record("du parent", 1, 1.0)
    query_log._after_fork()  # what os.register_at_fork runs in the child
    assert query_log.flush() == 0
    query_log.record("de l'enfant", 1, 1.0)
    query_log.close()
    assert rows(tmp_path / "log.sqlite", "query") == [("de l'enfant",)]


@pytest.mark.parametrize("where", ["a folder in its place", "under a file", "read-only folder"])
def test_a_log_that_cannot_be_written_never_breaks_a_search(tmp_path, shared_index, request, caplog, where):
    index_dir, query_log = shared_index, None
    if where == "a folder in its place":
        index_dir = request.getfixturevalue("fresh_index")  # the default place: in the index folder
        (index_dir / "querylog.sqlite").mkdir()
    elif where == "under a file":
        (tmp_path / "a-file").write_text("")
        query_log = tmp_path / "a-file" / "querylog.sqlite"
    else:
        if sys.platform != "linux" or Path("/proc/self/status").read_text().count("Uid:\t0\t"):
            # root writes anywhere; /proc refuses new files to everyone
            query_log = "/proc/searchsvc-querylog.sqlite"
        else:
            readonly = tmp_path / "readonly"
            readonly.mkdir(mode=0o555)
            query_log = readonly / "querylog.sqlite"
    app = make_app(index_dir, query_log=query_log)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="searchsvc.ops.querylog"):
        for q in ("otan", "coeur", "otan"):
            assert client.get(f"/api/search?q={q}").status_code == 200
            assert client.get(f"/?q={q}").status_code == 200
            app.extensions["searchsvc.querylog"].flush()
    warnings = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per search
    assert app.extensions["searchsvc.querylog"].dropped == 6


def test_a_failing_record_never_breaks_a_search(app, client, monkeypatch):
    import searchsvc.ops.querylog

    def broken(query):
        raise RuntimeError("boom")

    monkeypatch.setattr(searchsvc.ops.querylog, "clean_query", broken)
    assert client.get("/api/search?q=otan").status_code == 200


def test_the_log_can_be_switched_off_or_moved(tmp_path, shared_index):
    off = make_app(shared_index, query_log="off")
    assert off.test_client().get("/api/search?q=otan").status_code == 200
    off.extensions["searchsvc.querylog"].flush()
    assert not list(shared_index.glob("querylog*"))
    result = off.test_cli_runner().invoke(args=["stats"])
    assert result.exit_code == 1 and "the query log is off" in result.output

    moved = make_app(shared_index, query_log=tmp_path / "ailleurs.sqlite")
    moved.test_client().get("/api/search?q=otan")
    assert rows(flushed(moved)) and not list(shared_index.glob("querylog*"))


@pytest.mark.parametrize(
    "setting, expected",
    [(None, "ix/querylog.sqlite"), ("", "ix/querylog.sqlite"), ("off", None), ("OFF", None), (False, None),
     (0, None), ("/var/log/q.sqlite", "/var/log/q.sqlite")],
)  # fmt: skip
def test_where_the_log_lives(setting, expected):
    path = resolve_path(setting, "ix")
    assert (str(path) if path else None) == expected


def test_queries_are_grouped_by_their_folded_form():
    assert fold(" Élysée\u00a0 ") == fold("ELYSEE") == fold("e\u0301lysée") == "elysee"
    assert fold("Cœur de l’État") == "coeur de l'etat"
    assert fold("\u202eevil\x1b[31m") == "evil [31m"


def _fill(path: Path, now: float) -> None:
    query_log = QueryLog(path)
    searches = [
        # (text, total, took_ms, days ago, page)
        ("Élysée", 5, 4.0, 1, 1), ("Élysée", 5, 0.1, 1, 1), ("elysee", 5, 0.1, 2, 1), (" ELYSÉE ", 5, 0.2, 3, 1),
        ("Élysée", 5, 1.0, 3, 2),  # paging: not a new search
        ("zzz", 0, 2.0, 1, 1), ("zzz", 0, 2.0, 2, 1), ("zzz", 0, 2.0, 3, 1),
        ("ukraine", 0, 3.0, 5, 1), ("ukraine", 9, 3.0, 4, 1),
        ("lent", 1, 900.0, 6, 1), ("lent", 1, 0.1, 6, 1), ("lent", 1, 0.1, 6, 1),
        ("ancien", 0, 50.0, 40, 1), ("ancien", 0, 5000.0, 45, 1),
    ]  # fmt: skip
    for text, total, took_ms, days_ago, page in searches:
        query_log.record(text, total, took_ms, page, when=now - days_ago * DAY)
    query_log.close()


def test_stats_top_zero_result_and_slowest_queries(tmp_path):
    now = 2_000_000_000.0
    _fill(tmp_path / "log.sqlite", now)
    result = stats(tmp_path / "log.sqlite", days=30, limit=10, now=now)
    assert (result.searches, result.distinct_queries, result.zero_result_searches) == (12, 4, 4)
    top = [(f.query, f.count, f.zero_results) for f in result.top_queries]
    assert top == [("Élysée", 4, 0), ("zzz", 3, 3), ("lent", 3, 0), ("ukraine", 2, 1)]  # ties: the latest first
    assert [(f.query, f.zero_results, f.count) for f in result.zero_result_queries] == [("zzz", 3, 3), ("ukraine", 1, 2)]
    slowest = result.slowest_queries[0]
    assert (slowest.query, slowest.max_ms, slowest.median_ms) == ("lent", 900.0, 0.1)
    assert result.top_queries[0].last_seen == "2033-05-17T03:33:20Z"  # a day before `now`
    assert "ancien" not in {f.query for f in result.top_queries}

    longer = stats(tmp_path / "log.sqlite", days=60, limit=2, now=now)
    assert longer.searches == 14 and longer.slowest_queries[0].query == "ancien"
    assert len(longer.top_queries) == len(longer.zero_result_queries) == 2


def test_stats_of_a_log_never_written_are_empty(tmp_path):
    result = stats(tmp_path / "nothing.sqlite")
    assert result.searches == 0 and result.top_queries == []
    assert not (tmp_path / "nothing.sqlite").exists()


def test_stats_command_prints_three_tables(tmp_path, shared_index):
    now = time.time()
    _fill(tmp_path / "log.sqlite", now)
    app = make_app(shared_index, query_log=tmp_path / "log.sqlite")
    runner = app.test_cli_runner()

    text = runner.invoke(args=["stats", "--days", "30"])
    assert text.exit_code == 0, text.output
    assert "Last 30 days" in text.output and "12 searches, 4 distinct queries, 4 without results" in text.output
    for heading in ("Top queries", "Queries with no results", "Slowest queries (by their longest time)"):
        assert heading in text.output
    assert "Élysée" in text.output and "ancien" not in text.output

    as_json = runner.invoke(args=["stats", "--json", "--days", "60", "--limit", "3"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert {"top_queries", "zero_result_queries", "slowest_queries"} <= set(data)
    assert data["days"] == 60 and data["searches"] == 14
    assert len(data["top_queries"]) == 3
    for entry in data["top_queries"] + data["zero_result_queries"] + data["slowest_queries"]:
        assert set(entry) == {"query", "count", "zero_results", "median_ms", "max_ms", "last_seen"}
    assert data["slowest_queries"][0] == {
        "query": "ancien", "count": 2, "zero_results": 2, "median_ms": 2525.0, "max_ms": 5000.0,
        "last_seen": data["slowest_queries"][0]["last_seen"],
    }  # fmt: skip

    other = runner.invoke(args=["stats", "--json", "--log", str(tmp_path / "none.sqlite")])
    assert json.loads(other.output)["searches"] == 0
    assert runner.invoke(args=["stats", "--days", "0"]).exit_code == 2


def test_stats_of_a_damaged_log_is_an_error(tmp_path, shared_index):
    (tmp_path / "log.sqlite").write_bytes(b"not a database at all" * 100)
    app = make_app(shared_index, query_log=tmp_path / "log.sqlite")
    result = app.test_cli_runner().invoke(args=["stats"])
    assert result.exit_code == 1
    assert "cannot be read" in result.output
