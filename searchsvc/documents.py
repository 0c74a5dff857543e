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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from .analysis import fold

#: A plain-text article larger than this is skipped (a mis-named dump, a log…).
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024

SUFFIXES = (".txt", ".jsonl")

FRENCH_MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "decembre": 12,
}  # fmt: skip

_DATE_LINE = re.compile(r"^[-–—]?\s*le\s+(\d{1,2})(?:er)?\s+(\S+)\s+(\d{4})\s*\.?$", re.IGNORECASE)
_SOURCE_LINE = re.compile(r"^source\s*:\s*(.+?)\s*$", re.IGNORECASE)
_CONTROL = re.compile("[\x01-\x08\x0b\x0e-\x1f\x7f]")
# Signs of UTF-8 text that was once decoded as Windows-1252 ("Ã©" for "é").
_MOJIBAKE = re.compile(
    "[ÃÂâÅ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u2018-\u203a\u20ac\u2122]"
)


def _cp1252_table() -> dict[str, int]:
    """Each character that Windows-1252 decoding produces for a byte >= 0x80.

    The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
    usually come out of a mis-decoding as the C1 control of the same number.
    """
    table = {}
    for byte in range(0x80, 0x100):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            char = chr(byte)
        table[char] = byte
    return table


_CP1252 = _cp1252_table()
_CONTINUATION = re.escape("".join(c for c, b in _CP1252.items() if 0x80 <= b <= 0xBF))
# One mis-decoded UTF-8 sequence of the kinds French text produces: Ã… (the
# accented Latin-1 letters), Â… (no-break space, « », °), Å… (œ, Œ) and
# â€… (’ “ ” – — … €). Other lead bytes are left alone: "é\u00a0»" or
# "É\u00a0!" are ordinary French, not mojibake.
_MOJIBAKE_SEQUENCE = re.compile(f"[ÃÂÅ][{_CONTINUATION}]|â[{_CONTINUATION}]{{2}}")


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

    def claim(self, doc: Document, origin: str, line: int | None) -> str | None:
        """Record ``doc``'s id and return None, or return where (``file:line``)
        a document with that id was loaded before and record nothing."""


class SeenInMemory:
    """:class:`SeenIds` in a dict: one small int a document, not a ``file:line``
    string. The reindex uses its on-disk catalog instead."""

    def __init__(self) -> None:
        self._first: dict[str, int] = {}  # id → (file number << 32) + line
        self._files: dict[str, int] = {}
        self._names: list[str] = []

    def claim(self, doc: Document, origin: str, line: int | None) -> str | None:
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
) -> Iterator[Loaded]:
    """Yield every valid document under ``sources``, recording problems in ``report``.

    A document id seen twice keeps its first occurrence; the second is
    reported and skipped. ``seen`` keeps the ids (in memory by default).
    """
    seen = SeenInMemory() if seen is None else seen
    for path, name in find_files(sources, report):
        report.files_read += 1
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            loaded = _read_jsonl(path, name, report, max_file_bytes)
        elif suffix == ".txt":
            loaded = _read_article(path, name, report, max_file_bytes)
        else:
            report.skip(name, None, f"unsupported file type {path.suffix!r} (use .txt or .jsonl)")
            continue
        for line, doc in loaded:
            where = seen.claim(doc, name, line)
            if where is not None:
                report.skip(name, line, f"duplicate id {doc.id!r} (first seen in {where}); skipped")
                continue
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
                f"file is {_size(size)}, over the {_size(max_bytes)} limit "
                "for one article (SEARCHSVC_MAX_FILE_MB)"
            )
        raw = path.read_bytes()
        report.bytes_read += len(raw)
        text, note = decode(raw)
        if note:
            report.warn(name, None, note)
        notes: list[tuple[int, str]] = []
        doc = parse_article(text, name, notes=notes)
        for line, reason in notes:
            report.warn(name, line, reason)
        yield None, doc
    except InputError as e:
        report.skip(name, None, str(e))
    except OSError as e:
        report.skip(name, None, f"cannot be read: {e.strerror or e}")


def _size(n: int) -> str:
    """A byte count for a message: ``'12.5 MB'``, ``'3.0 KB'``, ``'200 bytes'``."""
    if n >= 1048576:
        return f"{n / 1048576:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def _repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Windows-1252 ("Ã©tÃ©" → "été").

    The whole text is re-decoded when it can be (every non-ASCII character
    then came from a mis-decoding); otherwise each mis-decoded sequence is
    repaired on its own, so a text that mixes mojibake with correct accents,
    or a file that mixes UTF-8 with Windows-1252 bytes, is repaired too.
    Raises :class:`InputError` when signs of mojibake are left.
    """
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        pass

    def one(m: re.Match[str]) -> str:
        try:
            return bytes(_CP1252[c] for c in m.group()).decode("utf-8")
        except UnicodeDecodeError:
            return m.group()

    text = _MOJIBAKE_SEQUENCE.sub(one, text)
    left = _MOJIBAKE.search(text)
    if left:
        raise InputError(
            f"double-encoded UTF-8 (mojibake) that cannot be repaired: {left.group()!r} "
            f"at character {left.start()}"
        )
    return text


def decode(raw: bytes) -> tuple[str, str | None]:
    """Decode a file's bytes to NFC text, with a note when it was not plain UTF-8.

    UTF-8, with or without BOM, is read as such; a file that is not valid
    UTF-8 is read as Windows-1252, the usual legacy French encoding (UTF-8
    sequences mixed into it are repaired); UTF-8 text that was once
    mis-decoded ("Ã©tÃ©") is repaired, or refused when it cannot be. Anything
    else, binary data and UTF-16 included, raises :class:`InputError` rather
    than indexing garbage.
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
            text = raw.removeprefix(b"\xef\xbb\xbf").decode("cp1252")
        except UnicodeDecodeError:
            raise InputError(
                f"neither UTF-8 nor Windows-1252 (invalid byte at offset {e.start}); "
                "convert it to UTF-8"
            ) from None
        note = f"not UTF-8 (invalid byte at offset {e.start}): read as Windows-1252"
        if _MOJIBAKE.search(text):
            # UTF-8 and Windows-1252 mixed in one file: "Ã©" is a UTF-8 "é".
            text = _repair_mojibake(text)
            note += ", with the UTF-8 parts repaired"
    else:
        if _MOJIBAKE.search(text):
            text = _repair_mojibake(text)
            note = "double-encoded UTF-8 (mojibake) repaired"
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


