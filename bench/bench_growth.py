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
3. opens the index in another fresh subprocess as the service does
   (``LiveIndex(index_dir, WEIGHTING).searcher()``) and times
   ``search(searcher, SearchRequest(q=q))`` (top 10, snippets, highlighted
   titles) over 300 one- to three-word queries: ``bench_query.short_queries``
   on the 20,000 source articles, so the SAME queries at every size. One
   warm-up round, then ``--rounds`` timed rounds (default 2); p50 / p95 ms,
   and the resident memory of that query process (at the end and at its peak);
4. deletes the index (unless ``--keep``) and saves the figures at once.

Results are merged per size into ``bench/results/growth.json`` (saved after
each size, so a long run can be resumed: ``--resume`` skips sizes already
measured at the same git commit), then it prints a markdown table of the
requested sizes (or, with ``--json``, their figures as JSON; progress always
goes to stderr) and plots them to ``bench/results/growth.png``: build time
and docs/s, index size, peak memory with a 1 GB line, query p50 / p95 with a
50 ms line, all against the number of documents (log scale).

Run from the repo root (needs the ``bench`` extra for matplotlib)::

    .venv/bin/python -m bench.bench_growth                      # 20k…1M: hours on 2 CPUs
    .venv/bin/python -m bench.bench_growth --resume             # carry on after an interruption
    .venv/bin/python -m bench.bench_growth --sizes 2000,5000    # quick check, ~2 minutes
    .venv/bin/python -m bench.bench_growth --keep               # keep bench/work/growth/index-N/

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
import os
import resource
import shutil
import statistics
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
    percentile,
    process_tree,
    save_json,
    versions,
)
from bench.corpora import make_growth_corpus

GROWTH_WORK = WORK / "growth"
DEFAULT_SIZES = "20000,100000,300000,1000000"
QUERIES = 300
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


