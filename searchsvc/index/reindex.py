"""Reindexing: documents in, a new index generation out, switched in atomically.

:func:`reindex` is the whole index side in one call. A full rebuild writes a
fresh generation; an incremental one starts from hard links to the current
generation's files (Whoosh never rewrites a file in place) and writes only
new, changed and deleted documents, found by content hash. Either way the
service keeps answering from the current generation until the new one is
sealed and the pointer moves.

Nothing already indexed is lost to bad input: when a file cannot be read,
the documents it held in the previous generation are kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from whoosh import index as whoosh_index

from ..errors import IndexWriteError, NothingToIndex
from ..text import whoosh_patches
from ..text.analysis import ANALYSIS_VERSION
from ..text.meaning import word_vectors
from ..text.normalize import fold
from ..text.protected import default_words, describe_change, protected_in
from ..text.schema import build_schema, same_schema
from ..version import __version__
from . import copies, generations, packed, prefix_table
from .catalog import Catalog, CatalogError
from .database import is_database_url, source_name
from .documents import DEFAULT_MAX_FILE_BYTES, LoadReport, Problem, Unchanged
from .fields import document_fields, stored_document
from .journal import PUSHED, Journal
from .sources import find_files, load_documents, load_rows
from .writers import (
    BULK_SEGMENT_DOCS,
    BulkWriters,
    IncrementalWriters,
    check_written,
    workers_die_with_parent,
)

#: ``progress(documents_done, bytes_done, bytes_total)``
Progress = Callable[[int, int, int], None]


@dataclass
class ReindexResult:
    """What a reindex did; the CLI prints it and tests read it."""

    generation: int
    mode: str
    documents: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    kept: int = 0
    #: Documents pushed over the API and not in the sources: kept.
    pushed: int = 0
    problems: list[Problem] = field(default_factory=list)
    elapsed: float = 0.0
    size_bytes: int = 0
    note: str | None = None

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["problems"] = [
            {"path": p.path, "line": p.line, "reason": p.reason, "skipped": p.skipped}
            for p in self.problems
        ]
        return data


def reindex(
    sources: Iterable[str | os.PathLike[str]],
    index_dir: str | os.PathLike[str],
    *,
    incremental: bool = False,
    procs: int = 1,  # 0: one per core (see auto_procs)
    limitmb: int = 128,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    keep: int = 2,
    progress: Progress | None = None,
    protected: Iterable[str] | None = None,
    sql: str | None = None,
) -> ReindexResult:
    """Index ``sources`` into a new generation of ``index_dir`` and switch to it.

    With ``sql``, the one source is a database URL and the documents are the
    rows that query returns (:mod:`.database`).

    :param incremental: write only what changed since the current generation
        (falls back to a full rebuild, saying why, when there is none or it was
        built with another analysis chain or other protected words).
    :param procs: writer processes for a full rebuild (0: :func:`auto_procs`).
    :param limitmb: ignored since 0.4.0 (it sized Whoosh's posting pool; the
        bulk writer's memory is bounded by its segment size instead).
    :param keep: generations to keep on disk, the current one included.
    :param protected: words indexed unstemmed (:mod:`searchsvc.text.protected`);
        ``None``: the shipped list, ``index_data/protected_words.txt`` (what
        ``SEARCHSVC_PROTECTED_WORDS`` defaults to).
    :raises ReindexInProgress: another reindex holds the lock; nothing touched.
    :raises NothingToIndex: no valid document at all; nothing switched.
    :raises IndexWriteError: the new generation could not be written (disk
        full…); the current generation is untouched.
    :raises SourceError: the database or its query cannot be read at all;
        the current generation is untouched.
    """
    if sql is not None:
        sources = [str(s) for s in sources]
        if len(sources) != 1 or not is_database_url(sources[0]):
            raise ValueError("a query (sql) reads one source, a database URL")
    else:
        sources = [Path(s) for s in sources]
    index_dir = Path(index_dir)
    procs = procs or auto_procs()
    # Indexes opened here (the previous generation's kept documents) read
    # their segment files in place, as the service does, not copied to memory.
    whoosh_patches.install_reader()
    protected = default_words() if protected is None else frozenset(map(fold, protected))
    index_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with generations.reindex_lock(index_dir):
        number = generations.next_number(index_dir)  # before cleanup: never reused
        generations.cleanup(index_dir, keep)
        previous = _usable_previous(index_dir)
        mode, note = "full", None
        if incremental:
            if previous is None:
                note = "no usable current generation: full rebuild"
            elif previous.manifest.get("analysis") != ANALYSIS_VERSION or not _same_schema(previous):
                note = "the current generation used another analysis chain or schema: full rebuild"
            elif (built := _protected_words(previous)) != protected:
                note = f"the protected words changed ({describe_change(built, protected)}): full rebuild"
            elif not _has_catalog(previous):
                note = "the current generation has no readable catalog (an older version made it): full rebuild"
            else:
                mode = "incremental"
        result = ReindexResult(generation=number, mode=mode, note=note)
        path = generations.generation_path(index_dir, number)
        with building(path):
            _build(path, sources, previous, result, procs, max_file_bytes, progress, protected, sql, Journal(index_dir))
            if result.documents == 0:
                raise NothingToIndex(
                    "no valid document found in "
                    + ", ".join(map(_shown, sources))
                    + (f" ({len(result.skipped)} skipped)" if result.skipped else "")
                )
            generations.publish(index_dir, number)
        generations.cleanup(index_dir, keep)
    result.elapsed = time.monotonic() - started
    result.size_bytes = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return result


def auto_procs() -> int:
    """Writer processes when none are configured: one per core, at most 4.

    On 2 cores, 2 processes build the 20,000-article benchmark 1.8-1.9x
    faster than 1 (bench/bench_index.py)."""
    return max(1, min(os.cpu_count() or 1, 4))


def _usable_previous(index_dir: Path) -> generations.Generation | None:
    try:
        return generations.current_generation(index_dir)
    except Exception:  # damaged: rebuild from scratch rather than from it
        return None


def _same_schema(generation: generations.Generation) -> bool:
    """Whether ``generation`` was built with this code's schema and analysers
    (Whoosh pickles them into the index; they compare field by field), its
    protected words aside (see :func:`_protected_words`)."""
    try:
        schema = whoosh_index.open_dir(str(generation.path)).schema
        return same_schema(schema, build_schema(protected_in(schema)))
    except Exception:
        return False


def _protected_words(generation: generations.Generation) -> frozenset[str]:
    """The protected words ``generation`` was built with (its analysers')."""
    try:
        return protected_in(whoosh_index.open_dir(str(generation.path)).schema)
    except Exception:  # unreadable: _same_schema has already said so
        return frozenset()


def _has_catalog(generation: generations.Generation) -> bool:
    catalog = _open_catalog(generation)
    if catalog is None:
        return False
    catalog.close()
    return True


@contextlib.contextmanager
def building(path: Path) -> Iterator[None]:
    """Around the writing of the generation at ``path`` until it is published:
    on any failure the folder is removed whole (the pointer never moved), and
    a full disk or a permission error becomes an :class:`IndexWriteError`
    that says so (:func:`write_error`)."""
    try:
        yield
    except BaseException as e:
        shutil.rmtree(path, ignore_errors=True)
        if isinstance(e, OSError | sqlite3.OperationalError):
            raise write_error(e, path) from e
        raise


def write_error(e: OSError | sqlite3.OperationalError, path: Path) -> IndexWriteError:
    """The error to report for ``e``, raised while writing the generation at ``path``.

    SQLite (the catalog) reports a full disk as ``SQLITE_FULL``, not ``ENOSPC``."""
    if isinstance(e, sqlite3.OperationalError):
        code = (getattr(e, "sqlite_errorcode", 0) or 0) & 0xFF
        reason = "the disk is full" if code == sqlite3.SQLITE_FULL else f"{e} (the catalog)"
        filename = None
    else:
        if e.errno == errno.ENOSPC:
            reason = "the disk is full"
        elif e.errno in (errno.EACCES, errno.EPERM):
            reason = "permission denied"
        else:
            reason = e.strerror or str(e)
        filename = e.filename
    return IndexWriteError(
        f"could not write the new generation in {path.parent}: {reason}"
        f"{f' ({filename})' if filename else ''}; the previous generation is untouched"
    )


def _build(
    path: Path,
    sources: list,
    previous: generations.Generation | None,
    result: ReindexResult,
    procs: int,
    max_file_bytes: int,
    progress: Progress | None,
    protected: frozenset[str] = frozenset(),
    sql: str | None = None,
    journal: Journal | None = None,
) -> None:
    old = _open_catalog(previous)
    # Retracted over the API: left out until pushed again, whatever the sources say.
    retracted = journal.retracted() if journal is not None else frozenset()
    report = LoadReport()
    total = 0 if sql is not None else sum(p.stat().st_size for p, _ in find_files(sources))

    if result.mode == "incremental":
        assert previous is not None and old is not None
        generations.link_files(previous.path, path)
        ix = whoosh_index.open_dir(str(path))
    else:
        path.mkdir()
        ix = whoosh_index.create_in(str(path), build_schema(protected))
        if procs > 1:
            workers_die_with_parent()
            word_vectors()  # opened (or built, once per machine) before the writer processes fork
    full = result.mode == "full"
    writers = BulkWriters(ix, path, procs, BULK_SEGMENT_DOCS) if full else IncrementalWriters(ix, path)
    catalog = Catalog.create(path)
    try:
        # An incremental run does not parse again the JSON lines it indexed before.
        known = old.unchanged if result.mode == "incremental" and old is not None else None
        if sql is not None:
            documents = load_rows(sources[0], sql, report, seen=catalog, known=known, withheld=retracted)
        else:
            documents = load_documents(
                sources, report, max_file_bytes=max_file_bytes, seen=catalog, known=known, withheld=retracted
            )
        for done, loaded in enumerate(documents, start=1):
            if progress and done % 200 == 0:
                progress(done, report.bytes_read, total)
            doc = loaded.document
            if isinstance(doc, Unchanged):
                result.unchanged += 1
                continue
            fingerprint = doc.fingerprint
            before = old.get(doc.id) if old is not None else None
            if result.mode == "incremental" and before is not None:
                if before[0] == fingerprint:
                    result.unchanged += 1
                else:
                    writers.next().update_document(**document_fields(doc))
                    result.updated += 1
            else:
                writers.next().add_document(**document_fields(doc))
                if before is None:
                    result.added += 1
                else:
                    result.updated += 1 if before[0] != fingerprint else 0
                    result.unchanged += 1 if before[0] == fingerprint else 0

        # Documents that are gone from the sources: deleted, unless the file
        # that held them could not be read this time, or they were pushed
        # over the API (then they are kept).
        keep: list[tuple[str, str]] = []  # (id, origin)
        if old is not None:
            for doc_id in old.ids_missing_from(catalog):
                fingerprint, origin = old.get(doc_id)  # type: ignore[misc]
                if (origin in report.damaged_files or origin == PUSHED) and doc_id not in retracted:
                    catalog.put(doc_id, fingerprint, origin)
                    keep.append((doc_id, origin))
                else:
                    result.deleted += 1
                    if result.mode == "incremental":
                        writers.next().delete_by_term("id", doc_id)
        result.pushed = sum(1 for _, origin in keep if origin == PUSHED)
        result.kept = len(keep) - result.pushed
        if keep and result.mode == "full":
            assert previous is not None
            with whoosh_index.open_dir(str(previous.path)).searcher() as searcher:
                for doc_id, _ in keep:
                    stored = searcher.document(id=doc_id)
                    if stored is not None:
                        writers.next().add_document(**document_fields(stored_document(stored)))
        result.documents = len(catalog)
        if progress:
            progress(result.documents, report.bytes_read, total)
        writers.commit()
        check_written(path, result.documents, writers.died)
        with whoosh_index.open_dir(str(path)).reader() as reader:
            packed.write_packed(path, reader, procs)
            copies.write_groups(path, reader)
        if full or not (path / prefix_table.FILENAME).exists():
            # An incremental run keeps its predecessor's table (hard-linked):
            # reading the whole vocabulary would double its time (2 s at 20,000).
            prefix_table.write_table(path)
        catalog.close()
    except BaseException:
        writers.cancel()
        catalog.discard()
        raise
    finally:
        if old is not None:
            old.close()

    result.problems = report.problems
    for doc_id, origin in keep:
        if origin == PUSHED:
            continue  # counted in result.pushed
        result.problems.append(
            Problem(origin, None, f"kept the previously indexed {doc_id!r}", skipped=False)
        )
    generations.seal(
        path,
        {
            "generation": result.generation,
            "created": datetime.now().astimezone().isoformat(timespec="seconds"),
            "documents": result.documents,
            "analysis": ANALYSIS_VERSION,
            # Also in the index's pickled analysers (what queries use); here for people.
            "protected_words": sorted(protected_in(ix.schema)),
            "searchsvc": __version__,
            "mode": result.mode,
            "sources": [_shown(s) for s in sources],
            # The pushes it holds: those up to its predecessor's; the applier
            # (.applier) applies the ones received since.
            "journal": int(previous.manifest.get("journal", 0)) if previous is not None else 0,
        },
    )


def _shown(source: str | Path) -> str:
    """A source as messages and the manifest name it: a database URL without its password."""
    return source_name(source) if isinstance(source, str) and is_database_url(source) else str(source)


def _open_catalog(generation: generations.Generation | None) -> Catalog | None:
    if generation is None:
        return None
    try:
        return Catalog.open(generation.path)
    except CatalogError:
        return None
