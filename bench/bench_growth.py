"""Growth benchmark: how build time, index size, memory and query latency grow with the corpus.

Why: a site owner needs to see at which size one machine stops being enough
(a build that takes hours, an index that does not fit, memory over 1 GB,
queries over 50 ms). For each size (default 20,000, 100,000, 300,000 and
1,000,000 documents) it:

1. makes the corpus with ``bench.corpora.make_growth_corpus`` (the 20,000 OrangeSum
   articles, then documents recombined from their sentences), or reuses it
   from ``bench/work/growth/`` when its ``.meta.json`` matches;
2. builds an index in a fresh subprocess with the service's own indexer,
   ``reindex([docs], index_dir, procs=0)`` (``procs=0``: one writer process
   per core, at most 4, as the service does by default), and measures:
   wall time of the ``reindex`` call and docs/s; peak memory, both the peak
   of the SUM of VmRSS over the whole process tree (the build process and its
   Whoosh writer processes, polled from ``/proc`` every 0.2 s; pages shared
   between processes are counted in each, so it is an upper bound) and the
   largest single process (the largest VmHWM seen while polling, the build
   process's own VmHWM, and ``ru_maxrss`` of its waited-for workers); disk
   usage of the index folder (``du``: allocated blocks, hard links once);
3. opens the index in another fresh subprocess and times queries that
   process has never seen, with ``bench_fresh.run`` (the service's own
   ``LiveIndex`` and ``search()``: top 10 with snippets and highlighted
   titles, facets, suggestion, the site's synonyms; no result cache):

   - short queries: 320 one- to three-word queries drawn from the titles of
     the 20,000 OrangeSum articles (``bench_fresh.draw_short(320, seed=7)``,
     the same at every size). The first 20 are run as warm-up, so that files
     are opened and columns read by OTHER queries than the timed ones; then
     each of the other 300 is timed once, the first time the process sees it
     ("fresh": p50 / p95); then the same 300 are timed a second time
     ("repeated": what the caches remember);
   - questions: 110 PIAF questions of 8 to 15 words
     (``draw_questions(110, seed=7)``), 10 warm-up, 100 timed the same way;
   - memory of that process: VmRSS at the end, its peak (VmHWM), and its
     own memory after both sets (``Anonymous`` in ``/proc/self/smaps_rollup``:
     heap and arrays, what one more worker adds; the index files it maps are
     the shared page cache and left out).

   Up to 0.2.0 this step ran the SAME 300 queries as warm-up and then timed
   two more rounds of them, so it measured caches. Those figures are kept in
   ``bench/results/growth-before.json``, beside 0.2.0 timed the way this step
   times now (``fresh_*``: ``bench_fresh`` run from a checkout of 0.2.0 on the
   same indexes, 2026-12-07), which the latency panel draws in grey as the
   "before" curves (the repeated-query ones when a file has no fresh figures);
4. deletes the index (unless ``--keep``) and saves the figures at once.

With ``--reuse``, a size whose index is already there
(``bench/work/growth/index-N/CURRENT`` exists) is not built: only its queries
are measured (no corpus needed; the build figures are absent from its entry,
which says ``"reused_index": true``; the index size is that of its current
generation). If that generation has no packed postings (no ``packed-*.json``:
an index built before they existed), the query process first writes them as a
reindex would (``searchsvc.index.packed.write_packed``, 2 processes), records
the time as ``pack_s``, then resets its peak-memory mark so that
``query_peak_rss_mib`` is that of searching alone. A reused index is never
deleted. Sizes without an index are built as usual.

Results are merged per size into ``bench/results/growth.json`` (saved after
each size, so a long run can be resumed: ``--resume`` skips sizes already
measured at the same git commit with this query method), then it prints a
markdown table of the requested sizes (or, with ``--json``, their figures as
JSON; progress always goes to stderr) and plots them to
``bench/results/growth.png``: build time and docs/s, index size, peak memory
with a 1 GB line, query latency (fresh, repeated, questions, and the "before"
curves) with a 50 ms line, all against the number of documents (log scale).
Points whose figures are missing (the build of a reused index) are left out.

Run from the repo root (needs the ``bench`` extra for matplotlib)::

    .venv/bin/python -m bench.bench_growth                      # 20k…1M: hours on 2 CPUs
    .venv/bin/python -m bench.bench_growth --resume             # carry on after an interruption
    .venv/bin/python -m bench.bench_growth --sizes 2000,5000    # quick check, ~2 minutes
    .venv/bin/python -m bench.bench_growth --keep               # keep bench/work/growth/index-N/
    .venv/bin/python -m bench.bench_growth --reuse --keep       # queries only where an index is kept
    .venv/bin/python -m bench.bench_growth --plot-only          # redraw growth.png from growth.json

The default sizes index 1.42 million documents in all; at the ~240 docs/s
``bench_index.py`` measured for 20,000 on 2 CPUs that is 1.6 hours of
building alone, more if the rate drops with size. Disk: the corpora stay in
``bench/work/growth/`` for reuse (≈2.3 KB a document: 1M ≈ 2.3 GB; delete the
folder to reclaim it), and each index (≈9 KB a document at 20k, so expect
≈9 GB at 1M, plus Whoosh's temporary files while it merges) is deleted after
it is measured unless ``--keep``.
The exit status is 1 if an index does not hold every document fed in.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    MIB,
    RESULTS,
    ROOT,
    WORK,
    git_state,
    last_json,
    log,
    module_command,
    process_tree,
    save_json,
    versions,
)
from bench.corpora import make_growth_corpus

GROWTH_WORK = WORK / "growth"
DEFAULT_SIZES = "20000,100000,300000,1000000"
SHORT_QUERIES = 300  # timed, each once at first sight, then once repeated
SHORT_WARMUP = 20  # other short queries run first
QUESTIONS = 100
QUESTIONS_WARMUP = 10
QUERY_SEED = 7
PACK_PROCS = 2  # processes packing a reused generation's postings
# 0.2.0's figures (fresh queries, and the same queries repeated), in --results: the "before" curves
BEFORE_FILE = "growth-before.json"
LIMITMB = 128  # the service default (SEARCHSVC_WRITER_LIMIT_MB)
POLL_S = 0.2
HEARTBEAT_S = 60.0
ONE_GB_MIB = 1024  # the memory panel's line: a 1 GB machine
LATENCY_LINE_MS = 50
RESULTS_FORMAT = 1


# --------------------------------------------------------------------------
# Process-tree memory, from /proc (stdlib only)


def read_status_kib(pid: int, key: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/<pid>/status`` in KiB; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None  # a zombie has no Vm* lines


#: Polls between two readings of the tree's PSS (every 2 s at 0.2 s a poll):
#: ``smaps_rollup`` walks a process's page tables, and read at every poll it
#: took a tenth of a core from the build it measures.
PSS_EVERY = 10


def read_pss_kib(pid: int) -> int | None:
    """``Pss`` of ``/proc/<pid>/smaps_rollup`` in KiB: the process's resident
    pages, each shared page divided among the processes sharing it."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class TreeSampler:
    """Peak of the summed RSS of a process tree, of its summed PSS, and the
    largest single process seen.

    Why all three: several writer processes run at once, so the machine
    needs their sum. The RSS sum is an upper bound (pages a forked process
    still shares with its parent are counted in each); the PSS sum divides
    each shared page among its sharers, what the processes take together.
    The largest one says what one more worker would cost.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_sum_kib = 0
        self.peak_pss_kib = 0
        self.peak_single_kib = 0
        self.peak_processes = 0
        self.samples = 0
        self.last_sum_kib = 0
        self.last_processes = 0

    def sample(self) -> None:
        total = 0
        pss = 0
        alive = 0
        for pid in process_tree(self.root):
            rss = read_status_kib(pid, "VmRSS")
            if rss is None:
                continue
            alive += 1
            total += rss
            if self.samples % PSS_EVERY == 0:  # reading it walks the page tables: not every poll
                pss += read_pss_kib(pid) or rss
            hwm = read_status_kib(pid, "VmHWM") or rss
            self.peak_single_kib = max(self.peak_single_kib, hwm)
        self.last_sum_kib, self.last_processes = total, alive
        self.peak_sum_kib = max(self.peak_sum_kib, total)
        if self.samples % PSS_EVERY == 0:
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
        self.samples += 1
        self.peak_processes = max(self.peak_processes, alive)


def run_sampled(cmd: list[str], label: str) -> tuple[dict, TreeSampler, float]:
    """Run ``cmd`` (which prints one JSON line last), sampling its tree's memory meanwhile.

    Output goes to temporary files rather than pipes, so that a chatty child
    can never block on a full pipe while we only poll.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, text=True)
        sampler = TreeSampler(proc.pid)
        next_beat = started + HEARTBEAT_S
        while proc.poll() is None:
            sampler.sample()
            if time.perf_counter() >= next_beat:
                next_beat += HEARTBEAT_S
                log(
                    f"  {label}: {time.perf_counter() - started:,.0f} s, "
                    f"{sampler.last_processes} processes, {sampler.last_sum_kib / 1024:,.0f} MiB now, "
                    f"peak {sampler.peak_sum_kib / 1024:,.0f} MiB"
                )
            time.sleep(POLL_S)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    figures = last_json(stdout) if proc.returncode == 0 else None
    if not isinstance(figures, dict):
        sys.stderr.write(stdout + stderr)
        raise SystemExit(f"{label} failed (exit {proc.returncode})")
    return figures, sampler, elapsed


