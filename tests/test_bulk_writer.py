"""The bulk segment writer writes the index Whoosh's own writer writes.

The same documents, in the same order, go through Whoosh's ``SegmentWriter``
and through :class:`~searchsvc.index.segment_builder.SegmentBuilder`; the two
indexes are then read by an unpatched Whoosh and compared document by
document and term by term (:mod:`searchsvc.ops.index_compare`): stored
fields, lengths, columns, every posting's document, weight and positions,
every term's and every block's statistics.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.index import TOC

from searchsvc.index import packed, segment_builder, w3blocks
from searchsvc.index.documents import LoadReport
from searchsvc.index.fields import document_fields
from searchsvc.index.sources import load_documents
from searchsvc.ops.index_compare import differences
from searchsvc.text import whoosh_patches
from searchsvc.text.meaning import document_vector, title_vector
from searchsvc.text.schema import build_schema

ROOT = Path(__file__).resolve().parents[1]
#: Every 10th bundled article: 300, enough for lists of several blocks.
ARTICLES = sorted((ROOT / "index_data" / "corpus" / "orangesum").glob("*.txt"))[::10]


def load(paths: list[Path]) -> list[dict]:
    return [document_fields(loaded.document) for loaded in load_documents(paths, LoadReport())]


def whoosh_build(folder: Path, docs: list[dict]) -> Path:
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema(["otan"]))
    with ix.writer() as writer:
        for fields in docs:  # the vector the bulk writer computes itself
            vectors = {
                "meaning": document_vector(fields["title"], fields.get("body") or ""),
                "title_meaning": title_vector(fields["title"]),
            }
            writer.add_document(**vectors, **fields)
    return folder


def bulk_build(folder: Path, docs: list[dict], segment_docs: int | None = None) -> Path:
    """Build with the bulk writer, one segment per ``segment_docs``."""
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema(["otan"]))
    words = segment_builder.Words(segment_builder.word_caches(ix.schema))
    segments, builder = [], None
    for fields in docs:
        if builder is None:
            builder = segment_builder.SegmentBuilder(ix.storage, ix.schema, words)
        builder.add_document(**fields)
        if segment_docs and len(builder) >= segment_docs:
            segments.append(builder.finish(folder))
            builder = None
    if builder is not None:
        segments.append(builder.finish(folder))
    TOC(ix.schema, segments, 1).write(ix.storage, ix.indexname)
    return folder


@pytest.fixture
def plain_whoosh():
    """Whoosh as installed, without searchsvc's patches (restored after)."""
    from whoosh.codec import whoosh3
    from whoosh.filedb import structfile

    saved = (
        whoosh3.W3PerDocReader.doc_field_length,
        structfile.BufferFile.__init__,
        structfile.StructFile.read_pickle,
    )
    whoosh_patches.uninstall()
    whoosh_patches.uninstall_reader()
    yield
    (
        whoosh3.W3PerDocReader.doc_field_length,
        structfile.BufferFile.__init__,
        structfile.StructFile.read_pickle,
    ) = saved


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    docs = load(ARTICLES)
    root = tmp_path_factory.mktemp("bulk")
    return docs, whoosh_build(root / "whoosh", docs), bulk_build(root / "bulk", docs)


@pytest.fixture(scope="module")
def small(bundled, tmp_path_factory):
    """The first 60 of them, and Whoosh's index of those: where the size does not matter."""
    docs = bundled[0][:60]
    return docs, whoosh_build(tmp_path_factory.mktemp("bulk-small") / "whoosh", docs)


def test_the_bulk_writer_writes_what_whoosh_writes(bundled, plain_whoosh):
    docs, whoosh_dir, bulk_dir = bundled
    assert len(docs) == 300
    assert differences(whoosh_dir, bulk_dir) == []


