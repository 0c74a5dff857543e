"""One document as the generation in use holds it, by id (``GET /api/documents/{id}``)."""

from __future__ import annotations

from whoosh import query as wq
from whoosh.searching import Searcher

from ..index.documents import Document
from ..index.fields import stored_document


def indexed_document(searcher: Searcher, doc_id: str) -> Document | None:
    """The live document with this id, as indexed; ``None`` if there is none
    (never indexed, retracted, or deleted and not yet merged away)."""
    for docnum in searcher.docs_for_query(wq.Term("id", doc_id)):  # deleted documents are skipped
        return stored_document(searcher.stored_fields(docnum))
    return None
