"""Documents and the loaders that read them from a site owner's files.

Two formats are read:

* the plain-text article (``.txt``): a title line, an optional French date
  line (``- Le 1er mars 2021``), body paragraphs one a line, and an optional
  closing ``Source : …`` line. Its id is its path relative to the source folder.
* JSON Lines (``.jsonl``): one object a line with ``id``, ``title``, ``body``
  and optional ``date`` (ISO), ``source`` and ``url``.

Bad input never stops a load: each file or line that cannot be read is
recorded as a :class:`Problem` naming the file, the line and the reason, and
every other document is still returned.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

from .analysis import fold

#: A plain-text article larger than this is skipped (a mis-named dump, a log…).
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024

SUFFIXES = (".txt", ".jsonl")

FRENCH_MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "decembre": 12,
}  # fmt: skip

_DATE_LINE = re.compile(r"^[-–—]?\s*le\s+(\d{1,2})(?:er)?\s+(\S+)\s+(\d{4})\s*\.?$", re.I)
_SOURCE_LINE = re.compile(r"^source\s*:\s*(.+?)\s*$", re.I)
_CONTROL = re.compile("[\x01-\x08\x0b\x0e-\x1f\x7f]")
# Signs of UTF-8 text that was once decoded as Windows-1252 ("Ã©" for "é").
_MOJIBAKE = re.compile("[ÃÂâÅ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u2018-\u203a\u20ac\u2122]")


@dataclass(frozen=True)
class Document:
    """One searchable article. ``date`` is an ISO date (``YYYY-MM-DD``)."""

    id: str
    title: str
    body: str
    date: str | None = None
    source: str | None = None
    url: str | None = None

    @property
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

    def warn(self, path: str, line: int | None, reason: str) -> None:
        self.problems.append(Problem(path, line, reason, skipped=False))


@dataclass(frozen=True)
class Loaded:
    """A document with the file it came from (``origin``), relative to its source."""

    document: Document
    origin: str


class InputError(ValueError):
    """A file or line that cannot become a document; the message says why."""


# --------------------------------------------------------------------------
# Finding files


def find_files(sources: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, name)`` for every article file under ``sources``.

    ``name`` is the path relative to the source folder (for a single file,
    its own name); it is the id of a plain-text article. Hidden files and
    folders are passed over; so are files with other suffixes. Files come in
    a stable order, so two loads of the same folder agree.
    """
    for source in sources:
        root = Path(source)
        if root.is_file():
            yield root, root.name
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such file or folder")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or not name.endswith(SUFFIXES):
                    continue
                path = Path(dirpath, name)
                yield path, path.relative_to(root).as_posix()


def load_documents(
    sources: Iterable[str | os.PathLike[str]],
    report: LoadReport,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Iterator[Loaded]:
    """Yield every valid document under ``sources``, recording problems in ``report``.

    A document id seen twice keeps its first occurrence; the second is
    reported and skipped.
    """
    seen: dict[str, str] = {}
    for path, name in find_files(sources):
        report.files_read += 1
        if path.suffix == ".jsonl":
            loaded = _read_jsonl(path, name, report, max_file_bytes)
        elif path.suffix == ".txt":
            loaded = _read_article(path, name, report, max_file_bytes)
        else:
            report.skip(name, None, f"unsupported file type {path.suffix!r} (use .txt or .jsonl)")
            continue
        for line, doc in loaded:
            first = seen.get(doc.id)
            if first is not None:
                report.skip(name, line, f"duplicate id {doc.id!r} (first seen in {first}); skipped")
                continue
            seen[doc.id] = f"{name}:{line}" if line else name
            yield Loaded(doc, name)


# --------------------------------------------------------------------------
# Plain-text articles


def _read_article(
    path: Path, name: str, report: LoadReport, max_bytes: int
) -> Iterator[tuple[int | None, Document]]:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"file is {size / 1048576:.1f} MB, over the {max_bytes / 1048576:.0f} MB limit "
                "for one article (SEARCHSVC_MAX_FILE_MB)"
            )
        raw = path.read_bytes()
        report.bytes_read += len(raw)
        text, note = decode(raw)
        if note:
            report.warn(name, None, note)
        yield None, parse_article(text, name)
    except InputError as e:
        report.skip(name, None, str(e))
    except OSError as e:
        report.skip(name, None, f"cannot be read: {e.strerror or e}")