def test_the_comparison_sees_a_changed_posting(small, tmp_path, monkeypatch, plain_whoosh):
    """A weight off by a half in one term's list is a difference."""
    docs, whoosh_dir = small
    original = segment_builder._TermRuns.postings

    def postings(self, lengths):
        for part in original(self, lengths):
            if self.name == "text":
                part.weights[len(part.weights) // 2] += 0.5
            yield part

    monkeypatch.setattr(segment_builder._TermRuns, "postings", postings)
    found = differences(whoosh_dir, bulk_build(tmp_path / "bulk", docs))
    assert found and all(line.startswith("text:") for line in found)


def test_several_segments_hold_the_same_documents(bundled, tmp_path, monkeypatch, plain_whoosh):
    """Segments of 64 documents: docnums start again in each segment, and
    the reader puts them one after another. Each field is written in parts
    of a few thousand occurrences, from chunks of 7 documents."""
    docs, whoosh_dir, _ = bundled
    monkeypatch.setattr(segment_builder, "PASS_OCCURRENCES", 3000)
    monkeypatch.setattr(segment_builder, "CHUNK_DOCS", 7)
    bulk_dir = bulk_build(tmp_path / "bulk", docs, segment_docs=64)
    assert len(whoosh_index.open_dir(str(bulk_dir)).reader().leaf_readers()) == 5
    assert differences(whoosh_dir, bulk_dir) == []


def test_long_documents_and_odd_fields(tmp_path, plain_whoosh):
    """Positions past 65,535 (four-byte numbers), position lists longer than
    255 bytes, a word repeated in the title and the body, a document with no
    words at all, no date, no source."""
    long_body = " ".join(f"mot{i % 50} président" for i in range(35_000))
    docs = [
        {"id": "long", "title": "Le président", "text": f"Le président\u2029{long_body}",
         "exact": f"Le président\u2029{long_body}", "body": long_body, "day": 20240101,
         "date": __import__("datetime").datetime(2024, 1, 1), "source": "AFP"},
        {"id": "vide", "title": "", "text": "\u2029", "exact": "\u2029", "body": "", "day": 0},
        {"id": "court", "title": "Été", "text": "Été\u2029l'été d'aujourd'hui, États-Unis",
         "exact": "Été\u2029l'été d'aujourd'hui, États-Unis", "body": "l'été", "day": 0, "url": "https://x"},
    ]  # fmt: skip
    assert differences(whoosh_build(tmp_path / "whoosh", docs), bulk_build(tmp_path / "bulk", docs)) == []


def test_small_blocks_stored_raw_read_the_same(small, tmp_path, monkeypatch, plain_whoosh):
    """Blocks below RAW_BELOW bytes are stored uncompressed (their header
    says so); every block raw, or every block compressed, reads the same."""
    docs, whoosh_dir = small
    for raw_below in (0, 10**9):
        monkeypatch.setattr(w3blocks, "RAW_BELOW", raw_below)
        assert differences(whoosh_dir, bulk_build(tmp_path / f"bulk-{raw_below}", docs)) == []


def test_packed_postings_are_written_with_the_segment(bundled):
    """The packed copy (what searching reads) comes from the same arrays, in
    the same pass: each segment has its marker and its arrays hold the
    segment's postings."""
    _, _, bulk_dir = bundled
    ix = whoosh_index.open_dir(str(bulk_dir))
    with ix.reader() as reader:
        segments = packed.open_packed(bulk_dir, reader)
        assert segments is not None and len(segments) == 1
        text = segments[0].field("text")
        ids, weights = text.postings(b"president")
        m = reader.postings("text", b"president")
        expected = []
        while m.is_active():
            expected.append((m.id(), m.weight()))
            m.next()
        assert list(zip(ids.tolist(), weights.tolist(), strict=True)) == expected


@pytest.mark.parametrize("value", [0, 1, 255, 256, 65535, 65536, 2**31 - 1])
def test_numbers_are_pickled_as_the_pickle_module_reads_them(value):
    rows, widths = w3blocks._int_rows(np.asarray([value], dtype=np.int64))
    assert pickle.loads(b"\x80\x02" + rows[0, : widths[0]].tobytes() + b".") == value
    assert widths[0] == len(pickle.dumps(value, 2)) - 3  # the same opcode as pickle's, without PROTO/STOP
