"""The schema's fast indexing path writes exactly the postings Whoosh's own would."""

from __future__ import annotations

import pickle
import unicodedata
from pathlib import Path

import pytest
from whoosh.fields import TEXT

from searchsvc.index.documents import LoadReport
from searchsvc.index.sources import load_documents
from searchsvc.text.schema import build_schema, combined_text

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = sorted((ROOT / "index_data" / "corpus" / "orangesum").glob("*.txt"))[:150]

TRICKY = [
    "", "Le", "le la les", "Les États-Unis et l'OTAN\u2029Le sommet", "\u2029", "titre\u2029", "\u2029corps seul",
    "jusqu'à aujourd'hui l’OTAN", unicodedata.normalize("NFD", "Électricité à Noël"), "COVID-19 14,2 % 3.5",
    "l' apostrophe seule ' et - tiret", "mot\u2009mot · × ÷", "été est son avions sommes as", "ŒUVRE cœur Straße",
    "Москва 東京 عربي", "emoji 🎉 ici", "a" * 300, "x-y-z-w l'l'l'", "Le\u2029la\u2029les premiers",
]  # fmt: skip


def values():
    for text in TRICKY:
        yield text, text
    for loaded in load_documents(ARTICLES, LoadReport()):
        yield loaded.document.title, combined_text(loaded.document.title, loaded.document.body)


@pytest.mark.parametrize("protected", [(), ("France", "Paris")])
def test_fast_index_gives_whooshs_postings(protected):
    schema = build_schema(protected)
    checked = 0
    for title, text in values():
        for name, value in (("title", title), ("text", text), ("exact", text)):
            field = schema[name]
            assert sorted(field.index(value)) == sorted(TEXT.index(field, value)), (name, value[:80])
        checked += 1
    assert checked == len(TRICKY) + len(ARTICLES)


def test_the_cache_is_not_pickled_into_the_index():
    schema = build_schema()
    list(schema["text"].index("Les élections"))
    restored = pickle.loads(pickle.dumps(schema))
    assert "_word_cache" not in restored["text"].__dict__
    assert sorted(restored["text"].index("Les élections")) == sorted(schema["text"].index("Les élections"))


def test_field_lengths_from_memory_are_whooshs(shared_index):
    from whoosh import index as whoosh_index

    from searchsvc.index import generations
    from searchsvc.text import whoosh_patches

    generation = generations.current_generation(shared_index)
    ix = whoosh_index.open_dir(str(generation.path))
    expected, actual = [], []
    for install in (whoosh_patches.uninstall, whoosh_patches.install):
        install()
        with ix.reader() as reader:
            for leaf, _ in reader.leaf_readers() if not reader.is_atomic() else [(reader, 0)]:
                perdoc = leaf._perdoc
                values = [
                    perdoc.doc_field_length(d, f, default=7)
                    for d in range(leaf.doc_count_all() + 1)
                    for f in ("text", "exact", "title", "nosuchfield")
                ]
                (expected if install is whoosh_patches.uninstall else actual).append(values)
    assert actual == expected and any(v not in (None, 0, 7) for v in expected[0])


def test_view_reader_reads_like_a_file():
    import io
    import pickle

    from searchsvc.text.whoosh_patches import ViewReader

    data = pickle.dumps({"a": [1, 2, 3]}, 2) + b"line one\nline two\n"
    for reader in (ViewReader(data), io.BytesIO(data)):  # the same answers as BytesIO
        assert pickle.load(reader) == {"a": [1, 2, 3]}
        at = reader.tell()
        assert reader.readline() == b"line one\n" and reader.read(4) == b"line"
        assert reader.seek(at) == at and reader.read() == b"line one\nline two\n" and reader.read(3) == b""
        assert reader.seek(-4, 2) == len(data) - 4 and reader.read(10) == b"two\n"
        buf = bytearray(3)
        reader.seek(0)
        assert reader.readinto(buf) == 3 and bytes(buf) == data[:3]
