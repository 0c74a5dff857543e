"""Packed postings hold exactly Whoosh's postings, and searching with them
ranks exactly as searching through Whoosh's blocks does.

Built on 120 bundled articles, then an incremental reindex that changes some
and deletes others: two segments, deletions, as a live index has.
"""

from __future__ import annotations

import json
import pickle
import random
import shutil
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.formats import Positions

from searchsvc.index import packed
from searchsvc.index.generations import current_generation
from searchsvc.search import parsing, postings
from searchsvc.search.ranking import rank
from searchsvc.text import whoosh_patches

from .builders import build_two_segment_index, open_searcher
from .test_scoring import QUERIES

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = sorted((ROOT / "index_data" / "corpus" / "orangesum").glob("*.txt"))[:120]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    index_dir, _ = build_two_segment_index(
        tmp_path_factory.mktemp("packed"), ARTICLES, changed=10, deleted=5,
        added_line="Le président de la République a parlé.",
    )  # fmt: skip
    return index_dir


def unfiltered(r, name, term):
    """A segment's matcher with its deleted documents (packed postings keep
    them; the live mask hides them)."""
    return r._terms.matcher(name, term, r.schema[name].format)


def segments(reader):
    return [(reader, 0)] if reader.is_atomic() else reader.leaf_readers()


def test_every_posting_is_whooshs(index_dir):
    whoosh_patches.install_reader()
    generation = current_generation(index_dir)
    reader = whoosh_index.open_dir(str(generation.path)).reader()
    assert len(segments(reader)) == 2 and reader.has_deletions()
    opened = packed.open_packed(generation.path, reader)
    assert opened is not None and len(opened) == 2
    for (r, _), segment in zip(segments(reader), opened, strict=True):
        for name, with_positions in packed.PACKED_FIELDS.items():
            field = segment.field(name)
            terms = list(r.lexicon(name))
            assert len(terms) == segment.marker["fields"][name]["terms"] > 50
            for term in terms:
                m = unfiltered(r, name, term)
                expected = []
                while m.is_active():
                    expected.append((m.id(), m.weight(), m.value_as("positions") if with_positions else None))
                    m.next()
                docs, weights = field.postings(term)
                assert docs.tolist() == [e[0] for e in expected], (name, term)
                assert weights.tolist() == [e[1] for e in expected], (name, term)
                if with_positions:
                    which, positions = field.positions(term, docs.astype(np.int64))
                    assert which.tolist() == [d for d, _, p in expected for _ in p]
                    assert positions.tolist() == [q for _, _, p in expected for q in p]
            assert field.find(b"zzzz-not-a-term") == -1 and len(field.postings(b"\x00")[0]) == 0


