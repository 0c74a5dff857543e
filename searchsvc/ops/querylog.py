"""What readers look for: a bounded log of the searches, and its statistics.

Each search is one row of a SQLite file (WAL mode, so the gunicorn workers
write to it at once and ``searchsvc stats`` reads it while they do): the text
as typed (NFC, stripped, single spaces, no control characters), the number of
results, the time the page took and when. Nothing that identifies a reader is
kept: no address, no cookie, no user agent, no session.

A search never waits for the file. :meth:`QueryLog.record` appends to a list
in memory (about a microsecond); a thread of the process writes what has
gathered in one transaction at most :data:`FLUSH_SECONDS` later (sooner past
:data:`FLUSH_ENTRIES` entries) and exits when there is nothing left to write,
and a process that exits normally writes what remains. A process killed
outright (``kill -9``, out of memory) loses the entries of its last second.
When the file cannot be written (disk full, read-only folder, locked for more
than :data:`BUSY_TIMEOUT_S`), that batch is dropped, a warning is logged once
per process, and searches go on.

The bound costs one deletion by id range per write (ids only grow), never a
scan: after each write the table holds at most ``max_rows`` rows.

No Flask here: the web views and the command line only call :meth:`QueryLog.record`
and :func:`stats`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import random
import sqlite3
import statistics
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import QueryLogError
from ..search.limits import MAX_QUERY_CHARS
from ..text.normalize import clean, fold_text

log = logging.getLogger(__name__)

#: The log's file name in the index folder when ``SEARCHSVC_QUERY_LOG`` names none.
DEFAULT_NAME = "querylog.sqlite"
#: ``SEARCHSVC_QUERY_LOG`` values that switch the log off.
OFF = frozenset({"off", "no", "none", "false", "0"})
DEFAULT_MAX_ROWS = 100_000
#: A process writes what it has gathered at least this often…
FLUSH_SECONDS = 1.0
#: …and sooner once this many searches wait.
FLUSH_ENTRIES = 500
#: Searches kept in memory while the file cannot be written; more are dropped.
MAX_PENDING = 10_000
#: How long a write waits for another process's write before giving up.
BUSY_TIMEOUT_S = 5.0
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    id      INTEGER PRIMARY KEY,  -- grows by one per search: the bound deletes by id
    ts      REAL    NOT NULL,     -- when, Unix time in seconds
    query   TEXT    NOT NULL,     -- as typed: NFC, stripped, single spaces
    folded  TEXT    NOT NULL,     -- grouping key: case, accents and spaces folded
    total   INTEGER NOT NULL,     -- results found
    took_ms REAL    NOT NULL,     -- the page's took_ms (for a cached page, the lookup's)
    page    INTEGER NOT NULL      -- results page asked for; 1 is a new search
);
CREATE INDEX IF NOT EXISTS searches_ts ON searches (ts);
"""

def clean_query(query: str) -> str:
    """The text as typed, as stored: cleaned (NFC, no control characters,
    stripped, single spaces), at most :data:`MAX_QUERY_CHARS` characters."""
    return clean(query)[:MAX_QUERY_CHARS]


def resolve_path(setting: object, index_dir: str | os.PathLike) -> Path | None:
    """Where the log lives: ``SEARCHSVC_QUERY_LOG`` if it names a file, the index
    folder's ``querylog.sqlite`` if unset, ``None`` (no log) for ``off``."""
    if setting is None or setting == "":
        return Path(index_dir) / DEFAULT_NAME
    if setting is False or str(setting).strip().lower() in OFF:
        return None
    return Path(str(setting))


