"""A document, and what a load of documents met besides them.

:class:`Document` is what the rest of searchsvc indexes and shows; the
loaders (:mod:`.sources`, reading :mod:`.plaintext` and :mod:`.jsonlines`
files) produce them, recording every file or line they could not use as a
:class:`Problem` that names the file, the line and the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

#: A plain-text article (or one JSON line) larger than this is skipped (a mis-named dump, a log…).
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """One searchable article. ``date`` is an ISO date (``YYYY-MM-DD``)."""

    id: str
    title: str
    body: str
    date: str | None = None
    source: str | None = None
    url: str | None = None

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the content, to tell changed documents from unchanged ones."""
        data = json.dumps(
            [self.id, self.title, self.body, self.date, self.source, self.url],
            ensure_ascii=False,
        )
        return hashlib.blake2b(data.encode("utf-8"), digest_size=12).hexdigest()


@dataclass(frozen=True)
class Problem:
    """Something in the input that was not indexed, or indexed with a caveat."""

    path: str
    line: int | None
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class LoadReport:
    """What a load met besides documents: problems, and where documents came from."""

    problems: list[Problem] = field(default_factory=list)
    files_read: int = 0
    bytes_read: int = 0
    #: Files in which something was skipped: the documents they held before
    #: must not be dropped from the index on the strength of this load.
    damaged_files: set[str] = field(default_factory=set)

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.skipped]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.skipped]

    def skip(self, path: str, line: int | None, reason: str) -> None:
        self.problems.append(Problem(path, line, reason))
        self.damaged_files.add(path)

    def withhold(self, path: str, line: int | None, doc_id: str) -> None:
        """A document retracted over the API: left out, but its file is not
        damaged (the other documents it held before may still be dropped)."""
        self.problems.append(
            Problem(path, line, f"{doc_id!r} was retracted over the API: left out (push it again to bring it back)")
        )

    def warn(self, path: str, line: int | None, reason: str) -> None:
        self.problems.append(Problem(path, line, reason, skipped=False))


@dataclass(frozen=True)
class Unchanged:
    """A document read from exactly the bytes the previous generation parsed
    it from, cleanly: not parsed again (an incremental reindex of a large
    JSON Lines file spent half its time parsing what had not changed)."""

    id: str
    fingerprint: str


@dataclass(frozen=True)
class Loaded:
    """A document with the file it came from (``origin``), relative to its source."""

    document: Document | Unchanged
    origin: str


class InputError(ValueError):
    """A file or line that cannot become a document; the message says why."""


def describe_size(n: int) -> str:
    """A byte count for a message: ``'12.5 MB'``, ``'3.0 KB'``, ``'200 bytes'``."""
    if n >= 1048576:
        return f"{n / 1048576:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"
