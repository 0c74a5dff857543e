"""A database as a source: the documents a SQL query returns.

Any database SQLAlchemy can reach (``postgresql://…``, ``sqlite:///…``,
``mysql://…`` with its driver installed). The query returns the documents'
columns under their names (``id`` and ``title`` required; ``body``,
``date``, ``source``, ``url``; other columns ignored), each row checked as a
JSON line is (:func:`.jsonlines.document_from_record`): a bad row is
reported with its number and skipped. With an ``updated_at`` column, an
incremental reindex does not check again a row whose ``(id, updated_at)`` it
indexed before. A source that cannot be read at all (a bad URL, a refused
connection, a query that fails or lacks a required column) raises
:class:`~searchsvc.errors.SourceError`: nothing is indexed from half a query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import date, datetime

from ..errors import SourceError
from .documents import Document, InputError, LoadReport, Unchanged
from .jsonlines import document_from_record

REQUIRED = ("id", "title")
COLUMNS = ("id", "title", "body", "date", "source", "url")
#: The change column: a row whose id and value are those indexed before is unchanged.
CHANGE_COLUMN = "updated_at"
#: Rows fetched at a time (the query's results are streamed, not loaded whole).
BATCH = 1_000


def is_database_url(source: str) -> bool:
    """Whether a SOURCE names a database rather than a file or folder."""
    return "://" in str(source)


def source_name(url: str) -> str:
    """The URL without its password: what reports and manifests name."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@", 1)[-1] if "@" in url else url


def row_digest(query: str, doc_id: object, updated: object) -> bytes:
    """What says that a row is the one indexed before: the query (another
    query may return other columns), the row's id and its change column."""
    data = repr((query, str(doc_id), str(updated))).encode("utf-8")
    return hashlib.blake2b(data, digest_size=12, person=b"searchsvc-sql-1").digest()


def read_query(
    url: str, query: str, report: LoadReport, known: Callable[[bytes], Unchanged | None] | None = None
) -> Iterator[tuple[int, Document | Unchanged, bytes | None]]:
    """Each document the query returns: (row number, document, its row's
    digest when the query has a change column)."""
    import sqlalchemy
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    name = source_name(url)
    report.files_read += 1
    try:
        engine = sqlalchemy.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as e:
        raise SourceError(f"{name}: not a database URL this installation can open ({_first_line(e)})") from None
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(sqlalchemy.text(query))
            columns = list(result.keys())
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise SourceError(
                    f"{name}: the query returns no {', '.join(map(repr, missing))} column "
                    f"(it returns {', '.join(map(repr, columns)) or 'none'})"
                )
            wanted = [(i, c) for i, c in enumerate(columns) if c in COLUMNS]
            change = columns.index(CHANGE_COLUMN) if CHANGE_COLUMN in columns else None
            number = 0
            for rows in result.partitions(BATCH):
                for row in rows:
                    number += 1
                    record = {c: _plain(row[i]) for i, c in wanted}
                    digest = None
                    if change is not None and row[change] is not None:
                        digest = row_digest(query, record.get("id"), row[change])
                        unchanged = known(digest) if known is not None else None
                        if unchanged is not None:
                            yield number, unchanged, digest
                            continue
                    notes: list[str] = []
                    try:
                        doc = document_from_record(record, notes=notes)
                    except InputError as e:
                        report.skip(name, None, f"row {number}: {e}")
                        continue
                    for reason in notes:
                        report.warn(name, None, f"row {number}: {reason}")
                    yield number, doc, None if notes else digest
    except SQLAlchemyError as e:
        raise SourceError(f"{name}: {_first_line(e)}") from None
    finally:
        engine.dispose()


def _plain(value: object) -> object:
    """A column's value as a JSON line would hold it (dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
