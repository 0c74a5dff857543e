"""What the blends of the best candidates cost a search: off and on, in turn.

The blends: the closeness of meaning (the article's vector,
``searchsvc.search.closeness.WEIGHT``, and its title's, ``TITLE_WEIGHT``)
and the words rare among the candidates (``searchsvc.search.contrast``).
Each round runs two new processes on the same index, one with the blends
chosen (``--blend``: all of them by default) at 0 and one at their
defaults, each asking every query ONCE (fresh: the process has not
seen it; ``search()`` with snippets, as the page asks; no result cache),
after one warm-up query of its own. Query sets: the first ``--queries`` leads
of ``news_leads_retrieval`` (long, pasted) and three-word queries of
``news_keywords_retrieval``. Prints each run's p50 / p95, then the median
over the rounds and the ratio on/off: the machines are shared, so compare
within one run only.

Run from the repo root (the index: any searchsvc index of the OrangeSum
articles built by this version, e.g. the one ``bench.tune_relevance`` builds)::

    .venv/bin/python -m bench.bench_closeness --index bench/work/tune-orangesum_news-tw2.5
    .venv/bin/python -m bench.bench_closeness --index DIR --breakdown   # the blends' own time
    .venv/bin/python -m bench.bench_closeness --index-cost 5000   # the index-time cost

With ``--breakdown``, one process asks each query once with every blend on
and times the blends' own calls (``ranking._contrast``, ``closeness.gains``)
inside each search: their cost per query, apart from the machine's noise
between processes.

With ``--index-cost N``, the first N OrangeSum articles are indexed with one
writer process without vectors (the schema of 0.6), with the articles'
vectors only (0.7) and with the titles' too, in turn, each in a new
process, and the CPU seconds and index sizes are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import DATA, ROOT, log, percentile

SETS = {"leads": "news_leads_retrieval", "keywords": "news_keywords_retrieval"}
#: What ``--blend`` turns off: (module, weight) pairs.
BLENDS = {
    "meaning": [("closeness", "WEIGHT")],
    "title": [("closeness", "TITLE_WEIGHT")],
    "contrast": [("contrast", "WEIGHT")],
}
BLENDS["all"] = [pair for pairs in BLENDS.values() for pair in pairs]
#: The schemas ``--index-cost`` compares: build_schema's options.
SCHEMAS = {"off": {"meaning": False}, "article": {"title_meaning": False}, "on": {}}


def run_once(index: Path, off: str | None, queries: int) -> dict[str, tuple[float, float]]:
    """In this process: each set's p50 and p95 in ms, the blends ``off`` (a
    key of :data:`BLENDS`) at 0, or all at their defaults (``None``)."""
    import importlib

    from searchsvc.errors import QueryError
    from searchsvc.ops.evaluation import load_queries
    from searchsvc.search.live import LiveIndex
    from searchsvc.search.searching import SearchRequest, search
    from searchsvc.search.weighting import WEIGHTING
    from searchsvc.text.meaning import word_vectors

    for module, name in BLENDS[off] if off else []:
        setattr(importlib.import_module(f"searchsvc.search.{module}"), name, 0.0)
    word_vectors()  # opened as a worker opens it before its first search
    searcher = LiveIndex(index, WEIGHTING).searcher()
    search(searcher, SearchRequest(q="conseil municipal budget"))
    out = {}
    for name, folder in SETS.items():
        texts = list(load_queries(DATA / folder / "queries.jsonl").values())[:queries]
        times = []
        for text in texts:
            started = time.perf_counter()
            with contextlib.suppress(QueryError):  # an empty query: timed all the same
                search(searcher, SearchRequest(q=text))
            times.append((time.perf_counter() - started) * 1000)
        out[name] = (percentile(times, 50), percentile(times, 95))
    return out


def breakdown(index: Path, queries: int) -> None:
    """In this process: each set's mean search time and the share of it spent
    in the blends' own calls, each query asked once, every blend on."""
    from searchsvc.errors import QueryError
    from searchsvc.ops.evaluation import load_queries
    from searchsvc.search import closeness, ranking
    from searchsvc.search.live import LiveIndex
    from searchsvc.search.searching import SearchRequest, search
    from searchsvc.search.weighting import WEIGHTING
    from searchsvc.text.meaning import word_vectors

    spent = {"contrast": 0.0, "closeness": 0.0}

    def timed(name, function):
        def call(*args):
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                spent[name] += time.perf_counter() - started

        return call

    ranking._contrast = timed("contrast", ranking._contrast)
    closeness.gains = timed("closeness", closeness.gains)
    word_vectors()
    searcher = LiveIndex(index, WEIGHTING).searcher()
    search(searcher, SearchRequest(q="conseil municipal budget"))
    print(f"\n{queries} fresh queries of each set, every blend on, in one process:\n")
    print("| queries | mean search | p50 search | words rare among the candidates | closeness (article and title) |")
    print("|---|---:|---:|---:|---:|")
    for name, folder in SETS.items():
        texts = list(load_queries(DATA / folder / "queries.jsonl").values())[:queries]
        spent.update(contrast=0.0, closeness=0.0)
        times = []
        for text in texts:
            started = time.perf_counter()
            with contextlib.suppress(QueryError):
                search(searcher, SearchRequest(q=text))
            times.append((time.perf_counter() - started) * 1000)
        mean = statistics.fmean(times)
        contrast_ms, closeness_ms = (spent[k] * 1000 / len(texts) for k in ("contrast", "closeness"))
        print(
            f"| {name} | {mean:.2f} ms | {percentile(times, 50):.2f} ms "
            f"| {contrast_ms:.2f} ms ({contrast_ms / mean:.0%}) | {closeness_ms:.2f} ms ({closeness_ms / mean:.0%}) |"
        )