class TreeSampler:
    """Peak of the summed RSS of a process tree, and the largest single process seen.

    Why both: several Whoosh writer processes run at once, so the machine
    needs their sum (an upper bound: pages shared after fork are counted in
    each), while the largest one says what one more worker would cost.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_sum_kib = 0
        self.peak_single_kib = 0
        self.peak_processes = 0
        self.last_sum_kib = 0
        self.last_processes = 0

    def sample(self) -> None:
        total = 0
        alive = 0
        for pid in process_tree(self.root):
            rss = read_status_kib(pid, "VmRSS")
            if rss is None:
                continue
            alive += 1
            total += rss
            hwm = read_status_kib(pid, "VmHWM") or rss
            self.peak_single_kib = max(self.peak_single_kib, hwm)
        self.last_sum_kib, self.last_processes = total, alive
        self.peak_sum_kib = max(self.peak_sum_kib, total)
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


def child_queries(index_dir: Path, queries: list[str], rounds: int) -> dict:
    """Open the index as the service does, warm up once, then time ``rounds`` rounds."""
    from searchsvc.search.live import LiveIndex
    from searchsvc.search.searching import SearchRequest, search
    from searchsvc.search.weighting import WEIGHTING

    started = time.perf_counter()
    live = LiveIndex(index_dir, WEIGHTING)
    searcher = live.searcher()
    open_s = time.perf_counter() - started
    totals = [search(searcher, SearchRequest(q=q)).total for q in queries]  # warm-up
    timings = []
    for _ in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            search(searcher, SearchRequest(q=q))
            timings.append((time.perf_counter() - t0) * 1000)
    return {
        "indexed_docs": searcher.doc_count(),
        "open_s": open_s,
        "timed_queries": len(timings),
        "p50_ms": statistics.median(timings),
        "p95_ms": percentile(timings, 95),
        "mean_ms": statistics.fmean(timings),
        "max_ms": max(timings),
        "mean_total_hits": statistics.fmean(totals),
        "zero_hit_queries": sum(1 for t in totals if t == 0),
        "query_rss_mib": (read_status_kib(os.getpid(), "VmRSS") or 0) / 1024,
        "query_peak_rss_mib": own_peak_rss_mib(),
    }


def run_child(args: argparse.Namespace) -> None:
    """Internal entry point of the two subprocesses: one JSON line on stdout."""
    index_dir = Path(args.index_dir)
    if args.child == "build":
        out = child_build(Path(args.docs), index_dir, args.procs)
    else:
        queries = json.loads(Path(args.queries).read_text(encoding="utf-8"))
        out = child_queries(index_dir, queries, args.rounds)
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
    """The 300 short queries, from the 20,000 source articles: the same at every size."""
    from bench.bench_query import short_queries  # imports searchsvc and Whoosh: only here

    queries = short_queries(make_growth_corpus.DEFAULT_SOURCE.resolve(), QUERIES)
    path = GROWTH_WORK / "queries.json"
    GROWTH_WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(queries, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    log(f"queries: {len(queries)} short queries → {path.relative_to(ROOT)}")
    return path


def child_cmd(kind: str, index_dir: Path, **options: object) -> list[str]:
    """This module again, as the ``kind`` subprocess (``--child``), with ``--key value`` options
    (run from the repo root, as ``run_sampled`` does)."""
    options["index-dir"] = index_dir
    pairs = [item for key, value in options.items() for item in (f"--{key}", value)]
    return module_command("bench.bench_growth", "--child", kind, *pairs)


def measure_size(size: int, args: argparse.Namespace, queries: Path) -> dict:
    """Corpus, build, index size, queries for one size; the index deleted unless ``--keep``."""
    docs, corpus = ensure_corpus(size)
    index_dir = GROWTH_WORK / f"index-{size}"
    shutil.rmtree(index_dir, ignore_errors=True)  # always a fresh, full build
    log(f"  build: reindex(procs={args.procs}, limitmb={LIMITMB})…")
    build, tree, process_s = run_sampled(
        child_cmd("build", index_dir, docs=docs, procs=args.procs), f"build {size:,}"
    )
    allocated, apparent = disk_usage(index_dir)
    log(
        f"  build: {build['build_s']:,.1f} s, {build['documents'] / build['build_s']:,.0f} docs/s, "
        f"{build['build_cpu_s'] / process_s:.1f} cores busy, "
        f"peak {tree.peak_sum_kib / 1024:,.0f} MiB (tree), index {allocated / MIB:,.0f} MiB"
    )
    log(f"  queries: {args.rounds} timed rounds…")
    query, query_tree, _ = run_sampled(
        child_cmd("queries", index_dir, queries=queries, rounds=args.rounds),
        f"queries {size:,}",
    )
    log(f"  queries: p50 {query['p50_ms']:.1f} ms, p95 {query['p95_ms']:.1f} ms")
    if not args.keep:
        shutil.rmtree(index_dir, ignore_errors=True)
    problems = []
    if build["documents"] != size or query["indexed_docs"] != size:
        problems.append(
            f"{size} documents fed in, {build['documents']} loaded, "
            f"{query['indexed_docs']} in the index"
        )
    return {
        "docs": size,
        "corpus_mib": corpus["bytes"] / MIB,
        "build_s": build["build_s"],
        "build_process_s": process_s,
        "build_cpu_s": build["build_cpu_s"],
        "build_cores_used": build["build_cpu_s"] / process_s,
        "docs_per_s": build["documents"] / build["build_s"],
        "peak_tree_rss_mib": tree.peak_sum_kib / 1024,
        "peak_single_rss_mib": max(
            tree.peak_single_kib / 1024, build["rss_self_mib"], build["rss_children_mib"]
        ),
        "build_main_rss_mib": build["rss_self_mib"],
        "build_worker_rss_mib": build["rss_children_mib"],
        "peak_processes": tree.peak_processes,
        "index_mib": allocated / MIB,
        "index_apparent_mib": apparent / MIB,
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


def human(n: float) -> str:
    """20000 → 20k, 1000000 → 1M: axis ticks and table."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000:.0f}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000:.0f}k"
    return f"{n:,.0f}"