def disk_usage(path: Path) -> tuple[int, int]:
    """(allocated bytes, as ``du`` counts them, hard links once; apparent bytes) under ``path``."""
    seen: set[tuple[int, int]] = set()
    allocated = apparent = 0
    for folder, _, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            allocated += st.st_blocks * 512
            apparent += st.st_size
    return allocated, apparent


# --------------------------------------------------------------------------
# Child side: one build, or one query run, in its own process


def own_peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM), in MiB.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that across
    ``execve``, so a child started by a big parent reports the parent's size.
    """
    return (read_status_kib(os.getpid(), "VmHWM") or 0) / 1024


def workers_peak_rss_mib() -> float:
    """Largest peak RSS of the waited-for child processes (Whoosh's writers), in MiB.

    These are forked, not exec'd, so ``ru_maxrss`` is their own (KiB on Linux).
    """
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * unit / MIB


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for workers: with the wall
    time, how well the build used the cores (and a hint when others competed)."""
    return sum(
        r.ru_utime + r.ru_stime
        for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


def child_build(docs: Path, index_dir: Path, procs: int) -> dict:
    """A full build with the service's indexer; its own and its workers' peak RSS."""
    from searchsvc.index.reindex import reindex

    started = time.perf_counter()
    result = reindex([docs], index_dir, procs=procs, limitmb=LIMITMB)
    wall = time.perf_counter() - started
    return {
        "build_s": wall,
        "build_cpu_s": cpu_seconds(),
        "documents": result.documents,
        "reindex_size_bytes": result.size_bytes,
        "rss_self_mib": own_peak_rss_mib(),
        "rss_children_mib": workers_peak_rss_mib(),
    }


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (``5`` to ``/proc/self/clear_refs``,
    Linux 4.0+), so that a later peak is not an earlier step's; False if refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def pack_if_missing(index_dir: Path) -> dict:
    """Write the packed postings of the current generation if it has none (a reused index
    built before they existed), as a reindex would; ``pack_s`` is None when nothing was packed."""
    import gc

    from whoosh import index as whoosh_index

    from searchsvc.index.generations import current_generation
    from searchsvc.index.packed import PREFIX, write_packed
    from searchsvc.text import whoosh_patches

    generation = current_generation(index_dir)
    if generation is None:
        raise SystemExit(f"{index_dir}: no generation published (no CURRENT)")
    if any(generation.path.glob(f"{PREFIX}*.json")):
        return {"pack_s": None, "packed_segments": 0}
    whoosh_patches.install_reader()
    started = time.perf_counter()
    with whoosh_index.open_dir(str(generation.path)).reader() as reader:
        segments = write_packed(generation.path, reader, procs=PACK_PROCS)
    pack_s = time.perf_counter() - started
    gc.collect()
    return {
        "pack_s": pack_s,
        "packed_segments": len(segments),
        "pack_peak_rss_mib": own_peak_rss_mib(),
        "peak_rss_reset_after_pack": reset_peak_rss(),
    }


def child_queries(index_dir: Path, query_sets: dict[str, list[str]], pack: bool) -> dict:
    """Time short queries, then questions, each the first time this process sees it
    (``bench_fresh.run``: a warm-up with other queries, each timed query once, then
    all of them again); with ``pack``, first pack the generation's postings if missing."""
    from bench import bench_fresh

    packing = pack_if_missing(index_dir) if pack else {}
    short_pool, question_pool = query_sets["short"], query_sets["questions"]
    short = bench_fresh.run(index_dir, short_pool[SHORT_WARMUP:], short_pool[:SHORT_WARMUP])
    questions = bench_fresh.run(
        index_dir, question_pool[QUESTIONS_WARMUP:], question_pool[:QUESTIONS_WARMUP]
    )
    fresh, repeated = short["first_sight"], short["repeated"]
    return {
        **packing,
        "indexed_docs": short["documents"],
        "open_s": short["open_s"],
        "timed_queries": short["queries"],
        "timed_questions": questions["queries"],
        "fresh_p50_ms": fresh["p50_ms"],
        "fresh_p95_ms": fresh["p95_ms"],
        "repeated_p50_ms": repeated["p50_ms"],
        "repeated_p95_ms": repeated["p95_ms"],
        "questions_p50_ms": questions["first_sight"]["p50_ms"],
        "questions_p95_ms": questions["first_sight"]["p95_ms"],
        "questions_repeated_p95_ms": questions["repeated"]["p95_ms"],
        # The short queries at first sight, under the names the table and older readers use.
        "p50_ms": fresh["p50_ms"],
        "p95_ms": fresh["p95_ms"],
        "mean_total_hits": short["mean_total"],
        "questions_mean_total_hits": questions["mean_total"],
        "private_mib": questions["private_mib"],  # after both sets
        "query_rss_mib": (read_status_kib(os.getpid(), "VmRSS") or 0) / 1024,
        "query_peak_rss_mib": own_peak_rss_mib(),
        "short_run": short,  # bench_fresh.run's figures as they came
        "questions_run": questions,
    }


def run_child(args: argparse.Namespace) -> None:
    """Internal entry point of the two subprocesses: one JSON line on stdout."""
    index_dir = Path(args.index_dir)
    if args.child == "build":
        out = child_build(Path(args.docs), index_dir, args.procs)
    else:
        query_sets = json.loads(Path(args.queries).read_text(encoding="utf-8"))
        out = child_queries(index_dir, query_sets, args.pack_missing)
    print(json.dumps(out))


# --------------------------------------------------------------------------
# Parent side: corpora, queries, one size at a time, results, table, plot


def ensure_corpus(size: int) -> tuple[Path, dict]:
    """The growth corpus of ``size`` documents under ``bench/work/growth/``, made if missing or stale."""
    path = GROWTH_WORK / f"docs-{size}.jsonl"
    source = make_growth_corpus.DEFAULT_SOURCE.resolve()
    seed = make_growth_corpus.DEFAULT_SEED
    if make_growth_corpus.is_current(path, source, size, seed):
        log(f"  corpus: reusing {path.relative_to(ROOT)}")
        return path, json.loads(make_growth_corpus.meta_path(path).read_text(encoding="utf-8"))
    log(f"  corpus: writing {path.relative_to(ROOT)}…")
    meta = make_growth_corpus.write_corpus(source, path, size, seed)
    log(f"  corpus: {meta['bytes'] / MIB:,.0f} MiB in {meta['seconds']:.1f} s")
    return path, meta


def ensure_queries() -> Path:
    """The query sets, the same at every size: short queries from the titles of the
    20,000 source articles and PIAF questions, warm-up ones first (``bench_fresh``'s draws)."""
    from bench.bench_fresh import draw_questions, draw_short  # imports searchsvc: only here

    sets = {
        "short": draw_short(SHORT_QUERIES + SHORT_WARMUP, seed=QUERY_SEED),
        "questions": draw_questions(QUESTIONS + QUESTIONS_WARMUP, seed=QUERY_SEED),
    }
    for name, wanted in (
        ("short", SHORT_QUERIES + SHORT_WARMUP),
        ("questions", QUESTIONS + QUESTIONS_WARMUP),
    ):
        if len(sets[name]) != wanted:
            raise SystemExit(f"only {len(sets[name])} {name} queries drawn, {wanted} wanted")
    path = GROWTH_WORK / "fresh-queries.json"
    GROWTH_WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sets, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    log(
        f"queries: {SHORT_WARMUP} + {SHORT_QUERIES} short, {QUESTIONS_WARMUP} + {QUESTIONS} questions "
        f"(warm-up + timed) → {path.relative_to(ROOT)}"
    )
    return path


def child_cmd(kind: str, index_dir: Path, **options: object) -> list[str]:
    """This module again, as the ``kind`` subprocess (``--child``), with ``--key value`` options,
    or ``--key`` alone for a value of True (run from the repo root, as ``run_sampled`` does)."""
    options["index-dir"] = index_dir
    items: list[object] = []
    for key, value in options.items():
        if value is True:
            items.append(f"--{key}")
        elif value is not False and value is not None:
            items += [f"--{key}", value]
    return module_command("bench.bench_growth", "--child", kind, *items)


def existing_corpus_mib(size: int) -> float | None:
    """The size of the corpus of ``size`` documents if it is there (a reused index needs none)."""
    try:
        meta = json.loads(
            make_growth_corpus.meta_path(GROWTH_WORK / f"docs-{size}.jsonl").read_text("utf-8")
        )
        return meta["bytes"] / MIB
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_index(size: int, index_dir: Path, args: argparse.Namespace) -> dict:
    """Corpus and a full, fresh build of ``index_dir``: the build figures of an entry."""
    docs, corpus = ensure_corpus(size)
    shutil.rmtree(index_dir, ignore_errors=True)  # always a fresh, full build
    log(f"  build: reindex(procs={args.procs}, limitmb={LIMITMB})…")
    build, tree, process_s = run_sampled(
        child_cmd("build", index_dir, docs=docs, procs=args.procs), f"build {size:,}"
    )
    allocated, apparent = disk_usage(index_dir)
    log(
        f"  build: {build['build_s']:,.1f} s, {build['documents'] / build['build_s']:,.0f} docs/s, "
        f"{build['build_cpu_s'] / process_s:.1f} cores busy, "
        f"peak {tree.peak_sum_kib / 1024:,.0f} MiB (tree RSS), {tree.peak_pss_kib / 1024:,.0f} MiB (tree PSS), "
        f"index {allocated / MIB:,.0f} MiB"
    )
    return {
        "corpus_mib": corpus["bytes"] / MIB,
        "documents_loaded": build["documents"],
        "build_s": build["build_s"],
        "build_process_s": process_s,
        "build_cpu_s": build["build_cpu_s"],
        "build_cores_used": build["build_cpu_s"] / process_s,
        "docs_per_s": build["documents"] / build["build_s"],
        "peak_tree_rss_mib": tree.peak_sum_kib / 1024,
        "peak_tree_pss_mib": tree.peak_pss_kib / 1024,
        "peak_single_rss_mib": max(
            tree.peak_single_kib / 1024, build["rss_self_mib"], build["rss_children_mib"]
        ),
        "build_main_rss_mib": build["rss_self_mib"],
        "build_worker_rss_mib": build["rss_children_mib"],
        "peak_processes": tree.peak_processes,
        "index_mib": allocated / MIB,
        "index_apparent_mib": apparent / MIB,
    }


def measure_size(size: int, args: argparse.Namespace, queries: Path) -> dict:
    """Corpus, build, index size, queries for one size (with ``--reuse``, an index already
    there is measured as it is, not built); a built index deleted unless ``--keep``."""
    index_dir = GROWTH_WORK / f"index-{size}"
    reused = bool(args.reuse) and (index_dir / "CURRENT").exists()
    if reused:
        log(f"  build: skipped, reusing {index_dir.relative_to(ROOT)} (--reuse)")
        entry: dict = {"docs": size, "reused_index": True, "corpus_mib": existing_corpus_mib(size)}
    else:
        entry = {"docs": size, "reused_index": False, **build_index(size, index_dir, args)}
    log(
        f"  queries: {SHORT_QUERIES} short and {QUESTIONS} questions, each timed at first sight, "
        "then repeated…"
    )
    query, query_tree, _ = run_sampled(
        child_cmd("queries", index_dir, queries=queries, **{"pack-missing": reused}),
        f"queries {size:,}",
    )
    if query.get("pack_s") is not None:
        log(f"  packed postings: {query['packed_segments']} segments in {query['pack_s']:,.1f} s")
    log(
        f"  queries: fresh p50 {query['fresh_p50_ms']:.1f} ms, p95 {query['fresh_p95_ms']:.1f} ms; "
        f"repeated p95 {query['repeated_p95_ms']:.1f} ms; questions p95 {query['questions_p95_ms']:.1f} ms; "
        f"private {query['private_mib']:,.0f} MiB"
    )
    if reused:  # after packing, if it packed; only the generation in use
        from searchsvc.index.generations import current_generation

        generation = current_generation(index_dir)
        allocated, apparent = disk_usage(generation.path)
        entry |= {"index_mib": allocated / MIB, "index_apparent_mib": apparent / MIB}
    elif not args.keep:
        shutil.rmtree(index_dir, ignore_errors=True)
    problems = []
    loaded = entry.get("documents_loaded", size)
    if loaded != size or query["indexed_docs"] != size:
        problems.append(
            f"{size} documents wanted, {'?' if reused else loaded} loaded, "
            f"{query['indexed_docs']} in the index"
        )
    return {
        **entry,
        **query,
        "query_tree_peak_rss_mib": query_tree.peak_sum_kib / 1024,
        "problems": problems,
    }


def machine() -> dict:
    """What the figures were measured on, stored with each entry."""
    with open("/proc/meminfo", encoding="ascii") as f:
        ram_kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return {"python": versions()["python"], "cpus": os.cpu_count(), "ram_mib": ram_kib / 1024}


def load_results(path: Path) -> dict:
    """The results file, or an empty one; entries keyed by size (as a string, JSON keys)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": RESULTS_FORMAT, "runs": {}}
    data.setdefault("runs", {})
    return data


def load_before(path: Path) -> list[dict]:
    """The entries of ``growth-before.json`` (0.2.0's figures: fresh queries, and the
    same queries repeated), by size; none if the file is not there."""
    try:
        runs = json.loads(path.read_text(encoding="utf-8")).get("runs", {})
    except FileNotFoundError:
        return []
    return [runs[k] for k in sorted(runs, key=int)]


def human(n: float) -> str:
    """20000 → 20k, 1000000 → 1M: axis ticks and table."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000:.0f}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000:.0f}k"
    return f"{n:,.0f}"


def number(value: object) -> float | None:
    """A figure as a float, or None when it is missing (absent, None, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def cell(e: dict, key: str, fmt: str) -> str:
    """One table cell: the figure formatted, or an en dash when it is missing."""
    value = number(e.get(key))
    return "–" if value is None else format(value, fmt)


def fmt_table(entries: list[dict]) -> str:
    """One markdown row per size; "–" where a figure is missing (the build of a reused index)."""
    header = (
        "| docs | build s | docs/s | peak MiB (tree) | peak MiB (largest) | index MiB "
        "| fresh p50 / p95 ms | repeated p95 ms | questions p95 ms "
        "| query RSS MiB | private MiB | pack s | commit |"
    )
    rows = [header, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for e in entries:
        commit = e["commit"] + ("+dirty" if e.get("dirty") else "")
        if e.get("reused_index"):
            commit += ", reused index"
        fresh = (
            f"{cell(e, 'fresh_p50_ms', '.1f')} / {cell(e, 'fresh_p95_ms', '.1f')}"
            if "fresh_p50_ms" in e
            else "–"
        )
        rows.append(
            f"| {e['docs']:,} | {cell(e, 'build_s', ',.1f')} | {cell(e, 'docs_per_s', ',.0f')} "
            f"| {cell(e, 'peak_tree_rss_mib', ',.0f')} | {cell(e, 'peak_single_rss_mib', ',.0f')} "
            f"| {cell(e, 'index_mib', ',.1f')} | {fresh} | {cell(e, 'repeated_p95_ms', '.1f')} "
            f"| {cell(e, 'questions_p95_ms', '.1f')} | {cell(e, 'query_rss_mib', ',.0f')} "
            f"| {cell(e, 'private_mib', ',.0f')} | {cell(e, 'pack_s', ',.1f')} | {commit} |"
        )
    return "\n".join(rows)


def series(entries: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(documents, figure) of the entries that have ``key``: missing points are skipped."""
    points = [(e["docs"], number(e.get(key))) for e in entries]
    kept = [(x, y) for x, y in points if y is not None]
    return [x for x, _ in kept], [y for _, y in kept]


def annotate(ax, xs: list[int], ys: list[float], fmt: str, below: bool = False, **style) -> None:
    """Write each point's value beside it: the figure must be readable without the table."""
    offset = (4, -12) if below else (4, 5)
    for x, y in zip(xs, ys, strict=True):
        ax.annotate(
            fmt.format(y), (x, y), textcoords="offset points", xytext=offset, fontsize=8, **style
        )


def curve(
    ax,
    entries: list[dict],
    key: str,
    fmt: str,
    label: str,
    note: str | None = None,
    below: bool = False,
    **style,
) -> list[float]:
    """Plot ``key`` against documents where it is known (values written beside the points
    when ``note`` is a format); returns the values drawn."""
    xs, ys = series(entries, key)
    if xs:
        ax.plot(xs, ys, fmt, label=label, **style)
        if note:
            annotate(ax, xs, ys, note, below=below, color=style.get("color"))
    return ys


def limit_line(ax, y: float, label: str) -> None:
    """A red horizontal line where one machine stops being enough, labelled at the right edge."""
    ax.axhline(y, color="red", linewidth=1)
    ax.text(
        0.99,
        y,
        label,
        transform=ax.get_yaxis_transform(),
        color="red",
        ha="right",
        va="bottom",
        fontsize=8,
    )


def nothing_to_draw(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="grey")


def plot(entries: list[dict], png: Path, before: list[dict] | None = None) -> None:
    """The 2×2 figure; matplotlib is imported here so that children never load it.

    ``before``: the entries of ``growth-before.json`` (queries measured by 0.2.0's
    method), drawn in grey in the latency panel. Missing figures are not drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    before = before or []
    xs = sorted({e["docs"] for e in entries})
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (ax_build, ax_size), (ax_mem, ax_query) = axes

    built = curve(
        ax_build, entries, "build_s", "o-", "build time (s)", "{:,.0f} s", color="tab:blue"
    )
    ax_build.set_ylabel("build time (s)", color="tab:blue")
    ax_rate = ax_build.twinx()
    rates = curve(
        ax_rate, entries, "docs_per_s", "s--", "docs/s", "{:,.0f}/s", below=True, color="tab:orange"
    )
    ax_rate.set_ylabel("documents per second", color="tab:orange")
    if built:
        ax_build.set_yscale("log")
        ax_rate.set_ylim(0, max(rates) * 1.3)
        ax_build.legend(handles=ax_build.lines + ax_rate.lines, loc="upper left", fontsize=8)
    else:
        nothing_to_draw(ax_build, "no build measured (reused indexes)")
        ax_build.set_yticks([])
        ax_rate.set_yticks([])
    ax_build.set_title("Full build (reindex)")

    sizes = curve(ax_size, entries, "index_mib", "o-", "index on disk (du)", "{:,.0f} MiB")
    sizes += curve(ax_size, entries, "corpus_mib", "^:", "JSON Lines input", color="grey")
    if sizes:
        ax_size.set_yscale("log")
        ax_size.legend(fontsize=8)
    ax_size.set_ylabel("MiB")
    ax_size.set_title("Index size")

    # A run whose peak came from a defect fixed since says so (peak_note) and
    # gives the peak of the build itself; its largest single process is not
    # known apart from the defect's, so it is not drawn.
    memory = [
        e
        | {
            "peak_tree_rss_mib": e.get("peak_tree_rss_mib_building", e.get("peak_tree_rss_mib")),
            "peak_single_rss_mib": None if "peak_note" in e else e.get("peak_single_rss_mib"),
        }
        for e in entries
    ]
    drawn = curve(
        ax_mem,
        memory,
        "peak_tree_rss_mib",
        "o-",
        "build: peak sum of RSS, all processes",
        "{:,.0f}",
    )
    drawn += curve(ax_mem, memory, "peak_single_rss_mib", "s--", "build: largest single process")
    drawn += curve(
        ax_mem, memory, "query_peak_rss_mib", "^:", "query process (one searcher): peak RSS"
    )
    drawn += curve(ax_mem, memory, "private_mib", "v-.", "query process: private memory")
    for e in entries:
        if "peak_note" in e:
            ax_mem.annotate(
                f"then {e['peak_tree_rss_mib']:,.0f} in a count\ncheck, fixed since (see json)",
                (e["docs"], e["peak_tree_rss_mib_building"]),
                textcoords="offset points",
                xytext=(-95, -40),
                fontsize=7,
                color="darkred",
            )
    limit_line(ax_mem, ONE_GB_MIB, "1 GB machine")
    ax_mem.set_ylim(0, max(ONE_GB_MIB * 1.15, *drawn) * 1.1)
    ax_mem.set_ylabel("MiB")
    ax_mem.set_title("Peak memory")
    ax_mem.legend(fontsize=8, loc="upper left")

    grey = {"color": "0.55"}
    # 0.2.0 timed with fresh queries too (the same sets, on the same indexes) where
    # growth-before.json has them: the fair comparison; else its repeated-query figures.
    method = "fresh" if any(e.get("fresh_p95_ms") is not None for e in before) else "repeated"
    key = "fresh_" if method == "fresh" else ""
    latencies = curve(
        ax_query, before, f"{key}p50_ms", "o-", f"before (0.2.0, {method} queries): p50", alpha=0.8, **grey
    )
    latencies += curve(
        ax_query,
        before,
        f"{key}p95_ms",
        "s--",
        f"before (0.2.0, {method} queries): p95",
        "{:.0f} ms",
        alpha=0.8,
        **grey,
    )
    latencies += curve(
        ax_query,
        entries,
        "fresh_p50_ms",
        "o-",
        "fresh queries p50",
        "{:.0f} ms",
        below=True,
        color="tab:blue",
    )
    latencies += curve(
        ax_query,
        entries,
        "fresh_p95_ms",
        "s-",
        "fresh queries p95",
        "{:.0f} ms",
        color="tab:orange",
    )
    latencies += curve(
        ax_query, entries, "repeated_p95_ms", "d:", "repeated p95", color="tab:green"
    )
    latencies += curve(
        ax_query,
        entries,
        "questions_p95_ms",
        "^-.",
        "questions fresh p95",
        "{:.0f} ms",
        color="tab:purple",
    )
    limit_line(ax_query, LATENCY_LINE_MS, f"{LATENCY_LINE_MS} ms")
    ax_query.set_yscale("log")  # 2 ms to 1 s: on a linear scale the small ones vanish
    ax_query.set_ylim(
        min(LATENCY_LINE_MS / 2, *latencies) / 1.6, max(LATENCY_LINE_MS * 2, *latencies) * 2.2
    )
    ax_query.set_ylabel("ms per query")
    ax_query.set_title("Query latency: short queries, top 10 with snippets, facets, suggestion")
    ax_query.legend(fontsize=7.5, loc="upper left")

    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    for ax in (ax_build, ax_size, ax_query):  # log y, labelled 20, 50, 100, not 2×10¹
        if ax.get_yscale() != "log":
            continue
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2, 5)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=8)
    for ax in axes.flat:
        drawn_before = {e["docs"] for e in before if e.get(f"{key}p95_ms") is not None}  # the sizes of the grey curves
        ticks = sorted(set(xs) | drawn_before) if ax is ax_query else xs
        ax.set_xscale("log")
        # Room for the values written beside the last points, also around a single size.
        pad = max(1.5, (ticks[-1] / ticks[0]) ** 0.12)
        ax.set_xlim(ticks[0] / pad, ticks[-1] * pad)
        ax.set_xticks(ticks, [human(x) for x in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # only the measured sizes
        ax.set_xlabel("documents")
        ax.grid(True, which="major", alpha=0.3)
    commits = sorted({e["commit"] + ("+dirty" if e.get("dirty") else "") for e in entries})
    last = entries[-1]
    builds = [
        e for e in entries if number(e.get("build_s")) is not None and e.get("procs") is not None
    ]
    build = f", procs={builds[-1]['procs']}, limitmb={builds[-1]['limitmb']}" if builds else ""
    reused = sum(1 for e in entries if e.get("reused_index"))
    reused_note = f" ({reused} reused {'index' if reused == 1 else 'indexes'}, not built)"
    fig.suptitle(
        f"searchsvc growth: {last['cpus']} CPUs, {last['ram_mib'] / 1024:.0f} GiB RAM{build}, "
        f"commit {', '.join(commits)}" + (reused_note if reused else "")
    )
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def parse_sizes(text: str) -> list[int]:
    """``20000,100k,1M`` → sorted sizes."""
    sizes = set()
    for part in text.split(","):
        part = part.strip().lower()
        factor = {"k": 1000, "m": 1_000_000}.get(part[-1:], 1)
        sizes.add(int(float(part.rstrip("km")) * factor))
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"bad --sizes {text!r}")
    return sorted(sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--plot-only",
        action="store_true",
        help="redraw the PNG from every size in the results file",
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes(DEFAULT_SIZES),
        help=f"documents per step, comma-separated, k/M allowed (default: {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip sizes already in the results file for the same git commit (and query method)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the indexes in bench/work/growth/"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="where bench/work/growth/index-N/CURRENT exists, do not build: measure the queries "
        "on that index (packing its postings first if it has none); a reused index is kept",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON, not a table"
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=0,
        help="writer processes, 0 = the service's automatic choice (default: 0)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="folder of growth.json and growth.png (default: bench/results)",
    )
    # Internal: the two subprocesses.
    parser.add_argument("--child", choices=("build", "queries"), help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", help=argparse.SUPPRESS)
    parser.add_argument("--docs", help=argparse.SUPPRESS)
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    parser.add_argument("--pack-missing", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args)
        return 0

    json_path, png_path = args.results / "growth.json", args.results / "growth.png"
    results = load_results(json_path)
    commit, dirty = git_state("searchsvc")
    commit = commit or "unknown"
    log(
        f"commit {commit}{' (searchsvc/ has uncommitted changes)' if dirty else ''}; "
        f"sizes {', '.join(human(s) for s in args.sizes)}; results → {json_path}"
    )
    before = load_before(args.results / BEFORE_FILE)
    if args.plot_only:
        entries = [results["runs"][k] for k in sorted(results["runs"], key=int)]
        if not entries:
            log(f"nothing to plot: {json_path} holds no sizes")
            return 1
        plot(entries, png_path, before)
        log(f"plot → {png_path}")
        return 0
    load = os.getloadavg()[0]  # before our own work, which raises it
    if load > 0.5:
        log(f"WARNING: load average {load:.1f} at start: other work will skew the figures")
    queries = None
    for size in args.sizes:
        previous = results["runs"].get(str(size))
        if args.resume and previous and previous.get("commit") == commit:
            if "fresh_p50_ms" in previous:
                log(
                    f"{size:,} documents: already measured at {commit} ({previous['measured_at']}), skipped"
                )
                continue
            log(
                f"{size:,} documents: measured at {commit} with the old query method, measured again"
            )
        log(f"{size:,} documents:")
        queries = queries or ensure_queries()
        entry = measure_size(size, args, queries)
        entry |= {
            "commit": commit,
            "dirty": dirty,
            "procs": None if entry["reused_index"] else args.procs,
            "limitmb": None if entry["reused_index"] else LIMITMB,
            "query_method": "fresh",  # bench_fresh.run; growth-before.json: the same queries repeated
            "queries": SHORT_QUERIES,
            "warmup_queries": SHORT_WARMUP,
            "questions": QUESTIONS,
            "warmup_questions": QUESTIONS_WARMUP,
            "query_seed": QUERY_SEED,
            "load_at_start": load,
            "measured_at": dt.datetime.now().isoformat(timespec="seconds"),
            **machine(),
        }
        results["runs"][str(size)] = entry
        save_json(json_path, results)  # after each size: a long run can be resumed

    entries = [results["runs"][str(s)] for s in args.sizes]
    plot(entries, png_path, before)
    log(f"plot → {png_path}")
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        built = "an existing index where there is one (--reuse), else " if args.reuse else ""
        print(
            f"\nGrowth: {built}a full build with reindex(procs={args.procs}), then {SHORT_QUERIES} "
            f"short queries and {QUESTIONS} questions (top 10 with snippets, facets, suggestion), "
            f"each timed the first time the process sees it, after {SHORT_WARMUP} / "
            f"{QUESTIONS_WARMUP} warm-up queries of their own, then repeated; {os.cpu_count()} CPUs\n"
        )
        print(fmt_table(entries))
    problems = [p for e in entries for p in e["problems"]]
    for p in problems:
        log(f"WARNING: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
