"""Benchmark a full reindex of the OrangeSum news corpus (20,000 French articles).

What it measures, for each configuration, all indexing the same documents in
the same run (title + body, stored, as the service does):

* ``stock``: Whoosh's own French analyzer, ``LanguageAnalyzer("fr")``, on a
  minimal schema ``id`` / ``title`` / ``body`` (both stored), one
  ``ix.writer(limitmb=256)``, ``add_document`` per line read with plain
  ``json.loads``, one ``commit()``. The baseline.
* ``searchsvc procs=1``: ``searchsvc.index.reindex.reindex([docs], tmpdir, procs=1)``,
  i.e. the service's real path: its loader (validation, NFC, fingerprints),
  its French chain, and its full schema, which also indexes title + body a
  second time in the unstemmed ``exact`` field, plus ``date``; a catalog and
  a manifest are written too. So it does more work per document than ``stock``.
* ``searchsvc procs=2``: the same with ``procs=2`` (the bulk writer: the main
  process reads and pickles documents in batches, two forked worker processes
  analyse them and write whole segments; ``limitmb`` is ignored since 0.4.0).
* ``incremental``: after ``searchsvc procs=1``, a copy of the documents file
  in which every 100th line has " (mis à jour)" appended to its title (1% of
  the documents), indexed with ``reindex(..., incremental=True)`` into the same
  index folder; reported with the ratio full (procs=1) / incremental wall time.
  searchsvc is not told what changed: it reads all the documents and compares
  fingerprints with the previous generation's catalog.
* ``fts5``: SQLite FTS5, ``fts5(id UNINDEXED, title, body, tokenize =
  'unicode61 remove_diacritics 2')`` as in ``bench_relevance.py`` (no
  stemming; FTS5 keeps the text, so title and body are stored), one
  transaction of ``executemany`` INSERTs streamed from the file with
  ``json.loads``; each row's ``rowid`` is its line number in the file.
* ``tantivy``: tantivy-py (``pip install -e '.[bench]'``; skipped with a note
  if missing), ``bench_relevance.py``'s chain (simple tokenizer, lowercase,
  ASCII folding, Snowball French) on title and body, both stored, ``id`` raw
  and stored; ``index.writer()`` with its defaults (128 MB heap, threads chosen
  by tantivy: it uses every core), one ``add_document`` per line, ``commit()``,
  ``wait_merging_threads()``.
* ``stock incremental``, ``fts5 incremental``, ``tantivy incremental``: the
  same 1% change applied to the peer's index built above. The peers are
  handed only the changed documents (a file of the 1% changed lines):
  Whoosh ``ix.writer(limitmb=256)`` + ``update_document`` per changed
  document + ``commit()``; FTS5 ``DELETE ... WHERE rowid = ?`` + ``INSERT``
  per changed document, all in one transaction (``rowid`` is the line number:
  ``id`` is ``UNINDEXED``, so finding a row by ``id`` would scan the table);
  tantivy ``delete_documents_by_term("id", …)`` (the non-deprecated name of
  ``delete_documents``) + ``add_document`` per changed document, ``commit()``,
  ``wait_merging_threads()``. The wall time includes opening the index.

Figures per configuration: documents, wall time (of the indexing call only,
Python start-up and imports excluded), documents per second (for the
incremental rows: documents in the index after the update, per second of
the update), peak RSS and on-disk index size (apparent size of the index
files; for searchsvc, the new generation's folder, catalog and manifest
included; an incremental generation is made of hard links to the previous
one plus its own new files, and its size counts them all; for FTS5 the
database file), and each row's docs/s relative to ``stock``. Below the table,
each system's full / incremental wall-time ratio.

Each configuration runs in a fresh Python subprocess (``--run-one``) that
reports its own peak RSS: ``getrusage(RUSAGE_SELF).ru_maxrss`` for itself and
``RUSAGE_CHILDREN`` for its (waited-for) child processes, i.e. Whoosh's writer
workers. The table shows the larger of the two; both are in ``--json``, and
rows with workers get a footnote (several workers run at once, so their
combined footprint can reach main + procs × worker). tantivy's writer threads
live in the child's own process, so they are in its RSS. The FTS5 and tantivy
children import only the standard library and sqlite3 / tantivy: the
tantivy chain comes from ``bench.common`` (``bench_relevance.py`` uses the
same one), not from ``bench_relevance.py``, whose import loads ir-measures
(about 22 MiB of peak RSS that would be charged to those rows).

After each run the child counts the documents actually in the index (and,
for the incremental rows, how many of the changed titles the index now
holds), and the parent says so loudly if that differs from what was fed in.

Run from the repo root::

    .venv/bin/python -m bench.bench_index               # full: 20,000 docs, several minutes
    .venv/bin/python -m bench.bench_index --limit 2000  # quick check
    .venv/bin/python -m bench.bench_index --json        # figures as JSON
    .venv/bin/python -m bench.bench_index --keep        # keep the temporary indexes

Prints the table, then one line per system with its full / incremental ratio,
the worker footnotes, and WARNING lines if a check failed (exit status 1).
``--json`` prints instead one JSON object: run information, ``rows`` (a list
with one dict per configuration, as above), ``full_over_incremental`` (searchsvc
procs=1 / incremental) and ``full_over_incremental_by_system``, and
``problems``; progress goes to stderr.

``--docs PATH`` reads another JSON Lines file (default:
``../shared/data/orangesum_news/docs.jsonl`` next to the repo root).
Temporary indexes go under a fresh folder in the system temp dir
(``--tmp DIR`` to choose where) and are deleted at the end unless ``--keep``.

Stdlib only (plus searchsvc, Whoosh and tantivy, from the venv).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import (
    FTS5_TABLE,
    MIB,
    NEWS_DOCS,
    ROOT,
    TANTIVY_TOKENIZER,
    fts5_available,
    last_json,
    log,
    module_command,
    tantivy_analyzer,
    tantivy_available,
    tantivy_schema,
    versions,
)

LIMITMB = 256
UPDATE_EVERY = 100
UPDATE_SUFFIX = " (mis à jour)"
FTS5_FILE = "fts5.db"
#: A changed document's line number in the documents file (the FTS5 rowid).
LINE_KEY = "_line"


# --------------------------------------------------------------------------
# Child side: one configuration, measured in its own process


def dir_size(path: Path) -> int:
    """Apparent size of the regular files directly in ``path``."""
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def iter_docs(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, document)`` for each non-blank line of ``path``, streamed."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                yield number, json.loads(line)


def run_stock(docs: Path, index_dir: Path) -> dict:
    from whoosh import index as whoosh_index
    from whoosh.analysis import LanguageAnalyzer
    from whoosh.fields import ID, TEXT, Schema

    schema = Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=LanguageAnalyzer("fr"), stored=True),
        body=TEXT(analyzer=LanguageAnalyzer("fr"), stored=True),
    )
    index_dir.mkdir(parents=True)
    started = time.perf_counter()
    ix = whoosh_index.create_in(str(index_dir), schema)
    writer = ix.writer(limitmb=LIMITMB)
    count = 0
    with open(docs, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            writer.add_document(id=str(d["id"]), title=d["title"], body=d.get("body") or "")
            count += 1
    writer.commit()
    wall = time.perf_counter() - started
    with whoosh_index.open_dir(str(index_dir)).reader() as r:
        indexed = r.doc_count()
    return {"docs": count, "wall_s": wall, "index_bytes": dir_size(index_dir), "indexed": indexed}


def run_stock_incremental(changes: Path, index_dir: Path) -> dict:
    from whoosh import index as whoosh_index

    started = time.perf_counter()
    ix = whoosh_index.open_dir(str(index_dir))
    writer = ix.writer(limitmb=LIMITMB)
    ids = []
    for _, d in iter_docs(changes):
        writer.update_document(id=str(d["id"]), title=d["title"], body=d.get("body") or "")
        ids.append(str(d["id"]))
    writer.commit()
    wall = time.perf_counter() - started
    with whoosh_index.open_dir(str(index_dir)).searcher() as s:
        indexed = s.doc_count()
        verified = sum(
            1
            for i in ids
            if (stored := s.document(id=i)) and stored["title"].endswith(UPDATE_SUFFIX)
        )
    return {
        "docs": indexed, "wall_s": wall, "index_bytes": dir_size(index_dir),
        "indexed": indexed, "updated": len(ids), "verified": verified,
    }  # fmt: skip


def run_fts5(docs: Path, index_dir: Path) -> dict:
    index_dir.mkdir(parents=True)
    path = index_dir / FTS5_FILE
    count = 0

    def rows() -> Iterator[tuple[int, str, str, str]]:
        nonlocal count
        for number, d in iter_docs(docs):
            count += 1
            yield number, str(d["id"]), d["title"], d.get("body") or ""

    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute(FTS5_TABLE)
    with db:
        db.executemany("INSERT INTO docs (rowid, id, title, body) VALUES (?, ?, ?, ?)", rows())
    db.close()
    wall = time.perf_counter() - started
    db = sqlite3.connect(path)
    (indexed,) = db.execute("SELECT count(*) FROM docs").fetchone()
    db.close()
    return {"docs": count, "wall_s": wall, "index_bytes": dir_size(index_dir), "indexed": indexed}


def run_fts5_incremental(changes: Path, index_dir: Path) -> dict:
    path = index_dir / FTS5_FILE
    count = 0
    started = time.perf_counter()
    db = sqlite3.connect(path)
    with db:
        for _, d in iter_docs(changes):
            db.execute("DELETE FROM docs WHERE rowid = ?", (d[LINE_KEY],))
            db.execute(
                "INSERT INTO docs (rowid, id, title, body) VALUES (?, ?, ?, ?)",
                (d[LINE_KEY], str(d["id"]), d["title"], d.get("body") or ""),
            )
            count += 1
    db.close()
    wall = time.perf_counter() - started
    db = sqlite3.connect(path)
    (indexed,) = db.execute("SELECT count(*) FROM docs").fetchone()
    (verified,) = db.execute(
        "SELECT count(*) FROM docs WHERE substr(title, -?) = ?",
        (len(UPDATE_SUFFIX), UPDATE_SUFFIX),
    ).fetchone()
    db.close()
    return {
        "docs": indexed, "wall_s": wall, "index_bytes": dir_size(index_dir),
        "indexed": indexed, "updated": count, "verified": verified,
    }  # fmt: skip


def tantivy_document(d: dict):
    import tantivy

    return tantivy.Document(id=str(d["id"]), title=d["title"], body=d.get("body") or "")


def run_tantivy(docs: Path, index_dir: Path) -> dict:
    import tantivy

    index_dir.mkdir(parents=True)
    count = 0
    started = time.perf_counter()
    index = tantivy.Index(tantivy_schema(), path=str(index_dir))
    index.register_tokenizer(TANTIVY_TOKENIZER, tantivy_analyzer())
    writer = index.writer()
    for _, d in iter_docs(docs):
        writer.add_document(tantivy_document(d))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    wall = time.perf_counter() - started
    index.reload()
    indexed = index.searcher().num_docs
    return {"docs": count, "wall_s": wall, "index_bytes": dir_size(index_dir), "indexed": indexed}


def run_tantivy_incremental(changes: Path, index_dir: Path) -> dict:
    import tantivy

    ids = []
    started = time.perf_counter()
    index = tantivy.Index.open(str(index_dir))
    index.register_tokenizer(TANTIVY_TOKENIZER, tantivy_analyzer())
    writer = index.writer()
    for _, d in iter_docs(changes):
        writer.delete_documents_by_term("id", str(d["id"]))
        writer.add_document(tantivy_document(d))
        ids.append(str(d["id"]))
    writer.commit()
    writer.wait_merging_threads()
    wall = time.perf_counter() - started
    index.reload()
    searcher = index.searcher()
    verified = 0
    for i in ids:
        hits = searcher.search(tantivy.Query.term_query(index.schema, "id", i), 2).hits
        titles = [searcher.doc(address)["title"][0] for _, address in hits]
        verified += len(titles) == 1 and titles[0].endswith(UPDATE_SUFFIX)
    return {
        "docs": searcher.num_docs, "wall_s": wall, "index_bytes": dir_size(index_dir),
        "indexed": searcher.num_docs, "updated": len(ids), "verified": verified,
    }  # fmt: skip


def run_searchsvc(docs: Path, index_dir: Path, procs: int, incremental: bool) -> dict:
    from whoosh import index as whoosh_index

    from searchsvc.index import generations
    from searchsvc.index.reindex import reindex

    started = time.perf_counter()
    result = reindex([docs], index_dir, incremental=incremental, procs=procs, limitmb=LIMITMB)
    wall = time.perf_counter() - started
    current = generations.current_generation(index_dir)
    with whoosh_index.open_dir(str(current.path)).reader() as r:
        indexed = r.doc_count()
    return {
        "docs": result.documents,
        "wall_s": wall,
        "reindex_elapsed_s": result.elapsed,
        "index_bytes": result.size_bytes,
        "indexed": indexed,
        "mode": result.mode,
        "note": result.note,
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "skipped": len(result.skipped),
        "segments": len([f for f in current.path.iterdir() if f.suffix == ".seg"]),
    }


RUNNERS = {
    "stock": run_stock,
    "stock-incremental": run_stock_incremental,
    "fts5": run_fts5,
    "fts5-incremental": run_fts5_incremental,
    "tantivy": run_tantivy,
    "tantivy-incremental": run_tantivy_incremental,
}


def run_one(args: argparse.Namespace) -> None:
    docs, index_dir = Path(args.docs), Path(args.index_dir)
    if args.run_one == "searchsvc":
        out = run_searchsvc(docs, index_dir, args.procs, incremental=False)
    elif args.run_one == "incremental":
        out = run_searchsvc(docs, index_dir, 1, incremental=True)
    elif args.run_one in RUNNERS:
        out = RUNNERS[args.run_one](docs, index_dir)
    else:
        raise SystemExit(f"unknown configuration {args.run_one!r}")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    unit = 1 if sys.platform == "darwin" else 1024
    out["rss_self_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / MIB
    out["rss_children_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / MIB
    print(json.dumps(out))


# --------------------------------------------------------------------------
# Parent side: prepare inputs, run each configuration, print the table


def prepare_inputs(source: Path, limit: int | None, workdir: Path) -> tuple[Path, Path, Path, int]:
    """Write ``docs.jsonl`` (the first ``limit`` lines of ``source``),
    ``docs-updated.jsonl`` (the same, every 100th line's title changed) and
    ``docs-changed.jsonl`` (only the changed documents, each with its line
    number under ``_line``, for the peers' incremental runs)."""
    docs = workdir / "docs.jsonl"
    updated = workdir / "docs-updated.jsonl"
    only_changed = workdir / "docs-changed.jsonl"
    lines = 0
    changed = 0
    with (
        open(source, encoding="utf-8") as src,
        open(docs, "w", encoding="utf-8") as a,
        open(updated, "w", encoding="utf-8") as b,
        open(only_changed, "w", encoding="utf-8") as c,
    ):
        for line in src:
            if limit is not None and lines >= limit:
                break
            lines += 1
            a.write(line)
            if lines % UPDATE_EVERY == 0 and line.strip():
                d = json.loads(line)
                d["title"] = d["title"] + UPDATE_SUFFIX
                b.write(json.dumps(d, ensure_ascii=False) + "\n")
                c.write(json.dumps({LINE_KEY: lines, **d}, ensure_ascii=False) + "\n")
                changed += 1
            else:
                b.write(line)
    return docs, updated, only_changed, changed


def child(name: str, docs: Path, index_dir: Path, procs: int = 1) -> dict:
    """One configuration measured in a fresh process (this module with ``--run-one``)."""
    cmd = module_command(
        "bench.bench_index", "--run-one", name, "--docs", docs, "--index-dir", index_dir, "--procs", procs
    )
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
    figures = last_json(proc.stdout) if proc.returncode == 0 else None
    if not isinstance(figures, dict):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"configuration {name!r} failed (exit {proc.returncode})")
    return figures


def fmt_table(rows: list[dict]) -> str:
    stock = next((r for r in rows if r["config"] == "stock"), None)
    header = ["configuration", "docs", "wall s", "docs/s", "peak RSS MiB", "index MiB", "vs stock"]
    body = []
    for r in rows:
        ratio = f"{r['docs_per_s'] / stock['docs_per_s']:.2f}×" if stock else "n/a"
        body.append([
            r["config"], f"{r['docs']:,}", f"{r['wall_s']:.1f}", f"{r['docs_per_s']:,.0f}",
            f"{r['peak_rss_mib']:.0f}", f"{r['index_bytes'] / MIB:.1f}", ratio,
        ])  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    right = [False] + [True] * (len(header) - 1)

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
            + " |"
        )

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right, strict=True))
        + "|"
    )
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--docs",
        type=Path,
        default=NEWS_DOCS,
        help="JSON Lines documents (default: %(default)s)",
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N lines")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary indexes")
    parser.add_argument(
        "--tmp", type=Path, default=None, help="where to create the temporary folder"
    )
    # Internal: one configuration in this process (used by the parent).
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", help=argparse.SUPPRESS)
    parser.add_argument("--procs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_one:
        run_one(args)
        return 0

    source = args.docs.resolve()
    if not source.is_file():
        parser.error(f"{source}: no such file")
    if args.tmp:
        args.tmp.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench_index-", dir=args.tmp))
    progress = log if args.json else functools.partial(log, file=sys.stdout)
    problems: list[str] = []
    notes: list[str] = []
    info = versions()
    try:
        docs, updated, only_changed, changed = prepare_inputs(source, args.limit, workdir)
        progress(f"documents: {source}" + (f" (first {args.limit} lines)" if args.limit else ""))
        progress(f"temporary folder: {workdir}")
        # (label, child name, system, input, index folder, procs)
        plan = [
            ("stock", "stock", "stock", docs, workdir / "stock", 1),
            ("searchsvc procs=1", "searchsvc", "searchsvc", docs, workdir / "searchsvc-procs1", 1),
            ("incremental (1% changed)", "incremental", "searchsvc", updated, workdir / "searchsvc-procs1", 1),
            ("searchsvc procs=2", "searchsvc", "searchsvc", docs, workdir / "searchsvc-procs2", 2),
        ]  # fmt: skip
        peers = ["stock"]
        if fts5_available():
            peers.append("fts5")
            plan.append(("fts5", "fts5", "fts5", docs, workdir / "fts5", 1))
        else:
            notes.append(f"sqlite {sqlite3.sqlite_version} has no FTS5: fts5 rows skipped")
        if tantivy_available():
            peers.append("tantivy")
            plan.append(("tantivy", "tantivy", "tantivy", docs, workdir / "tantivy", 1))
        else:
            notes.append("tantivy not installed (pip install -e '.[bench]'): its rows skipped")
        for peer in peers:
            plan.append((
                f"{peer} incremental (1% changed)", f"{peer}-incremental", peer,
                only_changed, workdir / peer, 1,
            ))  # fmt: skip
        for note in notes:
            progress(f"note: {note}")

        rows = []
        for label, name, system, inputs, index_dir, procs in plan:
            progress(f"running {label}…")
            r = child(name, inputs, index_dir, procs)
            r["config"] = label
            r["kind"] = name
            r["system"] = system
            r["incremental"] = name == "incremental" or name.endswith("-incremental")
            r["procs"] = procs
            r["docs_per_s"] = r["docs"] / r["wall_s"] if r["wall_s"] else float("nan")
            r["peak_rss_mib"] = max(r["rss_self_mib"], r["rss_children_mib"])
            rows.append(r)
            progress(f"  {r['docs']} docs in {r['wall_s']:.1f} s")

        full = next(r for r in rows if r["config"] == "searchsvc procs=1")
        incr = next(r for r in rows if r["kind"] == "incremental")
        ratio = full["wall_s"] / incr["wall_s"] if incr["wall_s"] else float("nan")
        by_system = {"searchsvc": ratio}
        for peer in peers:
            peer_full = next(r for r in rows if r["kind"] == peer)
            peer_incr = next(r for r in rows if r["kind"] == f"{peer}-incremental")
            by_system[peer] = (
                peer_full["wall_s"] / peer_incr["wall_s"] if peer_incr["wall_s"] else float("nan")
            )
        fed = full["docs"]
        problems += [
            f"{r['config']}: {r['indexed']} documents in the index, {r['docs']} fed in"
            for r in rows
            if r["indexed"] != r["docs"]
        ]
        problems += [
            f"{r['config']}: {r['indexed']} documents in the index after the update, {fed} before"
            for r in rows
            if r["incremental"] and r["kind"] != "incremental" and r["indexed"] != fed
        ]
        problems += [
            f"{r['config']}: {r['verified']} of the {changed} changed titles found in the index"
            for r in rows
            if r["kind"].endswith("-incremental") and not r["verified"] == r["updated"] == changed
        ]
        if incr.get("mode") != "incremental":
            problems.append(
                f"incremental run fell back to mode {incr.get('mode')!r}: {incr.get('note')}"
            )
        if incr.get("updated") != changed:
            problems.append(
                f"incremental run updated {incr.get('updated')} documents, {changed} were changed"
            )

        summary = {
            "documents_file": str(source),
            "limit": args.limit,
            **info,
            "cpus": os.cpu_count(),
            "limitmb": LIMITMB,
            "changed_for_incremental": changed,
            "full_over_incremental": ratio,
            "full_over_incremental_by_system": by_system,
            "rows": rows,
            "notes": notes,
            "problems": problems,
            "workdir": str(workdir) if args.keep else None,
        }
        if args.json:
            print(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            print()
            print(fmt_table(rows))
            print()
            print(
                f"incremental: {incr['updated']} updated, {incr['unchanged']} unchanged, "
                f"{incr['added']} added, {incr['deleted']} deleted; "
                f"full (procs=1) / incremental = {full['wall_s']:.1f} s / {incr['wall_s']:.1f} s "
                f"= {ratio:.2f}×"
            )
            for peer in peers:
                peer_full = next(r for r in rows if r["kind"] == peer)
                peer_incr = next(r for r in rows if r["kind"] == f"{peer}-incremental")
                print(
                    f"{peer} incremental: {peer_incr['updated']} documents replaced; full / incremental "
                    f"= {peer_full['wall_s']:.2f} s / {peer_incr['wall_s']:.2f} s = {by_system[peer]:.2f}×"
                )
            for r in rows:
                if r["rss_children_mib"] > 0:
                    print(
                        f"{r['config']}: peak RSS main process {r['rss_self_mib']:.0f} MiB, "
                        f"largest worker {r['rss_children_mib']:.0f} MiB ({r['procs']} workers "
                        f"run at once: up to ~{r['rss_self_mib'] + r['procs'] * r['rss_children_mib']:.0f} "
                        "MiB together)"
                    )
            print(
                f"peak RSS: max resident set of the process doing the work or of its workers; "
                f"limitmb={LIMITMB}; Python {info['python']}, "
                f"sqlite {info['sqlite']}, {os.cpu_count()} CPUs"
            )
            for note in notes:
                print(f"note: {note}")
            for p in problems:
                print(f"WARNING: {p}")
            if args.keep:
                print(f"indexes kept in {workdir}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