def _connect(path: Path) -> sqlite3.Connection:
    _owner_only(path)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        _set_up(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _owner_only(path: Path) -> None:
    """Create the log readable and writable by its owner only (it holds what
    readers typed); one made before with wider permissions is narrowed. SQLite
    gives its -wal and -shm files the permissions of the database file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            extra = Path(f"{path}{suffix}")
            if extra.stat().st_mode & 0o077:
                extra.chmod(0o600)


def _set_up(conn: sqlite3.Connection) -> None:
    """WAL mode and the table, retried for up to :data:`BUSY_TIMEOUT_S`.

    Switching a new file to WAL does not wait on SQLite's busy timeout: when
    two workers open a log that does not exist yet, one of them got "database
    is locked" at once (3 to 4 times in 30 starts of three processes) and
    dropped its first searches.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a power cut may lose the last writes, never the file
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            return
        except sqlite3.OperationalError as e:
            busy = (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)


class QueryLog:
    """The searches of one service, written to ``path`` (``None``: not recorded).

    One per app; safe to share between threads, and each process (gunicorn
    worker) has its own buffer and connection over the same file.
    """

    def __init__(self, path: Path | None, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.path = Path(path) if path is not None else None
        self.max_rows = max(1, int(max_rows))
        #: Searches not recorded in this process (the file could not be written, or too many waited).
        self.dropped = 0
        self._lock = threading.Lock()  # guards _pending and _flusher
        self._write_lock = threading.Lock()  # one write at a time in this process
        self._pending: list[tuple[float, str, int, float, int]] = []
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._warned = False
        _LOGS.add(self)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def record(self, query: str, total: int, took_ms: float, page: int = 1, *, when: float | None = None) -> None:
        """Note one search. Never raises and never touches the disk."""
        if self.path is None:
            return
        try:
            entry = (time.time() if when is None else float(when), clean_query(query), int(total), float(took_ms), int(page))
            with self._lock:
                if len(self._pending) >= MAX_PENDING:
                    self.dropped += 1
                    return
                self._pending.append(entry)
                if self._flusher is None:
                    flusher = threading.Thread(target=self._run, name="searchsvc-querylog", daemon=True)
                    flusher.start()
                    self._flusher = flusher
                elif len(self._pending) >= FLUSH_ENTRIES:
                    self._wake.set()
        except Exception as e:  # a search must never fail for its log
            self._warn(e)

    def _run(self) -> None:
        """The background writer: flush every FLUSH_SECONDS, exit once idle."""
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self.flush()
            with self._lock:
                if not self._pending:
                    self._flusher = None
                    return

    def flush(self) -> int:
        """Write the searches gathered so far now; returns how many were written."""
        if self.path is None:
            return 0
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        with self._write_lock:
            try:
                rows = [(ts, q, fold_text(q), total, took, page) for ts, q, total, took, page in batch]
                if self._conn is None:
                    self._conn = _connect(self.path)
                conn = self._conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        "INSERT INTO searches (ts, query, folded, total, took_ms, page) VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    # Ids only grow, so the oldest rows are those below max(id) - max_rows:
                    # a range of the primary key, not a scan.
                    conn.execute(
                        "DELETE FROM searches WHERE id <= (SELECT max(id) FROM searches) - ?", (self.max_rows,)
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except Exception as e:  # disk full, read-only, locked, damaged…
                with self._lock:
                    self.dropped += len(batch)
                self._close_connection()
                self._warn(e)
                return 0
        return len(batch)

    def close(self) -> None:
        """Write what is pending and close the file (at exit, or in tests)."""
        self.flush()
        with self._write_lock:
            self._close_connection()

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _warn(self, error: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "the query log %s cannot be written (%s): searches go on without being recorded",
                self.path, error,
            )

    def _after_fork(self) -> None:
        """In a new child process: its own locks, no entries of its parent, no
        connection of its parent (a SQLite connection must not cross a fork)."""
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._pending = []
        self._flusher = None
        if self._conn is not None:
            _FORKED_CONNECTIONS.append(self._conn)  # never used, never closed here
            self._conn = None


_LOGS: weakref.WeakSet[QueryLog] = weakref.WeakSet()
_FORKED_CONNECTIONS: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    for query_log in list(_LOGS):
        query_log._after_fork()


def _flush_all_at_exit() -> None:
    for query_log in list(_LOGS):
        with contextlib.suppress(Exception):  # exiting anyway
            query_log.flush()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_all_at_exit)


# --- Statistics -------------------------------------------------------------


@dataclass
class QueryFigures:
    """One query (all its foldings together) over the period."""

    #: Its most common written form.
    query: str
    #: Searches (first pages only: paging through results is not searching again).
    count: int
    #: Of those, how many found nothing.
    zero_results: int
    median_ms: float
    max_ms: float
    #: The last search, ISO 8601 UTC.
    last_seen: str


@dataclass
class QueryStats:
    """What ``searchsvc stats`` and ``/admin/stats`` show."""

    days: int
    #: Start of the period, ISO 8601 UTC.
    since: str
    #: Searches in the period (first pages).
    searches: int
    distinct_queries: int
    zero_result_searches: int
    #: By number of searches.
    top_queries: list[QueryFigures] = field(default_factory=list)
    #: By number of searches that found nothing.
    zero_result_queries: list[QueryFigures] = field(default_factory=list)
    #: By the longest time one search took (max_ms); cached answers take
    #: microseconds, so a frequent query's median is low.
    slowest_queries: list[QueryFigures] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def stats(path: Path | None, days: int = 30, limit: int = 20, *, now: float | None = None) -> QueryStats:
    """The top queries, those without results and the slowest, over the last
    ``days`` days, ``limit`` of each.

    :raises QueryLogError: the log is off, or its file cannot be read.
    """
    if path is None:
        raise QueryLogError("the query log is off (SEARCHSVC_QUERY_LOG=off): nothing was recorded")
    now = time.time() if now is None else now
    since = now - days * 86400
    result = QueryStats(days=days, since=_iso(since), searches=0, distinct_queries=0, zero_result_searches=0)
    if not Path(path).exists():
        return result  # nothing searched yet
    try:
        uri = Path(path).resolve().as_uri() + "?mode=ro"  # reading never creates or changes it
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            rows = conn.execute(
                "SELECT ts, query, folded, total, took_ms FROM searches WHERE ts >= ? AND page = 1", (since,)
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise QueryLogError(f"the query log {path} cannot be read: {e}") from e

    groups: dict[str, _Group] = {}
    keys: dict[str, str] = {}  # each distinct text folded once: readers repeat themselves
    for ts, query, _, total, took_ms in rows:
        # Grouped by this version's folding, not the stored one: rows written
        # by an older version group with the new ones.
        key = keys.get(query)
        if key is None:
            key = keys[query] = fold_text(query)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group()
        group.add(ts, query, total, took_ms)
    result.searches = len(rows)
    result.distinct_queries = len(groups)
    result.zero_result_searches = sum(g.zero for g in groups.values())

    def top(key, keep=lambda g: True) -> list[QueryFigures]:
        return [g.figures() for g in sorted(filter(keep, groups.values()), key=key)[:limit]]

    result.top_queries = top(lambda g: (-len(g.times), -g.last))
    result.zero_result_queries = top(lambda g: (-g.zero, -len(g.times), -g.last), lambda g: g.zero > 0)
    result.slowest_queries = top(lambda g: (-max(g.times), -statistics.median(g.times), -g.last))
    return result


class _Group:
    __slots__ = ("forms", "times", "zero", "last")

    def __init__(self) -> None:
        self.forms: dict[str, int] = {}
        self.times: list[float] = []
        self.zero = 0
        self.last = 0.0

    def add(self, ts: float, query: str, total: int, took_ms: float) -> None:
        self.forms[query] = self.forms.get(query, 0) + 1
        self.times.append(took_ms)
        self.zero += total == 0
        self.last = max(self.last, ts)

    def figures(self) -> QueryFigures:
        form = max(self.forms.items(), key=lambda item: (item[1], item[0]))[0]
        return QueryFigures(
            query=clean_query(form),
            count=len(self.times),
            zero_results=self.zero,
            median_ms=round(statistics.median(self.times), 2),
            max_ms=round(max(self.times), 2),
            last_seen=_iso(self.last),
        )