@pytest.mark.parametrize("checkpoint", [128, 2, 1])
@pytest.mark.parametrize("term", [b"president", b"franc", b"le"])
def test_positions_of_some_documents_only(index_dir, monkeypatch, checkpoint, term):
    """Positions of a few documents; long lists (here: every list, with a
    small CHECKPOINT) add up their position counts from remembered sums."""
    monkeypatch.setattr(packed, "CHECKPOINT", checkpoint)
    # Segments are opened once per process; their sums were made with another CHECKPOINT.
    monkeypatch.setattr(packed, "_OPENED", OrderedDict())
    generation = current_generation(index_dir)
    reader = whoosh_index.open_dir(str(generation.path)).reader()
    r, _ = segments(reader)[0]
    field = packed.open_packed(generation.path, reader)[0].field("exact" if term == b"le" else "text")
    docs, _ = field.postings(term)
    assert len(docs) > 8 * checkpoint or checkpoint == 128
    wanted = np.asarray([docs[0], docs[len(docs) // 2], docs[len(docs) // 2 + 1], docs[-1], 10_000], dtype=np.int64)
    for asked in (wanted, wanted[1:2]):  # the last one holds nothing
        which, positions = field.positions(term, asked)
        assert sorted(set(which.tolist())) == sorted({int(d) for d in asked if d in set(docs.tolist())})
        for doc in set(which.tolist()):
            m = unfiltered(r, "exact" if term == b"le" else "text", term)
            m.skip_to(doc)
            assert positions[which == doc].tolist() == m.value_as("positions")


def test_block_decoding_is_whooshs():
    fmt = Positions()
    rng = random.Random(3)
    lists = [[0], [5], [1, 2, 3], sorted(rng.sample(range(70_000), 1500)), [65_535, 65_536, 2**20]]
    lists += [sorted(rng.sample(range(400), rng.randint(1, 30))) for _ in range(200)]
    values = [fmt.encode(p) for p in lists]
    values += [v[:-1] for v in values[:3]]  # Whoosh's writer may leave the pickle's end out
    lists += lists[:3]
    counts, flat = packed.decode_positions_block(values)
    assert counts.tolist() == [len(p) for p in lists]
    assert flat.tolist() == [q for p in lists for q in p]
    assert [fmt.decode_positions(v) for v in values] == lists
    assert pickle.loads(values[2][4:]) == [1, 1, 1]  # deltas: what the joined pickle reads


def test_the_files_are_sealed_in_the_generation(index_dir):
    generation = current_generation(index_dir)
    files = generation.manifest["files"]
    on_disk = sorted(p.name for p in generation.path.glob(f"{packed.PREFIX}*"))
    assert on_disk and all(name in files for name in on_disk)
    markers = [name for name in on_disk if name.endswith(".json")]
    assert len(markers) == 2
    assert {json.loads((generation.path / m).read_text())["doc_count"] for m in markers} >= {120}


def test_segments_merged_away_lose_their_files(index_dir, tmp_path):
    copy = tmp_path / "gen"
    shutil.copytree(current_generation(index_dir).path, copy)
    before = {p.name for p in copy.glob(f"{packed.PREFIX}*.json")}
    ix = whoosh_index.open_dir(str(copy))
    ix.optimize()  # one segment now, with a new id
    with ix.reader() as reader:
        written = packed.write_packed(copy, reader)
        assert len(written) == 1 and packed.open_packed(copy, reader) is not None
    after = {p.name for p in copy.glob(f"{packed.PREFIX}*.json")}
    assert after == {f"{packed.PREFIX}{written[0]}.json"} and not after & before
    assert all(p.name.startswith(f"{packed.PREFIX}{written[0]}") for p in copy.glob(f"{packed.PREFIX}*"))


def test_a_generation_without_them_ranks_the_same(index_dir, monkeypatch):
    searcher = open_searcher(index_dir)
    with_packed = {}
    for text in QUERIES:
        parsed = parsing.parse(text, searcher.schema, searcher.reader())
        with_packed[text] = rank(searcher, parsed, 20)
    assert postings.arrays_for(searcher.reader()).packed is not None
    monkeypatch.setattr(postings, "open_packed", lambda folder, reader: None)
    monkeypatch.setattr(postings, "_TABLES", type(postings._TABLES)())
    assert postings.arrays_for(searcher.reader()).packed is None
    for text in QUERIES:
        parsed = parsing.parse(text, searcher.schema, searcher.reader())
        hits, total = rank(searcher, parsed, 20)
        expected_hits, expected_total = with_packed[text]
        assert total == expected_total, text
        assert [d for d, _ in hits] == [d for d, _ in expected_hits], text
        assert [s for _, s in hits] == pytest.approx([s for _, s in expected_hits], rel=1e-9), text


def test_a_damaged_packed_file_falls_back_to_whooshs_blocks(index_dir, tmp_path):
    copy = tmp_path / "gen"
    shutil.copytree(current_generation(index_dir).path, copy)
    victim = next(copy.glob(f"{packed.PREFIX}*-text-docs.npy"))
    victim.write_bytes(b"not an array")
    with whoosh_index.open_dir(str(copy)).reader() as reader:
        assert packed.open_packed(copy, reader) is None


@pytest.mark.parametrize("prefix", ["pr", "presid", "a", "zz", "é", "re"])
def test_terms_with_prefix_are_whooshs(index_dir, monkeypatch, prefix):
    """The typo look-ups' vocabulary scan, from the packed term lists (a
    binary search per segment), gives what Whoosh's merge of the segments gives."""
    searcher = open_searcher(index_dir)
    reader = searcher.reader()
    packed_terms = postings.terms_with_prefix(reader, "exact", prefix, 40)
    monkeypatch.setattr(postings, "_TABLES", type(postings._TABLES)())
    monkeypatch.setattr(postings, "open_packed", lambda folder, reader: None)
    assert packed_terms == postings.terms_with_prefix(reader, "exact", prefix, 40)
    assert len(packed_terms) == 40 or prefix in ("zz", "é", "presid")


@pytest.mark.parametrize(
    "q",
    [wq.Prefix("text", "pr"), wq.Prefix("exact", "a"), wq.Prefix("title", "ma"), wq.Wildcard("text", "m*o?"),
     wq.TermRange("text", "a", "z"), wq.TermRange("exact", "ma", "mi", startexcl=True, endexcl=True),
     wq.TermRange("text", None, "b"), wq.TermRange("exact", "zz", None), wq.Prefix("text", "zzz")],
    ids=repr,
)  # fmt: skip
def test_expansions_scanned_from_the_packed_terms_are_whooshs(index_dir, monkeypatch, q):
    """Prefixes, wildcards and ranges scan the packed term lists (with their
    document counts): the same terms and counts as Whoosh's merge of the
    segments, up to the same bound (MAX_SCANNED, lowered here to 50)."""
    from searchsvc.search import bounds

    monkeypatch.setattr(bounds, "MAX_SCANNED", 50)
    reader = open_searcher(index_dir).reader()
    assert postings.scan_terms(reader, q.fieldname, "", 5) is not None
    from_packed = bounds._expansions(q, reader)
    monkeypatch.setattr(bounds, "scan_terms", lambda *args: None)
    assert from_packed == bounds._expansions(q, reader)
    assert from_packed or getattr(q, "text", None) == "zzz" or getattr(q, "start", None) == "zz"


def test_a_packing_process_killed_fails_the_generation(index_dir, tmp_path, monkeypatch):
    """A packing process that dies (killed, out of memory) is a write error
    naming it, as a writer process's death is: the generation is not published."""
    from searchsvc.errors import IndexWriteError

    copy = tmp_path / "gen"
    shutil.copytree(current_generation(index_dir).path, copy)
    for entry in copy.glob(f"{packed.PREFIX}*"):
        entry.unlink()
    monkeypatch.setattr(packed, "_pack_in_process", _die)
    with whoosh_index.open_dir(str(copy)).reader() as reader, pytest.raises(IndexWriteError, match="writer process died"):
        packed.write_packed(copy, reader, procs=2)


def _die(folder, segment_id):
    """A packing process killed: gone at once, with no exception to send back."""
    import os

    os._exit(9)


def _part(terms, docs, weights, freqs):
    """A part of a field's postings, as the bulk writer hands them over: one
    posting per term here, positions 0, 1, … for each."""
    freqs = np.asarray(freqs, dtype=np.int64)
    return SimpleNamespace(
        terms=terms,
        postoff=np.arange(len(terms) + 1),
        docs=np.asarray(docs),
        weights=np.asarray(weights, dtype=np.float32),
        freqs=freqs,
        positions=np.concatenate([np.arange(f) for f in freqs]),
    )


@pytest.mark.parametrize(
    "second, types, weights_kept",
    [
        # values the first part's narrow types hold: they stay
        (([9], [2.0], [2]), {"docs": "<u2", "freqs": "|u1", "pos": "<u2", "wval": "<f2"}, 1),
        # a docnum past 65,535, a frequency past 255: those files widen
        (([70_000], [300.0], [300]), {"docs": "<i4", "freqs": "<u2", "pos": "<u2"}, 1),
        # a title word's weight: not its frequency, kept
        (([9], [1.5], [1]), {"docs": "<u2", "wat": "<u4", "wval": "<f2"}, 2),
        # a weight a half float cannot hold exactly
        (([9], [0.1], [1]), {"wval": "<f4"}, 2),
    ],
)
def test_arrays_are_as_narrow_as_their_values(tmp_path, second, types, weights_kept):
    writer = packed.FieldWriter(tmp_path, "SEG", "text")
    writer.add(_part([b"a", b"b"], [3, 5], [1.0, 2.5], [1, 2]))
    writer.add(_part([b"c"], *second))
    counts = writer.close()
    assert counts["postings"] == 3
    assert len(np.load(packed.array_path(tmp_path, "SEG", "text", "wat"))) == weights_kept
    for kind, descr in types.items():
        assert np.load(packed.array_path(tmp_path, "SEG", "text", kind)).dtype.str == descr, kind
    packed.save_marker(tmp_path, "SEG", 100_000, {"text": counts})
    marker = json.loads(packed.marker_path(tmp_path, "SEG").read_text())
    field = packed.PackedSegment(tmp_path, "SEG", marker).field("text")
    (doc,), (weight,), (freq,) = second
    expected = {b"a": ([3], [1.0]), b"b": ([5], [2.5]), b"c": ([doc], [np.float32(weight)])}
    for term, (docs, weights) in expected.items():
        got_docs, got_weights = field.postings(term)
        assert got_docs.dtype == np.int32 and got_weights.dtype == np.float32
        assert got_docs.tolist() == docs and got_weights.tolist() == weights
    which, positions = field.positions(b"c", np.asarray([doc, 80_000]))
    assert which.tolist() == [doc] * freq and positions.tolist() == list(range(freq))
    assert not list(tmp_path.glob(".*")), "no temporary file is left"


def test_format_2_files_are_still_read(tmp_path):
    """Generations written by 0.4 (int32 docnums, every weight as float32) stay searchable."""
    arrays = {
        "lex": np.frombuffer(b"ab", dtype=np.uint8),
        "lexoff": np.asarray([0, 1, 2]),
        "postoff": np.asarray([0, 2, 3]),
        "docs": np.asarray([3, 70_000, 5], dtype=np.int32),
        "weights": np.asarray([1.0, 2.5, 1.0], dtype=np.float32),
        "freqs": np.asarray([1, 2, 1], dtype=np.uint16),
        "pos": np.asarray([4, 0, 7, 2], dtype=np.uint16),
        "termpos": np.asarray([0, 3, 4]),
    }
    for kind, values in arrays.items():
        np.save(packed.array_path(tmp_path, "SEG", "text", kind), values)
    marker = {"format": 2, "doc_count": 70_001, "fields": {"text": {"terms": 2, "postings": 3}}}
    field = packed.PackedSegment(tmp_path, "SEG", marker).field("text")
    docs, weights = field.postings(b"a")
    assert docs.tolist() == [3, 70_000] and weights.tolist() == [1.0, 2.5]
    which, positions = field.positions(b"a", np.asarray([70_000]))
    assert which.tolist() == [70_000, 70_000] and positions.tolist() == [0, 7]


@pytest.mark.parametrize("stored_keys", [True, False], ids=["format 3", "no keys file: made on first use"])
def test_terms_are_found_by_their_first_eight_bytes_then_their_bytes(tmp_path, stored_keys):
    terms = sorted(
        {b"a", b"ab", b"abcdefg", b"abcdefgh", b"abcdefghi", b"abcdefghij", b"abcdefghz", b"abcdefgi", b"b",
         "élève".encode(), "élèves".encode(), b"zzzzzzzzzzzz"}
    )  # fmt: skip
    n = len(terms)
    writer = packed.FieldWriter(tmp_path, "SEG", "title")
    writer.add(SimpleNamespace(terms=terms, postoff=np.arange(n + 1), docs=np.arange(n), weights=np.ones(n), freqs=None, positions=None))
    packed.save_marker(tmp_path, "SEG", n, {"title": writer.close()})
    marker = json.loads(packed.marker_path(tmp_path, "SEG").read_text())
    if not stored_keys:  # format 2
        packed.array_path(tmp_path, "SEG", "title", "keys").unlink()
    field = packed.PackedSegment(tmp_path, "SEG", marker).field("title")
    assert (field.keys is not None) == stored_keys
    for i, term in enumerate(terms):
        assert field.find(term) == i, term
    for absent in [b"", b"aa", b"abc", b"abcdefgha", b"abcdefghj", b"abcdefghiz", b"abcdefh", "élèv".encode(), b"zzzzzzzzzzzzz", b"\xff"]:
        assert field.find(absent) == -1, absent


def test_document_frequencies_are_whooshs(index_dir):
    """Typo look-ups count documents from the packed term lists; deleted ones included, as Whoosh does."""
    whoosh_patches.install_reader()
    reader = whoosh_index.open_dir(str(current_generation(index_dir).path)).reader()
    assert postings.arrays_for(reader).packed is not None and reader.has_deletions()
    for name in packed.PACKED_FIELDS:
        for term in [*list(reader.lexicon(name))[::7], b"zzzz-absent"]:
            text = term.decode("utf-8")
            assert postings.doc_frequency(reader, name, text) == reader.doc_frequency(name, text), (name, text)
    assert postings.doc_frequency(reader, "source", "AFP") == reader.doc_frequency("source", "AFP")
    assert postings.doc_frequency(reader, "no-such-field", "x") == 0


def test_a_generation_of_hard_links_maps_its_unchanged_segments_once(tmp_path):
    """After a push, the new generation's unchanged segments are the ones
    already mapped (same files, hard-linked), not mapped again."""
    from searchsvc.index.applier import apply_pending
    from searchsvc.index.documents import Document
    from searchsvc.index.journal import Journal

    from .builders import build_small_index

    index_dir = build_small_index(tmp_path)
    first = current_generation(index_dir)
    before = packed.open_packed(first.path, whoosh_index.open_dir(str(first.path)).reader())
    Journal(index_dir).record([Document(id="n", title="Nouvelle", body="Une dépêche.")])
    apply_pending(index_dir)
    second = current_generation(index_dir)
    after = packed.open_packed(second.path, whoosh_index.open_dir(str(second.path)).reader())
    assert len(after) == len(before) + 1
    assert after[0] is before[0]  # the same files: mapped once
    assert after[-1].segment_id not in {s.segment_id for s in before}
