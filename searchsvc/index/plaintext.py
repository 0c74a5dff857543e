"""The plain-text article (``.txt``), the format of ``index_data/corpus/``:
a title line, an optional French date line (``- Le 1er mars 2021``), body
paragraphs one a line, and an optional closing ``Source : …`` line. Its id is
its path relative to the source folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from ..text.normalize import fold
from .decoding import decode
from .documents import Document, InputError, LoadReport, describe_size

FRENCH_MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "decembre": 12,
}  # fmt: skip

_DATE_LINE = re.compile(r"^[-–—]?\s*le\s+(\d{1,2})(?:er)?\s+(\S+)\s+(\d{4})\s*\.?$", re.IGNORECASE)
_SOURCE_LINE = re.compile(r"^source\s*:\s*(.+?)\s*$", re.IGNORECASE)


def read_article(
    path: Path, name: str, report: LoadReport, max_bytes: int
) -> Iterator[tuple[int | None, Document, None]]:
    """The article in ``path``: (no line number, the document, no digest)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"file is {describe_size(size)}, over the {describe_size(max_bytes)} limit "
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
        yield None, doc, None
    except InputError as e:
        report.skip(name, None, str(e))
    except OSError as e:
        report.skip(name, None, f"cannot be read: {e.strerror or e}")


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