def decode(raw: bytes) -> tuple[str, str | None]:
    """Decode a file's bytes to NFC text, with a note when it was not plain UTF-8.

    UTF-8, with or without BOM, is read as such; a file that is not valid
    UTF-8 is read as Windows-1252, the usual legacy French encoding; UTF-8
    text that was once mis-decoded ("Ã©tÃ©") is repaired. Anything else, binary
    data and UTF-16 included, raises :class:`InputError` rather than indexing
    garbage.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("UTF-16 text: convert it to UTF-8")
    if b"\x00" in raw:
        raise InputError("binary file (contains NUL bytes), not a text article")
    note = None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise InputError(
                f"neither UTF-8 nor Windows-1252 (invalid byte at offset {e.start}); "
                "convert it to UTF-8"
            ) from None
        note = "not UTF-8: read as Windows-1252"
    else:
        if _MOJIBAKE.search(text):
            try:
                text = text.encode("cp1252").decode("utf-8")
                note = "double-encoded UTF-8 (mojibake) repaired"
            except UnicodeError:
                pass
    controls = len(_CONTROL.findall(text))
    if controls > max(2, len(text) // 1000):
        raise InputError(f"binary file ({controls} control characters), not a text article")
    return unicodedata.normalize("NFC", text), note


def parse_french_date(text: str) -> str | None:
    """``'- Le 1er Mars 2021'`` → ``'2021-03-01'``; ``None`` when it is no date line.

    Raises :class:`InputError` for a date line whose date does not exist.
    """
    m = _DATE_LINE.match(text.strip())
    if not m:
        return None
    day, month_name, year = m.groups()
    month = FRENCH_MONTHS.get(fold(month_name))
    if month is None:
        raise InputError(f"unknown month {month_name!r} in date line {text.strip()!r}")
    try:
        return date(int(year), month, int(day)).isoformat()
    except ValueError:
        raise InputError(f"no such date: {text.strip()!r}") from None


def parse_article(text: str, name: str) -> Document:
    """Parse one plain-text article (see the module docstring for the layout)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise InputError("empty file")
    try:
        first_is_date = parse_french_date(lines[0]) is not None
    except InputError:
        first_is_date = True
    if first_is_date:
        raise InputError("missing title: the first line is a date line")
    title, rest = lines[0], lines[1:]
    when = None
    if rest:
        when = parse_french_date(rest[0])
        if when is not None:
            rest = rest[1:]
    source = None
    if rest:
        m = _SOURCE_LINE.match(rest[-1])
        if m:
            source, rest = m.group(1), rest[:-1]
    return Document(id=name, title=title, body="\n".join(rest), date=when, source=source)


# --------------------------------------------------------------------------
# JSON Lines


def _read_jsonl(
    path: Path, name: str, report: LoadReport, max_bytes: int
) -> Iterator[tuple[int, Document]]:
    try:
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                report.bytes_read += len(raw)
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                try:
                    if len(raw) > max_bytes:
                        raise InputError(
                            f"line is {len(raw) / 1048576:.1f} MB, over the "
                            f"{max_bytes / 1048576:.0f} MB limit for one document "
                            "(SEARCHSVC_MAX_FILE_MB)"
                        )
                    yield number, parse_json_document(raw)
                except InputError as e:
                    report.skip(name, number, str(e))
    except OSError as e:
        report.skip(name, None, f"cannot be read: {e.strerror or e}")


def parse_json_document(raw: bytes | str) -> Document:
    """Parse one JSON Lines record into a :class:`Document`."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 (invalid byte at column {e.start + 1})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object, got {type(data).__name__}")

    def text_field(key: str, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                raise InputError(f"missing {key!r}")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InputError(f"{key!r} must be a string, got {type(value).__name__}")
        value = unicodedata.normalize("NFC", str(value)).strip()
        if "\x00" in value:
            raise InputError(f"{key!r} contains a NUL character")
        if required and not value:
            raise InputError(f"missing {key!r}")
        return value or None

    doc_id = text_field("id", required=True)
    title = text_field("title", required=True)
    body = text_field("body") or ""
    when = text_field("date")
    if when is not None:
        try:
            when = date.fromisoformat(when[:10]).isoformat()
        except ValueError:
            raise InputError(f"'date' must be an ISO date (YYYY-MM-DD), got {when!r}") from None
    return Document(
        id=doc_id,  # type: ignore[arg-type]
        title=title,  # type: ignore[arg-type]
        body=body,
        date=when,
        source=text_field("source"),
        url=text_field("url"),
    )
