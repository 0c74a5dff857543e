"""Finding a site owner's article files and loading every document in them.

Two formats are read: plain-text articles (:mod:`.plaintext`) and JSON
Lines (:mod:`.jsonlines`). Bad input never stops a load: each file or line
that cannot be read is recorded as a :class:`~.documents.Problem` naming the
file, the line and the reason, and every other document is still returned.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from . import database
from .documents import DEFAULT_MAX_FILE_BYTES, Document, Loaded, LoadReport, Unchanged
from .jsonlines import read_jsonl
from .plaintext import read_article

SUFFIXES = (".txt", ".jsonl")


def find_files(
    sources: Iterable[str | os.PathLike[str]], report: LoadReport | None = None
) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, name)`` for every article file under ``sources``.

    ``name`` is the path relative to the source folder (for a single file,
    its own name); it is the id of a plain-text article. Hidden files and
    folders are passed over; so are files with other suffixes (the suffix is
    matched in any case: ``NOTE.TXT`` is read). Files come in a stable order,
    so two loads of the same folder agree: within a folder its files by name,
    then its sub-folders by name. Names are NFC-normalised, so a folder copied
    from a Mac gives the same ids. A folder that cannot be read is recorded in
    ``report``.
    """

    def unreadable(error: OSError) -> None:
        if report is not None:
            name = Path(error.filename).relative_to(root).as_posix() if error.filename else str(root)
            report.skip(name, None, f"folder cannot be read: {error.strerror or error}")

    for source in sources:
        root = Path(source)
        if root.is_file():
            yield root, unicodedata.normalize("NFC", root.name)
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such file or folder")
        for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or not name.lower().endswith(SUFFIXES):
                    continue
                path = Path(dirpath, name)
                yield path, unicodedata.normalize("NFC", path.relative_to(root).as_posix())


class SeenIds(Protocol):
    """Where each document id was first loaded: the duplicate check."""

    def claim(self, doc: Document | Unchanged, origin: str, line: int | None, digest: bytes | None = None) -> str | None:
        """Record ``doc``'s id (and the digest of the line it was parsed
        from) and return None, or return where (``file:line``) a document
        with that id was loaded before and record nothing."""


class SeenInMemory:
    """:class:`SeenIds` in a dict: one small int a document, not a ``file:line``
    string. The reindex uses its on-disk catalog instead."""

    def __init__(self) -> None:
        self._first: dict[str, int] = {}  # id → (file number << 32) + line
        self._files: dict[str, int] = {}
        self._names: list[str] = []

    def claim(self, doc: Document | Unchanged, origin: str, line: int | None, digest: bytes | None = None) -> str | None:
        first = self._first.get(doc.id)
        if first is not None:
            name = self._names[first >> 32]
            return name + (f":{first & 0xFFFFFFFF}" if first & 0xFFFFFFFF else "")
        number = self._files.setdefault(origin, len(self._names))
        if number == len(self._names):
            self._names.append(origin)
        self._first[doc.id] = (number << 32) + (line or 0)
        return None


def load_documents(
    sources: Iterable[str | os.PathLike[str]],
    report: LoadReport,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    seen: SeenIds | None = None,
    known: Callable[[bytes], Unchanged | None] | None = None,
    withheld: Container[str] = frozenset(),
) -> Iterator[Loaded]:
    """Yield every valid document under ``sources``, recording problems in ``report``.

    A document id seen twice keeps its first occurrence; the second is
    reported and skipped. ``seen`` keeps the ids (in memory by default).
    ``known``: the documents of JSON lines parsed before, by the line's
    digest; such a line is yielded as :class:`~.documents.Unchanged`.
    ``withheld``: ids retracted over the API (:mod:`.journal`), reported
    and left out.
    """
    seen = SeenInMemory() if seen is None else seen
    for path, name in find_files(sources, report):
        report.files_read += 1
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            loaded = read_jsonl(path, name, report, max_file_bytes, known)
        elif suffix == ".txt":
            loaded = read_article(path, name, report, max_file_bytes)
        else:
            report.skip(name, None, f"unsupported file type {path.suffix!r} (use .txt or .jsonl)")
            continue
        yield from _claimed(loaded, name, report, seen, withheld)


def load_rows(
    url: str,
    query: str,
    report: LoadReport,
    *,
    seen: SeenIds | None = None,
    known: Callable[[bytes], Unchanged | None] | None = None,
    withheld: Container[str] = frozenset(),
) -> Iterator[Loaded]:
    """:func:`load_documents` for a database: every valid document ``query``
    returns (:mod:`.database`), duplicates skipped as in files.

    :raises SourceError: the database or the query cannot be read at all.
    """
    seen = SeenInMemory() if seen is None else seen
    yield from _claimed(database.read_query(url, query, report, known), database.source_name(url), report, seen, withheld)


def _claimed(
    loaded, name: str, report: LoadReport, seen: SeenIds, withheld: Container[str] = frozenset()
) -> Iterator[Loaded]:
    """The documents of one source whose id was not seen before (nor retracted)."""
    for line, doc, digest in loaded:
        if doc.id in withheld:
            report.withhold(name, line, doc.id)
            continue
        where = seen.claim(doc, name, line, digest)
        if where is not None:
            report.skip(name, line, f"duplicate id {doc.id!r} (first seen in {where}); skipped")
            continue
        yield Loaded(doc, name)
