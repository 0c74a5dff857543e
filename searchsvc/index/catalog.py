"""A generation's catalog: each document's id, content fingerprint and origin.

Why on disk: an incremental reindex compares every document's fingerprint
with the previous generation's, and a full one must refuse a duplicate id.
Held in Python dicts, that bookkeeping took about 300 bytes a document in the
reindex process (≈ 300 MiB at a million documents, more than one writer's
posting pool). In SQLite it takes a bounded page cache, whatever the corpus.

The catalog is built beside the Whoosh files of a new generation and sealed
with them; a published catalog is only ever opened read-only.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from .documents import Document, Unchanged

FILENAME = "catalog.sqlite"
#: Rows buffered before one ``executemany``; the buffer also answers lookups.
_BATCH = 5_000
_CACHE_KIB = 16 * 1024

_SCHEMA = """
CREATE TABLE origins (number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    origin INTEGER REFERENCES origins(number),  -- NULL: the file named by the id
    line INTEGER,
    digest BLOB  -- of the JSON line it was parsed from cleanly, else NULL
) WITHOUT ROWID;
CREATE INDEX documents_digest ON documents(digest) WHERE digest IS NOT NULL;
"""


class CatalogError(Exception):
    """A catalog that cannot be read: missing, damaged or of another format."""


class Catalog:
    """The documents of one generation, keyed by id.

    A new catalog (:meth:`create`) records documents as they are loaded and
    doubles as the loader's duplicate check (:meth:`claim`); a published one
    (:meth:`open`) answers :meth:`get` and lists ids.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path, writable: bool) -> None:
        self._db = connection
        self.path = path
        self._writable = writable
        self._replacing = False
        self._pending: dict[str, tuple[str, int | None, int | None, bytes | None]] = {}
        # Only files holding several documents (JSON Lines) get a number:
        # a folder of articles would otherwise put every path in memory.
        self._origins: dict[str, int] = {}
        self._names: dict[int, str] = {}
        columns = {row[1] for row in connection.execute("PRAGMA table_info(documents)")}
        self._has_digests = "digest" in columns  # not in catalogs written before 0.5.0

    @classmethod
    def create(cls, folder: Path) -> Catalog:
        path = Path(folder) / FILENAME
        db = sqlite3.connect(path, isolation_level=None)
        # The generation is thrown away whole if the reindex fails and
        # fsynced whole when sealed: no journal needed.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        db.executescript(_SCHEMA)
        db.execute("BEGIN")
        return cls(db, path, writable=True)

    @classmethod
    def amend(cls, source: Path, folder: Path) -> Catalog:
        """A new catalog for ``folder`` that starts as a copy of ``source``'s
        (a sealed generation's), for a generation of a few changes: documents
        are then replaced (:meth:`replace`) and removed (:meth:`remove`)."""
        path = Path(folder) / FILENAME
        shutil.copyfile(Path(source) / FILENAME, path)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        db.execute("BEGIN")
        catalog = cls(db, path, writable=True)
        catalog._replacing = True
        return catalog

    @classmethod
    def open(cls, folder: Path) -> Catalog:
        """Open a sealed generation's catalog read-only.

        :raises CatalogError: there is none (a generation from an older
            version) or it cannot be read.
        """
        path = Path(folder) / FILENAME
        if not path.is_file():
            raise CatalogError(f"{path} is missing")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            db.execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.Error as e:
            raise CatalogError(f"{path} cannot be read: {e}") from e
        return cls(db, path, writable=False)

    # -- building ---------------------------------------------------------

    def claim(
        self, doc: Document | Unchanged, origin: str, line: int | None, digest: bytes | None = None
    ) -> str | None:
        """Record ``doc`` (and the digest of the JSON line it was parsed
        from) unless its id is already here; then return where the first one
        came from (``file:line``) and record nothing."""
        first = self._where(doc.id)
        if first is not None:
            return first
        self._pending[doc.id] = (doc.fingerprint, self._origin_number(doc.id, origin), line, digest)
        if len(self._pending) >= _BATCH:
            self._flush()
        return None

    def put(self, doc_id: str, fingerprint: str, origin: str) -> None:
        """Record a document carried over from another catalog."""
        self._pending[doc_id] = (fingerprint, self._origin_number(doc_id, origin), None, None)
        if len(self._pending) >= _BATCH:
            self._flush()

    def replace(self, doc_id: str, fingerprint: str, origin: str) -> None:
        """Record ``doc_id`` (an amended catalog), replacing what it held for it."""
        self.put(doc_id, fingerprint, origin)

    def remove(self, doc_id: str) -> None:
        """Forget ``doc_id`` (an amended catalog)."""
        self._pending.pop(doc_id, None)
        self._db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    def close(self) -> None:
        """Write what is buffered and close; a new catalog is then complete."""
        if self._writable:
            self._flush()
            self._db.execute("COMMIT")
            self._writable = False
        self._db.close()

    def discard(self) -> None:
        """Close without writing what is buffered (the generation is thrown away)."""
        self._writable = False
        self._db.close()

    # -- reading ----------------------------------------------------------

    def get(self, doc_id: str) -> tuple[str, str] | None:
        """``(fingerprint, origin)`` of ``doc_id``, or None."""
        pending = self._pending.get(doc_id)
        if pending is not None:
            return pending[0], self._origin_name(doc_id, pending[1])
        row = self._db.execute(
            "SELECT fingerprint, origin FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        return (row[0], self._origin_name(doc_id, row[1])) if row else None

    def unchanged(self, digest: bytes) -> Unchanged | None:
        """The document parsed cleanly from a line with this digest, or None."""
        if not self._has_digests:
            return None
        row = self._db.execute("SELECT id, fingerprint FROM documents WHERE digest = ?", (digest,)).fetchone()
        return Unchanged(row[0], row[1]) if row else None

    def __len__(self) -> int:
        self._flush()
        return self._db.execute("SELECT count(*) FROM documents").fetchone()[0]

    def ids_missing_from(self, other: Catalog) -> Iterator[str]:
        """Ids here that ``other`` does not hold, in id order: the documents
        gone since this catalog's generation."""
        other._flush()
        # Both lists in id order, walked side by side: no look-up per id.
        theirs = other._ids_in_order()
        their_id = next(theirs, None)
        for (doc_id,) in self._db.execute("SELECT id FROM documents ORDER BY id"):
            while their_id is not None and their_id < doc_id:
                their_id = next(theirs, None)
            if their_id != doc_id:
                yield doc_id

    # -- internals --------------------------------------------------------

    def _ids_in_order(self, chunk: int = 2_000) -> Iterator[str]:
        """Every id, in order, read a chunk at a time, each chunk a finished
        statement: documents may be recorded meanwhile (a cursor left open
        on a table being written is undefined in SQLite)."""
        after = ""
        while True:
            rows = self._db.execute(
                "SELECT id FROM documents WHERE id > ? ORDER BY id LIMIT ?", (after, chunk)
            ).fetchall()
            yield from (doc_id for (doc_id,) in rows)
            if len(rows) < chunk:
                return
            after = rows[-1][0]

    def _where(self, doc_id: str) -> str | None:
        pending = self._pending.get(doc_id)
        if pending is not None:
            origin, line = pending[1], pending[2]
        else:
            row = self._db.execute(
                "SELECT origin, line FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
            if row is None:
                return None
            origin, line = row
        name = self._origin_name(doc_id, origin)
        return f"{name}:{line}" if line else name

    def _origin_number(self, doc_id: str, name: str) -> int | None:
        if name == doc_id:
            return None
        number = self._origins.get(name)
        if number is None:
            # An amended catalog is a copy: its origins are in the table.
            row = self._db.execute("SELECT number FROM origins WHERE name = ?", (name,)).fetchone() if self._replacing else None
            if row is not None:
                number = row[0]
            else:
                number = self._db.execute("SELECT coalesce(max(number), 0) + 1 FROM origins").fetchone()[0] if self._replacing else len(self._origins) + 1
                self._db.execute("INSERT INTO origins VALUES (?, ?)", (number, name))
            self._origins[name] = number
        return number

    def _origin_name(self, doc_id: str, number: int | None) -> str:
        if number is None:
            return doc_id
        name = self._names.get(number)
        if name is None:
            name = self._names[number] = self._db.execute(
                "SELECT name FROM origins WHERE number = ?", (number,)
            ).fetchone()[0]
        return name

    def _flush(self) -> None:
        if not self._pending:
            return
        self._db.executemany(
            f"INSERT {'OR REPLACE ' if self._replacing else ''}INTO documents VALUES (?, ?, ?, ?, ?)",
            ((i, *values) for i, values in self._pending.items()),
        )
        self._pending.clear()