def fmt_table(entries: list[dict]) -> str:
    """One markdown row per size."""
    header = (
        "| docs | build s | docs/s | peak MiB (tree) | peak MiB (largest) | index MiB "
        "| p50 ms | p95 ms | query RSS MiB | commit |"
    )
    rows = [header, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for e in entries:
        commit = e["commit"] + ("+dirty" if e.get("dirty") else "")
        rows.append(
            f"| {e['docs']:,} | {e['build_s']:,.1f} | {e['docs_per_s']:,.0f} "
            f"| {e['peak_tree_rss_mib']:,.0f} | {e['peak_single_rss_mib']:,.0f} "
            f"| {e['index_mib']:,.1f} | {e['p50_ms']:.1f} | {e['p95_ms']:.1f} "
            f"| {e['query_rss_mib']:,.0f} | {commit} |"
        )
    return "\n".join(rows)


def annotate(ax, xs: list[int], ys: list[float], fmt: str, below: bool = False) -> None:
    """Write each point's value beside it: the figure must be readable without the table."""
    offset = (4, -12) if below else (4, 5)
    for x, y in zip(xs, ys, strict=True):
        ax.annotate(fmt.format(y), (x, y), textcoords="offset points", xytext=offset, fontsize=8)


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


def plot(entries: list[dict], png: Path) -> None:
    """The 2×2 figure; matplotlib is imported here so that children never load it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [e["docs"] for e in entries]
    col = {k: [e[k] for e in entries] for k in entries[0] if isinstance(entries[0][k], int | float)}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (ax_build, ax_size), (ax_mem, ax_query) = axes

    ax_build.plot(xs, col["build_s"], "o-", color="tab:blue", label="build time (s)")
    annotate(ax_build, xs, col["build_s"], "{:,.0f} s")
    ax_build.set_ylabel("build time (s)", color="tab:blue")
    ax_build.set_yscale("log")
    ax_rate = ax_build.twinx()
    ax_rate.plot(xs, col["docs_per_s"], "s--", color="tab:orange", label="docs/s")
    annotate(ax_rate, xs, col["docs_per_s"], "{:,.0f}/s", below=True)
    ax_rate.set_ylabel("documents per second", color="tab:orange")
    ax_rate.set_ylim(0, max(col["docs_per_s"]) * 1.3)
    ax_build.set_title("Full build (reindex)")
    ax_build.legend(handles=ax_build.lines + ax_rate.lines, loc="upper left", fontsize=8)

    ax_size.plot(xs, col["index_mib"], "o-", label="index on disk (du)")
    ax_size.plot(xs, col["corpus_mib"], "^:", color="grey", label="JSON Lines input")
    annotate(ax_size, xs, col["index_mib"], "{:,.0f} MiB")
    ax_size.set_yscale("log")
    ax_size.set_ylabel("MiB")
    ax_size.set_title("Index size")
    ax_size.legend(fontsize=8)

    # A run whose peak came from a defect fixed since says so (peak_note) and
    # gives the peak of the build itself.
    building = [e.get("peak_tree_rss_mib_building", e["peak_tree_rss_mib"]) for e in entries]
    col["peak_tree_rss_mib"] = building
    col["peak_single_rss_mib"] = [  # not known apart from the defect's: not drawn
        float("nan") if "peak_note" in e else e["peak_single_rss_mib"] for e in entries
    ]
    ax_mem.plot(xs, col["peak_tree_rss_mib"], "o-", label="build: peak sum of RSS, all processes")
    ax_mem.plot(xs, col["peak_single_rss_mib"], "s--", label="build: largest single process")
    ax_mem.plot(xs, col["query_peak_rss_mib"], "^:", label="query process (one searcher)")
    annotate(ax_mem, xs, col["peak_tree_rss_mib"], "{:,.0f}")
    for x, e in zip(xs, entries, strict=True):
        if "peak_note" in e:
            ax_mem.annotate(
                f"then {e['peak_tree_rss_mib']:,.0f} in a count\ncheck, fixed since (see json)",
                (x, e["peak_tree_rss_mib_building"]), textcoords="offset points", xytext=(-95, -40),
                fontsize=7, color="darkred",
            )
    limit_line(ax_mem, ONE_GB_MIB, "1 GB machine")
    ax_mem.set_ylim(0, max(ONE_GB_MIB * 1.15, *col["peak_tree_rss_mib"], *col["query_peak_rss_mib"]) * 1.1)
    ax_mem.set_ylabel("MiB")
    ax_mem.set_title("Peak memory")
    ax_mem.legend(fontsize=8, loc="upper left")

    ax_query.plot(xs, col["p50_ms"], "o-", label="p50")
    ax_query.plot(xs, col["p95_ms"], "s--", label="p95")
    annotate(ax_query, xs, col["p50_ms"], "{:.0f} ms", below=True)
    annotate(ax_query, xs, col["p95_ms"], "{:.0f} ms")
    limit_line(ax_query, LATENCY_LINE_MS, f"{LATENCY_LINE_MS} ms")
    ax_query.set_ylim(0, max(LATENCY_LINE_MS * 1.3, *col["p95_ms"]) * 1.15)
    ax_query.set_ylabel("ms per query")
    ax_query.set_title(f"Query latency: {QUERIES} short queries, top 10 with snippets")
    ax_query.legend(fontsize=8, loc="upper left")

    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    for ax in (ax_build, ax_size):  # log y (50× range), labelled 20, 50, 100, not 2×10¹
        ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2, 5)))
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=8)
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.margins(x=0.12)  # room for the values written beside the last points
        ax.set_xticks(xs, [human(x) for x in xs])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # only the measured sizes
        ax.set_xlabel("documents")
        ax.grid(True, which="major", alpha=0.3)
    commits = sorted({e["commit"] + ("+dirty" if e.get("dirty") else "") for e in entries})
    last = entries[-1]
    fig.suptitle(
        f"searchsvc growth: {last['cpus']} CPUs, {last['ram_mib'] / 1024:.0f} GiB RAM, "
        f"procs={last['procs']}, limitmb={last['limitmb']}, commit {', '.join(commits)}"
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
        "--plot-only", action="store_true", help="redraw the PNG from every size in the results file"
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
        help="skip sizes already in the results file for the same git commit",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the indexes in bench/work/growth/"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON, not a table"
    )
    parser.add_argument("--rounds", type=int, default=2, help="timed query rounds (default: 2)")
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
    if args.plot_only:
        entries = [results["runs"][k] for k in sorted(results["runs"], key=int)]
        plot(entries, png_path)
        log(f"plot → {png_path}")
        return 0
    load = os.getloadavg()[0]  # before our own work, which raises it
    if load > 0.5:
        log(f"WARNING: load average {load:.1f} at start: other work will skew the figures")
    queries = None
    for size in args.sizes:
        previous = results["runs"].get(str(size))
        if args.resume and previous and previous.get("commit") == commit:
            log(
                f"{size:,} documents: already measured at {commit} ({previous['measured_at']}), skipped"
            )
            continue
        log(f"{size:,} documents:")
        queries = queries or ensure_queries()
        entry = measure_size(size, args, queries)
        entry |= {
            "commit": commit,
            "dirty": dirty,
            "procs": args.procs,
            "limitmb": LIMITMB,
            "rounds": args.rounds,
            "queries": QUERIES,
            "load_at_start": load,
            "measured_at": dt.datetime.now().isoformat(timespec="seconds"),
            **machine(),
        }
        results["runs"][str(size)] = entry
        save_json(json_path, results)  # after each size: a long run can be resumed

    entries = [results["runs"][str(s)] for s in args.sizes]
    plot(entries, png_path)
    log(f"plot → {png_path}")
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        print(
            f"\nGrowth: full build with reindex(procs={args.procs}), then {QUERIES} short "
            f"queries (top 10 with snippets), {os.cpu_count()} CPUs\n"
        )
        print(fmt_table(entries))
    problems = [p for e in entries for p in e["problems"]]
    for p in problems:
        log(f"WARNING: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
