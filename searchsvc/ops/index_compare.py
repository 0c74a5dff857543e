"""Whether two Whoosh indexes hold the same documents the same way.

The bulk segment writer promises an index that Whoosh reads exactly as what
its own writer makes. This compares two indexes as a reader sees them,
document by document in order: stored fields, field lengths, column values,
and every term's postings (documents, weights, positions) and term
statistics, and, between two single-segment indexes, every block's
statistics (what skipping reads). Used by the tests (the bundled corpus) and by
``bench/checks/same_index.py`` (any corpus).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from whoosh import index as whoosh_index


def differences(a: Path, b: Path, limit: int = 20) -> list[str]:
    """Up to ``limit`` differences between the indexes in ``a`` and ``b``
    (none: the same index, as far as any reader can tell)."""
    found: list[str] = []
    for difference in _walk(Path(a), Path(b)):
        found.append(difference)
        if len(found) >= limit:
            break
    return found


def _walk(a: Path, b: Path) -> Iterator[str]:
    ix_a, ix_b = whoosh_index.open_dir(str(a)), whoosh_index.open_dir(str(b))
    with ix_a.reader() as ra, ix_b.reader() as rb:
        if ra.doc_count_all() != rb.doc_count_all():
            yield f"documents: {ra.doc_count_all()} != {rb.doc_count_all()}"
            return
        schema = ix_a.schema
        if sorted(schema.names()) != sorted(ix_b.schema.names()):
            yield f"fields: {schema.names()} != {ix_b.schema.names()}"
            return
        for docnum in range(ra.doc_count_all()):
            sa, sb = ra.stored_fields(docnum), rb.stored_fields(docnum)
            if sa != sb:
                yield f"stored fields of document {docnum}: {sa!r} != {sb!r}"
        for name, field in schema.items():
            if field.scorable:
                if ra.field_length(name) != rb.field_length(name):
                    yield f"{name}: total length {ra.field_length(name)} != {rb.field_length(name)}"
                for docnum in range(ra.doc_count_all()):
                    la, lb = ra.doc_field_length(docnum, name), rb.doc_field_length(docnum, name)
                    if la != lb:
                        yield f"{name}: length of document {docnum}: {la} != {lb}"
            if field.column_type:
                ca, cb = list(ra.column_reader(name)), list(rb.column_reader(name))
                if ca != cb:
                    yield f"{name}: column values differ"
            if field.indexed:
                yield from _terms(ra, rb, name, field)


def _terms(ra, rb, name: str, field) -> Iterator[str]:
    terms_a, terms_b = list(ra.lexicon(name)), list(rb.lexicon(name))
    if terms_a != terms_b:
        only_a, only_b = set(terms_a) - set(terms_b), set(terms_b) - set(terms_a)
        yield f"{name}: terms differ ({len(only_a)} only in the first, {len(only_b)} only in the second)"
        return
    positions = field.format.supports("positions")
    for term in terms_a:
        ia, ib = ra.term_info(name, term), rb.term_info(name, term)
        stats_a = (ia.weight(), ia.doc_frequency(), ia.min_length(), ia.max_length(), ia.max_weight(), ia.min_id(), ia.max_id())
        stats_b = (ib.weight(), ib.doc_frequency(), ib.min_length(), ib.max_length(), ib.max_weight(), ib.min_id(), ib.max_id())
        if stats_a != stats_b:
            yield f"{name}:{term!r}: term statistics {stats_a} != {stats_b}"
        pa, pb = _postings(ra, name, term, positions), _postings(rb, name, term, positions)
        if pa != pb:
            yield f"{name}:{term!r}: postings differ"
        if not (ra.is_atomic() and rb.is_atomic()):
            continue  # blocks are per segment: comparable only between single segments
        ba, bb = _blocks(ra, name, term), _blocks(rb, name, term)
        if ba != bb:
            yield f"{name}:{term!r}: block statistics {ba[:3]} != {bb[:3]}"


def _postings(reader, name: str, term: bytes, positions: bool) -> list[tuple]:
    m = reader.postings(name, term)
    out = []
    while m.is_active():
        out.append((m.id(), m.weight(), tuple(m.value_as("positions")) if positions else None))
        m.next()
    return out


def _blocks(reader, name: str, term: bytes) -> list[tuple]:
    """Each block's statistics, what Whoosh's block-skipping reads."""
    m = reader.postings(name, term)
    out = []
    while m.is_active():
        if not hasattr(m, "block_max_weight"):
            return out
        out.append((m.block_min_id(), m.block_max_id(), m.block_max_weight(), m.block_min_length(), m.block_max_length()))
        m.skip_to(m.block_max_id() + 1)
    return out
