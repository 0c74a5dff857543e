"""Benchmark a full reindex of the OrangeSum news corpus (20,000 French articles).

What it measures, for each configuration, all indexing the same documents in
the same run (title + body, stored, as the service does):

* ``stock``: Whoosh's own French analyzer, ``LanguageAnalyzer("fr")``, on a
  minimal schema ``id`` / ``title`` / ``body`` (both stored), one
  ``ix.writer(limitmb=256)``, ``add_document`` per line read with plain
  ``json.loads``, one ``commit()``. The baseline.
* ``searchsvc procs=1``: ``searchsvc.indexer.reindex([docs], tmpdir, procs=1)``,
  i.e. the service's real path: its loader (validation, NFC, fingerprints),
  its French chain, and its full schema, which also indexes title + body a
  second time in the unstemmed ``exact`` field, plus ``date``; a catalog and
  a manifest are written too. So it does more work per document than ``stock``.
* ``searchsvc procs=2``: the same with ``procs=2`` (Whoosh's multi-process
  ``MpWriter``, ``multisegment=True``: the main process reads and pickles
  documents, two worker processes analyse and write one segment each).
* ``incremental``: after ``searchsvc procs=1``, a copy of the documents file
  in which every 100th line has " (mis à jour)" appended to its title (1% of
  the documents), indexed with ``reindex(..., incremental=True)`` into the same
  index folder; reported with the ratio full (procs=1) / incremental wall time.

Figures per configuration: documents, wall time (of the indexing call only,
Python start-up and imports excluded), documents per second, peak RSS and
on-disk index size (apparent size of the index files; for searchsvc, the new
generation's folder, catalog and manifest included; an incremental generation
is made of hard links to the previous one plus its own new files, and its
size counts them all), and each row's docs/s relative to ``stock``.

Each configuration runs in a fresh Python subprocess (``--run-one``) that
reports its own peak RSS: ``getrusage(RUSAGE_SELF).ru_maxrss`` for itself and
``RUSAGE_CHILDREN`` for its (waited-for) child processes, i.e. Whoosh's writer
workers. The table shows the larger of the two; both are in ``--json``, and
rows with workers get a footnote (several workers run at once, so their
combined footprint can reach main + procs × worker).

After each run the child counts the documents actually in the index, and the
parent says so loudly if that differs from the documents fed in.

Run from the repo root::

    .venv/bin/python bench/bench_index.py               # full: 20,000 docs, several minutes
    .venv/bin/python bench/bench_index.py --limit 2000  # quick check
    .venv/bin/python bench/bench_index.py --json        # figures as JSON
    .venv/bin/python bench/bench_index.py --keep        # keep the temporary indexes

``--docs PATH`` reads another JSON Lines file (default:
``../shared/data/orangesum_news/docs.jsonl`` next to the repo root).
Temporary indexes go under a fresh folder in the system temp dir
(``--tmp DIR`` to choose where) and are deleted at the end unless ``--keep``.

Stdlib only (plus searchsvc and Whoosh, from the venv).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOCS = REPO_ROOT / ".." / "shared" / "data" / "orangesum_news" / "docs.jsonl"
LIMITMB = 256
UPDATE_EVERY = 100
UPDATE_SUFFIX = " (mis à jour)"
MIB = 1024 * 1024


# --------------------------------------------------------------------------
# Child side: one configuration, measured in its own process


def dir_size(path: Path) -> int:
    """Apparent size of the regular files directly in ``path``."""
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


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


def run_searchsvc(docs: Path, index_dir: Path, procs: int, incremental: bool) -> dict:
    from whoosh import index as whoosh_index

    from searchsvc import generations
    from searchsvc.indexer import reindex

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


def run_one(args: argparse.Namespace) -> None:
    docs, index_dir = Path(args.docs), Path(args.index_dir)
    if args.run_one == "stock":
        out = run_stock(docs, index_dir)
    elif args.run_one == "searchsvc":
        out = run_searchsvc(docs, index_dir, args.procs, incremental=False)
    elif args.run_one == "incremental":
        out = run_searchsvc(docs, index_dir, 1, incremental=True)
    else:
        raise SystemExit(f"unknown configuration {args.run_one!r}")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    unit = 1 if sys.platform == "darwin" else 1024
    out["rss_self_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / MIB
    out["rss_children_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / MIB
    print(json.dumps(out))


# --------------------------------------------------------------------------
# Parent side: prepare inputs, run each configuration, print the table


def prepare_inputs(source: Path, limit: int | None, workdir: Path) -> tuple[Path, Path, int]:
    """Write ``docs.jsonl`` (the first ``limit`` lines of ``source``) and
    ``docs-updated.jsonl`` (the same, every 100th line's title changed)."""
    docs = workdir / "docs.jsonl"
    updated = workdir / "docs-updated.jsonl"
    lines = 0
    changed = 0
    with (
        open(source, encoding="utf-8") as src,
        open(docs, "w", encoding="utf-8") as a,
        open(updated, "w", encoding="utf-8") as b,
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
                changed += 1
            else:
                b.write(line)
    return docs, updated, changed


def child(name: str, docs: Path, index_dir: Path, procs: int = 1) -> dict:
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--run-one", name,
        "--docs", str(docs), "--index-dir", str(index_dir), "--procs", str(procs),
    ]  # fmt: skip
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO_ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"configuration {name!r} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
        default=DEFAULT_DOCS,
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
    log = (
        (lambda *a: print(*a, file=sys.stderr, flush=True))
        if args.json
        else (lambda *a: print(*a, flush=True))
    )
    try:
        docs, updated, changed = prepare_inputs(source, args.limit, workdir)
        log(f"documents: {source}" + (f" (first {args.limit} lines)" if args.limit else ""))
        log(f"temporary folder: {workdir}")
        plan = [
            ("stock", "stock", workdir / "stock", 1),
            ("searchsvc procs=1", "searchsvc", workdir / "searchsvc-procs1", 1),
            ("incremental (1% changed)", "incremental", workdir / "searchsvc-procs1", 1),
            ("searchsvc procs=2", "searchsvc", workdir / "searchsvc-procs2", 2),
        ]
        rows = []
        for label, name, index_dir, procs in plan:
            log(f"running {label}…")
            r = child(name, updated if name == "incremental" else docs, index_dir, procs)
            r["config"] = label
            r["kind"] = name
            r["procs"] = procs
            r["docs_per_s"] = r["docs"] / r["wall_s"] if r["wall_s"] else float("nan")
            r["peak_rss_mib"] = max(r["rss_self_mib"], r["rss_children_mib"])
            rows.append(r)
            log(f"  {r['docs']} docs in {r['wall_s']:.1f} s")

        full = next(r for r in rows if r["config"] == "searchsvc procs=1")
        incr = next(r for r in rows if r["kind"] == "incremental")
        ratio = full["wall_s"] / incr["wall_s"] if incr["wall_s"] else float("nan")
        problems = [
            f"{r['config']}: {r['indexed']} documents in the index, {r['docs']} fed in"
            for r in rows
            if r["indexed"] != r["docs"]
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
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "limitmb": LIMITMB,
            "changed_for_incremental": changed,
            "full_over_incremental": ratio,
            "rows": rows,
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
                f"limitmb={LIMITMB}; Python {platform.python_version()}, {os.cpu_count()} CPUs"
            )
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
