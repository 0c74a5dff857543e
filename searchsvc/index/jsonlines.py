"""JSON Lines (``.jsonl``): one document a line, ``{"id", "title", "body",
"date", "source", "url"}`` (``id`` and ``title`` required, other keys
ignored), as in ``../shared/data/*/docs.jsonl``. A bad line is reported with
its number and skipped; the others are read."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path

from .decoding import MOJIBAKE, repair_mojibake
from .documents import Document, InputError, LoadReport, Unchanged, describe_size

#: Part of each line's digest: a version of the parsing, so that lines read
#: by an older parser are parsed again.
LINE_DIGEST_VERSION = b"searchsvc-jsonl1"


def line_digest(raw: bytes) -> bytes:
    """What says that a line is byte for byte the one parsed before."""
    return hashlib.blake2b(raw, digest_size=12, person=LINE_DIGEST_VERSION).digest()


def read_jsonl(
    path: Path,
    name: str,
    report: LoadReport,
    max_bytes: int,
    known: Callable[[bytes], Unchanged | None] | None = None,
) -> Iterator[tuple[int, Document | Unchanged, bytes | None]]:
    """Each document of a JSON Lines file: (line number, document, the
    line's digest, or None when the line needed a note). With ``known``
    (digest → the document parsed from that line before, cleanly), a line
    seen before is not parsed again."""
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
                digest = line_digest(raw) if size <= max_bytes else None
                if known is not None and digest is not None:
                    unchanged = known(digest)
                    if unchanged is not None:
                        yield number, unchanged, digest
                        continue
                try:
                    if size > max_bytes:
                        raise InputError(
                            f"line is {describe_size(size)}, over the {describe_size(max_bytes)} limit "
                            "for one document (SEARCHSVC_MAX_FILE_MB)"
                        )
                    notes: list[str] = []
                    doc = parse_json_document(raw, notes=notes)
                except InputError as e:
                    report.skip(name, number, str(e))
                    continue
                for reason in notes:
                    report.warn(name, number, reason)
                yield number, doc, None if notes else digest
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
    return document_from_record(data, notes=notes)


def document_from_record(data: Mapping[str, object], *, notes: list[str] | None = None) -> Document:
    """A :class:`Document` from one record's keys (``id``, ``title``,
    ``body``, ``date``, ``source``, ``url``), checked as a JSON line's are:
    a JSON object, or a row of a database query (:mod:`.database`).

    Raises :class:`InputError` when it cannot become a document; notes as
    :func:`parse_json_document`.
    """
    notes = notes if notes is not None else []

    def text_field(key: str, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                raise InputError(f"missing {key!r}")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise InputError(f"{key!r} must be a string, got {type(value).__name__}")
        value = str(value)
        if MOJIBAKE.search(value):
            value = repair_mojibake(value)
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
