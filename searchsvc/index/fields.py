"""A document as the index's fields, and back from what the index stored.

The one place that knows which :class:`~.documents.Document` attribute goes
to which field of the schema (:func:`searchsvc.text.schema.build_schema`).
"""

from __future__ import annotations

from datetime import datetime

from ..text.schema import combined_text
from .documents import Document


def document_fields(doc: Document) -> dict:
    """The Whoosh fields of one document."""
    fields = {
        "id": doc.id,
        "title": doc.title,
        "body": doc.body,
        "text": combined_text(doc.title, doc.body),
        "exact": combined_text(doc.title, doc.body),
        "day": int(doc.date.replace("-", "")) if doc.date else 0,
    }
    if doc.date:
        fields["date"] = datetime.fromisoformat(doc.date)
    if doc.source:
        fields["source"] = doc.source
    if doc.url:
        fields["url"] = doc.url
    return fields


def stored_document(stored: dict) -> Document:
    """Rebuild a :class:`Document` from a generation's stored fields."""
    when = stored.get("date")
    return Document(
        id=stored["id"],
        title=stored["title"],
        body=stored.get("body", ""),
        date=when.date().isoformat() if when else None,
        source=stored.get("source"),
        url=stored.get("url"),
    )