def parse_article(text: str, name: str, *, notes: list[tuple[int, str]] | None = None) -> Document:
    """Parse one plain-text article (see the module docstring for the layout).

    A date line whose date cannot be read (``- Le 31 février 2021``) does not
    lose the article: it is loaded without a date, and ``(line number,
    reason)`` is appended to ``notes`` when given. Raises :class:`InputError`
    for an empty text or a missing title.
    """
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    numbered = [(n, line) for n, line in numbered if line]
    if not numbered:
        raise InputError("empty file")
    try:
        first_is_date = parse_french_date(numbered[0][1]) is not None
    except InputError:
        first_is_date = True
    if first_is_date:
        raise InputError(f"missing title: line {numbered[0][0]} is a date line")
    title, rest = numbered[0][1], numbered[1:]
    when = None
    if rest:
        number, line = rest[0]
        try:
            when = parse_french_date(line)
        except InputError as e:
            rest = rest[1:]
            if notes is not None:
                notes.append((number, f"{e}; the article is loaded without a date"))
        else:
            if when is not None:
                rest = rest[1:]
    lines = [line for _, line in rest]
    source = None
    if lines:
        m = _SOURCE_LINE.match(lines[-1])
        if m:
            source, lines = m.group(1), lines[:-1]
    return Document(id=name, title=title, body="\n".join(lines), date=when, source=source)


# --------------------------------------------------------------------------
# JSON Lines


def _read_jsonl(
    path: Path, name: str, report: LoadReport, max_bytes: int
) -> Iterator[tuple[int, Document]]:
    try:
        with path.open("rb") as f:
            number = 0
            blank = True
            while raw := f.readline(max_bytes + 1):
                number += 1
                size = len(raw)
                if size > max_bytes:
                    # Too long to be one document: skip the rest of the line
                    # without holding it in memory.
                    while not raw.endswith(b"\n") and (raw := f.readline(1 << 20)):
                        size += len(raw)
                report.bytes_read += size
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if size <= max_bytes and not raw.strip():
                    continue
                blank = False
                try:
                    if size > max_bytes:
                        raise InputError(
                            f"line is {_size(size)}, over the {_size(max_bytes)} limit "
                            "for one document (SEARCHSVC_MAX_FILE_MB)"
                        )
                    notes: list[str] = []
                    doc = parse_json_document(raw, notes=notes)
                except InputError as e:
                    report.skip(name, number, str(e))
                    continue
                for reason in notes:
                    report.warn(name, number, reason)
                yield number, doc
            if blank:
                report.skip(name, None, "empty file: no JSON line in it")
    except OSError as e:
        report.skip(name, None, f"cannot be read: {e.strerror or e}")


def _iso_date(value: str) -> str:
    """``2020-07-02`` or a full ISO timestamp → ``2020-07-02``; anything else raises."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return datetime.fromisoformat(value).date().isoformat()


def parse_json_document(raw: bytes | str, *, notes: list[str] | None = None) -> Document:
    """Parse one JSON Lines record into a :class:`Document`.

    Raises :class:`InputError` when it cannot become a document. A ``date``
    that is no ISO date does not lose the document: it is loaded without a
    date. That, and repaired mojibake, are appended to ``notes`` when given.
    """
    notes = notes if notes is not None else []
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 (invalid byte at column {e.start + 1})") from None
    try:
        # Without its line end, so that an error at the end of the line is
        # reported at its column rather than at "column 1" of a next line.
        data = json.loads(text.rstrip("\r\n"))
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
        value = str(value)
        if _MOJIBAKE.search(value):
            value = _repair_mojibake(value)
            notes.append(f"double-encoded UTF-8 (mojibake) repaired in {key!r}")
        value = unicodedata.normalize("NFC", value).strip()
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
            when = _iso_date(when)
        except ValueError:
            notes.append(
                f"'date' must be an ISO date (YYYY-MM-DD), got {when!r}; "
                "the document is loaded without a date"
            )
            when = None
    return Document(
        id=doc_id,  # type: ignore[arg-type]
        title=title,  # type: ignore[arg-type]
        body=body,
        date=when,
        source=text_field("source"),
        url=_web_url(text_field("url"), notes),
    )


def _web_url(url: str | None, notes: list[str]) -> str | None:
    """``url`` if it is an http(s) address (or a path on the site), else None
    with a note: a ``javascript:`` or ``data:`` link in a result would run
    in the reader's page."""
    if url is None:
        return None
    scheme = url.split(":", 1)[0].lower() if ":" in url.split("/", 1)[0] else ""
    if scheme in ("http", "https") or (not scheme and url.startswith("/") and not url.startswith("//")):
        return url
    notes.append(f"'url' must be an http(s) address or a path, got {url[:80]!r}; loaded without it")
    return None