def index_once(docs: Path, vectors: str, out: Path) -> float:
    """In this process: seconds of CPU to index ``docs`` with one writer process,
    with the vectors of :data:`SCHEMAS` ``[vectors]``."""
    import shutil

    from searchsvc.index import reindex as reindex_module
    from searchsvc.text.meaning import word_vectors
    from searchsvc.text.schema import build_schema

    word_vectors()
    options = SCHEMAS[vectors]
    reindex_module.build_schema = lambda protected=(): build_schema(protected, **options)
    shutil.rmtree(out, ignore_errors=True)
    started = time.process_time()
    reindex_module.reindex([docs], out, procs=1)
    return time.process_time() - started


def index_cost(articles: int, rounds: int) -> None:
    """The index-time cost: the first ``articles`` OrangeSum articles indexed
    without vectors, with the articles' and with the titles' too, in turn,
    each in a new process."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="bench-closeness-"))
    docs = folder / "docs.jsonl"
    with open(DATA / "orangesum_news" / "docs.jsonl", encoding="utf-8") as source:
        docs.write_text("".join(line for _, line in zip(range(articles), source, strict=False)), encoding="utf-8")
    cpu: dict[str, list[float]] = {mode: [] for mode in SCHEMAS}
    for round_ in range(rounds):
        for mode in SCHEMAS:
            command = [sys.executable, "-m", "bench.bench_closeness", "--child-index", mode, "--docs", str(docs)]
            command += ["--out", str(folder / f"index-{mode}")]
            found = float(subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout)
            cpu[mode].append(found)
            log(f"round {round_ + 1}, vectors {mode}: {found:.2f} s of CPU")
    size = {m: sum(f.stat().st_size for f in (folder / f"index-{m}").rglob("*") if f.is_file()) for m in cpu}
    off, article, on = (statistics.median(cpu[mode]) for mode in SCHEMAS)
    print(f"\n{articles} articles, one writer process, {rounds} rounds, medians:\n")
    print("| | without vectors | articles' | and titles' | articles' / without | and titles' / without |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| CPU, s | {off:.2f} | {article:.2f} | {on:.2f} | {article / off:.2f} | {on / off:.2f} |")
    mb = {mode: size[mode] / 1e6 for mode in SCHEMAS}
    print(
        f"| index, MB | {mb['off']:.1f} | {mb['article']:.1f} | {mb['on']:.1f} "
        f"| {mb['article'] / mb['off']:.3f} | {mb['on'] / mb['off']:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--queries", type=int, default=800, help="queries of each set")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--index-cost", type=int, metavar="N", help="instead: index N articles without and with vectors, in turn"
    )
    parser.add_argument("--breakdown", action="store_true", help="instead: time the blends' own calls in one process")
    parser.add_argument("--blend", choices=list(BLENDS), default="all", help="the blends turned off (default: all)")
    parser.add_argument("--child", choices=["off", "on"], help=argparse.SUPPRESS)
    parser.add_argument("--child-index", choices=list(SCHEMAS), help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_index:
        print(index_once(args.docs, args.child_index, args.out))
        return
    if args.index_cost:
        index_cost(args.index_cost, args.rounds)
        return
    if args.index is None:
        parser.error("--index is required (or --index-cost N)")
    if args.breakdown:
        breakdown(args.index, args.queries)
        return
    if args.child:
        print(json.dumps(run_once(args.index, args.blend if args.child == "off" else None, args.queries)))
        return
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    for round_ in range(args.rounds):
        for mode in ("off", "on"):
            command = [sys.executable, "-m", "bench.bench_closeness", "--index", str(args.index)]
            command += ["--queries", str(args.queries), "--blend", args.blend, "--child", mode]
            found = json.loads(subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout)
            runs[mode].append(found)
            log(f"round {round_ + 1}, {args.blend} {mode}: " + ", ".join(
                f"{name} p50 {p50:.2f} / p95 {p95:.2f} ms" for name, (p50, p95) in found.items()
            ))  # fmt: skip
    print(f"\n{args.queries} fresh queries of each set, {args.rounds} rounds, medians over the rounds;")
    print(f"off: {', '.join(f'{m}.{n}' for m, n in BLENDS[args.blend])} at 0\n")
    print("| queries | p50 off | p50 on | on / off | p95 off | p95 on |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in SETS:
        p50 = {m: statistics.median(r[name][0] for r in runs[m]) for m in runs}
        p95 = {m: statistics.median(r[name][1] for r in runs[m]) for m in runs}
        print(
            f"| {name} | {p50['off']:.2f} | {p50['on']:.2f} | {p50['on'] / p50['off']:.2f} "
            f"| {p95['off']:.2f} | {p95['on']:.2f} |"
        )


if __name__ == "__main__":
    main()
