"""The bulk writer's index is Whoosh's own: built both ways, compared term by term.

``searchsvc.index.segment_builder`` writes full rebuilds without Whoosh's
``SegmentWriter``. This builds one index of a corpus with Whoosh's writer
(one ``writer()``, ``add_document`` per document, one ``commit()``) and one
with the bulk writer (one segment, the same documents in the same order,
the service's schema), then compares them as an unpatched Whoosh reads them
(``searchsvc.ops.index_compare``): every stored field, field length and
column value, every term's postings (documents, weights, positions), term
statistics and block statistics. It prints the documents, both build times
and the differences found (the first 20), and exits 1 if there is any.

Corpora: ``bundled`` (the 3,001 articles of ``index_data/corpus``) and
``news`` (the 20,000 OrangeSum articles, ``../shared/data``), or a path.

Run from the repo root::

    .venv/bin/python -m bench.checks.same_index             # bundled, then news
    .venv/bin/python -m bench.checks.same_index --corpus bundled
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import DATA, ROOT, log

CORPORA = {
    "bundled": ROOT / "index_data" / "corpus",
    "news": DATA / "orangesum_news" / "docs.jsonl",
}


def check(source: Path) -> list[str]:
    from whoosh import index as whoosh_index
    from whoosh.index import TOC

    from searchsvc.index.documents import LoadReport
    from searchsvc.index.fields import document_fields
    from searchsvc.index.segment_builder import SegmentBuilder
    from searchsvc.index.sources import load_documents
    from searchsvc.ops.index_compare import differences
    from searchsvc.text import whoosh_patches
    from searchsvc.text.schema import build_schema

    docs = [document_fields(loaded.document) for loaded in load_documents([source], LoadReport())]
    with tempfile.TemporaryDirectory(prefix="same-index-") as tmp:
        whoosh_dir, bulk_dir = Path(tmp) / "whoosh", Path(tmp) / "bulk"
        whoosh_dir.mkdir()
        bulk_dir.mkdir()
        started = time.perf_counter()
        ix = whoosh_index.create_in(str(whoosh_dir), build_schema())
        with ix.writer(limitmb=256) as writer:
            for fields in docs:
                writer.add_document(**fields)
        whoosh_s = time.perf_counter() - started
        started = time.perf_counter()
        ix = whoosh_index.create_in(str(bulk_dir), build_schema())
        builder = SegmentBuilder(ix.storage, ix.schema)
        for fields in docs:
            builder.add_document(**fields)
        TOC(ix.schema, [builder.finish(bulk_dir)], 1).write(ix.storage, ix.indexname)
        bulk_s = time.perf_counter() - started
        log(f"  {len(docs):,} documents; Whoosh's writer {whoosh_s:.1f} s, bulk writer {bulk_s:.1f} s (one process each)")
        whoosh_patches.uninstall()  # compared as an unpatched Whoosh reads them
        whoosh_patches.uninstall_reader()
        started = time.perf_counter()
        found = differences(whoosh_dir, bulk_dir)
        log(f"  compared in {time.perf_counter() - started:.1f} s: {len(found)} difference(s)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", help="bundled, news or a path (repeatable; default: both)")
    args = parser.parse_args()
    failed = False
    for name in args.corpus or ["bundled", "news"]:
        source = CORPORA.get(name, Path(name))
        log(f"{name}: {source}")
        for line in check(source):
            failed = True
            print(f"  {line}")
    print("same index" if not failed else "DIFFERENT", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
