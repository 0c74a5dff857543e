"""The push journal: documents pushed and retracted over the API, on disk
before anyone is told they were accepted.

Why a journal rather than writing the index at once: a push must be durable
when its answer leaves (a ``kill -9`` of every process right after loses
nothing), yet building a generation takes a good part of a second and only
one writer may work at a time. So a push is one SQLite transaction, fsynced
(WAL, ``synchronous = FULL``), shared by every worker of the service; the
applier (:mod:`.applier`) turns what is new in it into a generation, and
each generation's manifest records the last change it holds
(``"journal": seq``), so what is pending is simply what comes after it.

It also remembers the ids retracted over the API (until pushed again):
a reindex from files or a database leaves them out, so a retraction is not
undone by the next nightly run over a source that still holds the article.

The file lives in the index folder beside the generations::

    index_dir/journal.sqlite
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .documents import Document

FILENAME = "journal.sqlite"
#: The origin pushed documents have in a generation's catalog: no file can
#: be named so (sources are paths relative to a folder, or file names).
PUSHED = "(pushed over the API)"
#: Milliseconds a writer waits for another worker's transaction.
BUSY_MS = 10_000

_SCHEMA = """
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    document TEXT,  -- the Document as JSON; NULL: retracted
    received REAL NOT NULL
);
CREATE TABLE retracted (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    received REAL NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Change:
    """The last word of the API on one id: its document, or ``None`` (retracted)."""

    seq: int
    id: str
    document: Document | None


class Journal:
    """``journal.sqlite`` of an index folder, opened once per process and thread-safe."""

    def __init__(self, index_dir: str | Path) -> None:
        self.path = Path(index_dir) / FILENAME
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def exists(self) -> bool:
        return self.path.is_file()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.path.exists():
                self._create()
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_MS / 1000)
            db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            # FULL: a commit is fsynced before it returns, in WAL mode too
            # (NORMAL would lose the last commits at a power cut).
            db.execute("PRAGMA synchronous = FULL")
            self._db = db
        return self._db

    def _create(self) -> None:
        """Make the file whole (its tables, WAL mode) under another name, then
        link it into place: two workers creating it at once, or a reader
        opening it half made, would otherwise get "database is locked"
        (turning a database to WAL needs it to themselves)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # (Not ".*.tmp": a reindex removes those it finds in the index folder.)
        tmp = self.path.with_name(f"{self.path.name}.new-{os.getpid()}-{threading.get_ident()}")
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)
        finally:
            db.close()
        try:
            os.link(tmp, self.path)  # fails if another made it first: theirs is as good
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- writing ----------------------------------------------------------

    def record(self, documents: Iterable[Document] = (), retracted: Iterable[str] = ()) -> int:
        """Append pushed ``documents`` and ``retracted`` ids in one durable
        transaction; return the sequence number of the last change (0 if none)."""
        now = time.time()
        rows = [(doc.id, _to_json(doc), now) for doc in documents]
        gone = [(doc_id, None, now) for doc_id in retracted]
        if not rows and not gone:
            return self.last_seq()
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT INTO changes (id, document, received) VALUES (?, ?, ?)", rows + gone)
                seq = db.execute("SELECT max(seq) FROM changes").fetchone()[0]
                # A push lifts a retraction; a retraction is remembered.
                db.executemany("DELETE FROM retracted WHERE id = ?", [(r[0],) for r in rows])
                db.executemany(
                    "INSERT OR REPLACE INTO retracted (id, seq, received) VALUES (?, ?, ?)",
                    [(doc_id, seq, now) for doc_id, _, _ in gone],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(seq)

    def forget_through(self, seq: int) -> None:
        """Drop the changes up to ``seq``: every generation kept holds them."""
        if seq <= 0 or not self.exists():
            return
        with self._lock:
            self._connection().execute("DELETE FROM changes WHERE seq <= ?", (seq,))

    # -- reading ----------------------------------------------------------

    def last_seq(self) -> int:
        """The sequence number of the last change ever recorded (0: none)."""
        if not self.exists():
            return 0
        with self._lock:
            db = self._connection()
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return int(row[0]) if row else 0

    def changes_after(self, seq: int, limit: int | None = None) -> list[Change]:
        """The API's last word on each id changed after ``seq``, in order of
        their last change; at most ``limit`` changes are read (the rest wait)."""
        if not self.exists():
            return []
        with self._lock:
            db = self._connection()
            rows = db.execute(
                "SELECT seq, id, document FROM changes WHERE seq > ? ORDER BY seq"
                + (" LIMIT ?" if limit else ""),
                (seq, limit) if limit else (seq,),
            ).fetchall()
        last: dict[str, Change] = {}
        for row_seq, doc_id, document in rows:
            last.pop(doc_id, None)  # re-inserted: ordered by the last change
            last[doc_id] = Change(row_seq, doc_id, None if document is None else _from_json(document))
        return list(last.values())

    def pending_for(self, doc_id: str, after: int) -> Change | None:
        """The last change to ``doc_id`` after ``after``, if any (not applied yet)."""
        if not self.exists():
            return None
        with self._lock:
            row = self._connection().execute(
                "SELECT seq, id, document FROM changes WHERE id = ? AND seq > ? ORDER BY seq DESC LIMIT 1",
                (doc_id, after),
            ).fetchone()
        if row is None:
            return None
        return Change(row[0], row[1], None if row[2] is None else _from_json(row[2]))

    def backlog(self, after: int) -> tuple[int, float | None]:
        """Changes recorded after ``after`` (not applied yet), and when the
        oldest of them was received (a Unix time), for the health check."""
        if not self.exists():
            return 0, None
        with self._lock:
            count, oldest = self._connection().execute(
                "SELECT count(*), min(received) FROM changes WHERE seq > ?", (after,)
            ).fetchone()
        return int(count), oldest

    def retracted(self) -> frozenset[str]:
        """Every id retracted over the API and not pushed since."""
        if not self.exists():
            return frozenset()
        with self._lock:
            rows = self._connection().execute("SELECT id FROM retracted").fetchall()
        return frozenset(doc_id for (doc_id,) in rows)


def _to_json(doc: Document) -> str:
    return json.dumps(
        {"id": doc.id, "title": doc.title, "body": doc.body, "date": doc.date, "source": doc.source, "url": doc.url},
        ensure_ascii=False,
    )


def _from_json(text: str) -> Document:
    return Document(**json.loads(text))
