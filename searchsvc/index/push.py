"""Documents pushed and retracted over the API: a request's body checked as
the reindex checks a JSON Lines file, then recorded in the journal.

:func:`push` and :func:`retract` return once the change is durable (in
:mod:`.journal`); the applier (:mod:`.applier`) makes it searchable.
Each document of a body is accepted or refused on its own, with the same
reasons a reindex gives for a JSON line (:func:`~.jsonlines.document_from_record`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import QueryError, UnsupportedMediaType
from .documents import Document, InputError
from .journal import Journal
from .jsonlines import document_from_record, parse_json_document

#: The largest body accepted (``PUT /api/documents``).
MAX_BODY_BYTES = 10 * 1024 * 1024
#: The longest id accepted, in characters (an id is also a URL path segment).
MAX_ID_CHARS = 512
#: Body formats, by media type: a JSON array of objects, or one object a line.
ARRAY_TYPES = ("application/json",)
LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines", "application/x-jsonlines")


@dataclass(frozen=True)
class Refusal:
    """A document of a body that was not accepted: where it was, its id if
    it had one, and why (the reindex's own reasons)."""

    position: int  # 1-based: the element of the array, or the line
    id: str | None
    reason: str

    def to_dict(self) -> dict:
        return {"position": self.position, "id": self.id, "reason": self.reason}


@dataclass
class PushResult:
    """What a push recorded: the ids accepted (durable), the refusals, and
    notes on accepted documents (a date or url left out, as a reindex warns)."""

    accepted: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    warnings: list[Refusal] = field(default_factory=list)
    sequence: int = 0

    def to_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "refused": [r.to_dict() for r in self.refused],
            "warnings": [w.to_dict() for w in self.warnings],
            "sequence": self.sequence,
        }


def body_format(content_type: str | None) -> str:
    """``"array"`` or ``"lines"`` for a request's media type.

    :raises QueryError: another media type (the web edge answers 415).
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ARRAY_TYPES:
        return "array"
    if media in LINES_TYPES:
        return "lines"
    raise UnsupportedMediaType(
        f"Content-Type must be application/json (a JSON array of documents) or "
        f"application/x-ndjson (one document a line), not {media or 'missing'!r}"
    )


def read_documents(body: bytes, content_type: str | None) -> tuple[list[Document], PushResult]:
    """Check every document of ``body``: the documents accepted, and the
    result to answer with (nothing is recorded).

    :raises QueryError: the body as a whole cannot be read (not UTF-8, not a
        JSON array, empty, too large).
    """
    kind = body_format(content_type)
    if len(body) > MAX_BODY_BYTES:
        raise QueryError(f"the body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB: send fewer documents at a time")
    result = PushResult()
    documents: list[Document] = []
    seen: dict[str, int] = {}
    for position, read, hint in _records(body, kind):
        notes: list[str] = []
        try:
            doc = read(notes)
        except InputError as e:
            result.refused.append(Refusal(position, hint, str(e)))
            continue
        if len(doc.id) > MAX_ID_CHARS:
            result.refused.append(Refusal(position, doc.id[:80] + "…", f"'id' is longer than {MAX_ID_CHARS} characters"))
        elif doc.id in seen:
            result.refused.append(
                Refusal(position, doc.id, f"duplicate id {doc.id!r} (first at position {seen[doc.id]}); skipped")
            )
        else:
            seen[doc.id] = position
            documents.append(doc)
            result.warnings.extend(Refusal(position, doc.id, note) for note in notes)
    if not documents and not result.refused:
        raise QueryError("the body holds no document")
    result.accepted = [doc.id for doc in documents]
    return documents, result


def _records(body: bytes, kind: str):
    """``(position, read(notes) -> Document, id if known)`` for each record of the body."""
    if kind == "lines":
        for position, line in enumerate(body.splitlines(), start=1):
            if line.strip():
                yield position, lambda notes, line=line: parse_json_document(line, notes=notes), None
        return
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise QueryError(f"the body is not UTF-8 (invalid byte at {e.start})") from None
    except json.JSONDecodeError as e:
        raise QueryError(f"the body is not JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    if isinstance(data, dict):
        data = [data]  # one document alone
    if not isinstance(data, list):
        raise QueryError(f"the body must be a JSON array of documents, not a JSON {type(data).__name__}")
    for position, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            yield position, _not_an_object(record), None
            continue
        hint = record.get("id")
        hint = str(hint) if isinstance(hint, str | int) and not isinstance(hint, bool) else None
        yield position, lambda notes, record=record: document_from_record(record, notes=notes), hint


def _not_an_object(record: object):
    def read(notes: list[str]) -> Document:
        raise InputError(f"expected a JSON object, got {type(record).__name__}")

    return read


def push(journal: Journal, body: bytes, content_type: str | None) -> PushResult:
    """Check the documents of ``body`` and record those accepted, durably;
    return once they are on disk."""
    documents, result = read_documents(body, content_type)
    if documents:
        result.sequence = journal.record(documents)
    return result


def retract(journal: Journal, doc_id: str) -> int:
    """Record that ``doc_id`` is retracted, durably; its sequence number."""
    if not doc_id.strip() or len(doc_id) > MAX_ID_CHARS:
        raise QueryError(f"a document id is 1 to {MAX_ID_CHARS} characters")
    return journal.record(retracted=[doc_id])
